"""The synthesizer's user message (docs/protocol.md): the agent's trace rewritten for reading, the tool calls as
recorded, in the reference's order and labels. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fathom_runtime.protocol.chatml import neutralise

# Applied in this order, all case-insensitive, as the reference's rewrite does.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), replacement)
    for pattern, replacement in (
        (r"<\|im_start\|>system.*?<\|im_end\|>", ""),  # the system prompt is not evidence
        (r"<\|im_start\|>(\w+)", "\n{ROLE}:\n"),
        (r"<\|im_end\|>", "\n"),
        (r"<think\s*>", ""),
        (r"</think\s*>", "\n"),
        (r"<tool_respon[sc]e\s*>", "SEARCH RESULT\n"),
        (r"</tool_respon[sc]e\s*>", "\n"),
        (r"</?tool_call\s*>", ""),
        (r"<\|[^>]+?\|>", ""),  # any other special token
        (r"</?[^>\n]+?>", ""),  # any other tag
    )
)
PREAMBLE = "You are given a DeepSearch investigation trace."
END_MARKER = "— End of trace —"


def _replace(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    if "{ROLE}" in replacement:
        return pattern.sub(lambda m: replacement.format(ROLE=m.group(1).upper()), text)
    return pattern.sub(replacement, text)


def readable_trace(trace: str) -> str:
    """The ChatML transcript as plain text: `USER:`/`ASSISTANT:` labels, `SEARCH RESULT` markers, no tags."""
    text = trace
    for pattern, replacement in _REWRITES:
        text = _replace(pattern, replacement, text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def build_synthesis_user_message(question: str, readable: str, raw_calls: Sequence[str]) -> str:
    """The user turn of the synthesizer: question, readable trace, and the raw call bodies as a Python list repr
    (what the reference's formatting produces)."""
    return (
        f"{PREAMBLE}\n\nQuestion:\n{neutralise(question)}\n\nTrace (model transcript):\n{readable}\n\n"
        f"Tool Calls (as-recorded):\n{list(raw_calls)!r}\n\n{END_MARKER}"
    )
