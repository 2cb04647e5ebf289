"""ChatML prompt building for both models (docs/protocol.md). Special tokens are fixed by the models' training."""

from __future__ import annotations

import re
from collections.abc import Sequence

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
TOOL_RESPONSE_OPEN = "<tool_response>"
TOOL_RESPONSE_CLOSE = "</tool_response>"

# The protocol's special tokens (<|...|>, Qwen's im_start/im_end/endoftext and the rest) and its tags. In untrusted
# text their `<` becomes `‹`: the text reads the same, but it can no longer open a turn or a tag.
_SPECIAL = re.compile(r"<(\|[^|<>\s]{1,40}\|>|/?\s*(?:think|tool_call|tool_response)\s*>)", re.IGNORECASE)


def neutralise(text: str) -> str:
    """Untrusted text (a question, a search result, a page) made safe to put into a prompt. Pure."""
    return _SPECIAL.sub(lambda match: "\u2039" + match.group(1), text)


def first_prompt(system: str, question: str) -> str:
    """System and user turns, with the assistant turn pre-opened by <think>; the question is neutralised."""
    user = neutralise(question)
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n{THINK_OPEN}"


def close_assistant_turn(generated: str) -> str:
    """What is appended after a generation: the text and the end-of-turn token."""
    return f"{generated}{IM_END}"


def observation(*, result: str = "", error: str = "", error_is_ours: bool = False) -> str:
    """A tool's reply as the ReCall executor client formats it: a `result: ` and an `error: ` section, each only when
    non-empty, the whole stripped (docs/protocol.md)."""
    text = ""
    if result:
        text += f"result: \n{neutralise(result)}\n"
    if error:
        # Our own messages may show the call form, tags included; a tool server's pass on text it did not write.
        text += f"error: \n{error if error_is_ours else neutralise(error)}\n"
    return text.strip()


def tool_responses_turn(blocks: Sequence[tuple[str, str]]) -> str:
    """ONE user turn holding a <tool_response> block per call, in call order, then the next assistant turn opened
    with <think>. Each block is (call body as written, observation); the body is echoed stripped."""
    body = "".join(f"{TOOL_RESPONSE_OPEN}{raw.strip()}\n{text}\n{TOOL_RESPONSE_CLOSE}\n" for raw, text in blocks)
    return f"\n{IM_START}user\n{body}{IM_END}\n{IM_START}assistant\n{THINK_OPEN}"


def synthesis_prompt(system: str, user: str) -> str:
    """The synthesizer's input: system and user turns, each with a newline before <|im_end|> as in the reference's
    wrap, and an open assistant turn (docs/protocol.md)."""
    return f"{IM_START}system\n{system}\n{IM_END}\n{IM_START}user\n{user}\n{IM_END}\n{IM_START}assistant\n"
