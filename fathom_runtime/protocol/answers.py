"""The final answer: the content of the last \\boxed{…} (brace-matched), with the \\boxed X and \\fbox{} variants
(docs/protocol.md)."""

from __future__ import annotations

import re

_MARKERS = ("\\boxed", "\\fbox")
_SPACE_FORM = re.compile(r"\\boxed\s+([^\s$]+)")


def _braced(text: str, open_index: int) -> str | None:
    depth = 0
    for index in range(open_index, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_index + 1 : index]
    return None


def extract_boxed(text: str) -> str | None:
    """The last boxed answer in `text`, or None."""
    best: tuple[int, str] | None = None
    for marker in _MARKERS:
        start = text.rfind(marker + "{")
        while start != -1:
            content = _braced(text, start + len(marker))
            if content is not None:
                if best is None or start > best[0]:
                    best = (start, content)
                break
            start = text.rfind(marker + "{", 0, start)
    for match in _SPACE_FORM.finditer(text):
        if best is None or match.start() > best[0]:
            best = (match.start(), match.group(1))
    return best[1].strip() if best else None


def fallback_answer(text: str, chars: int = 200) -> str:
    """What the reference harness uses when there is no boxed answer: the last characters of the output."""
    return text[-chars:].strip()
