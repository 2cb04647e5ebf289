"""ChatML prompt building for the search agent (protocol §2). Special tokens are fixed by the models' training."""

from __future__ import annotations

from collections.abc import Sequence

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
TOOL_RESPONSE_OPEN = "<tool_response>"
TOOL_RESPONSE_CLOSE = "</tool_response>"


def first_prompt(system: str, question: str) -> str:
    """System and user turns, with the assistant turn pre-opened by <think>."""
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n{question}{IM_END}\n{IM_START}assistant\n{THINK_OPEN}"


def close_assistant_turn(generated: str) -> str:
    """What is appended after a generation: the text and the end-of-turn token."""
    return f"{generated}{IM_END}"


def tool_responses_turn(blocks: Sequence[tuple[str, str]]) -> str:
    """ONE user turn holding a <tool_response> block per call, in call order, then the next assistant turn opened
    with <think>. Each block is (raw call text, result)."""
    body = "".join(f"{TOOL_RESPONSE_OPEN}{raw}\n{result}\n{TOOL_RESPONSE_CLOSE}\n" for raw, result in blocks)
    return f"\n{IM_START}user\n{body}{IM_END}\n{IM_START}assistant\n{THINK_OPEN}"


def system_and_user(system: str, user: str) -> str:
    """A plain system + user prompt with an open assistant turn (the synthesizer's input, protocol §4)."""
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n"
