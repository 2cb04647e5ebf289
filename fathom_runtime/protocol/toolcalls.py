"""The parsing of the search model's <tool_call> blocks (docs/protocol.md); arguments are checked by tools.py.

A call is `{"name": ..., "arguments": {...}}` inside <tool_call>…</tool_call>. A round whose tags are unbalanced or
out of order is rejected as a whole (as the reference does); the agent loop turns that into an error the model
reads, instead of ending the run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fathom_runtime.protocol import tools

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"


@dataclass(frozen=True)
class ToolCall:
    raw: str  # the text between the tags, as the model wrote it (echoed in the response block)
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolCallError:
    raw: str
    message: str
    whole_round: bool = False  # the round's tags did not parse; `raw` is the text around the problem, not a call


@dataclass(frozen=True)
class Round:
    calls: list[ToolCall | ToolCallError] = field(default_factory=list)

    @property
    def has_calls(self) -> bool:
        return bool(self.calls)


def _tags_balanced(text: str) -> bool:
    depth = 0
    index = 0
    while True:
        opening = text.find(TOOL_CALL_OPEN, index)
        closing = text.find(TOOL_CALL_CLOSE, index)
        if opening == -1 and closing == -1:
            return depth == 0
        if opening != -1 and (closing == -1 or opening < closing):
            if depth:
                return False
            depth, index = 1, opening + len(TOOL_CALL_OPEN)
        else:
            if not depth:
                return False
            depth, index = 0, closing + len(TOOL_CALL_CLOSE)


def _validate(raw: str) -> ToolCall | ToolCallError:
    try:
        payload = json.loads(raw.strip())
    except json.JSONDecodeError as exc:
        return ToolCallError(raw, f"the tool call is not valid JSON ({exc.msg} at position {exc.pos})")
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return ToolCallError(raw, 'a tool call must be {"name": <function-name>, "arguments": {...}}')
    name, arguments = payload["name"], payload.get("arguments", {})
    if isinstance(arguments, str):  # some models double-encode the arguments
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return ToolCallError(raw, "arguments must be a JSON object")
    allowed = {tool.name: tool for tool in tools.AGENT_TOOLS}
    if name not in allowed:
        return ToolCallError(raw, f"unknown function {name!r}; available: {', '.join(allowed)}")
    try:
        validated = tools.validate_arguments(allowed[name], arguments)
    except tools.ArgumentError as exc:
        return ToolCallError(raw, str(exc))
    return ToolCall(raw, name, validated.model_dump(exclude_unset=True))


def parse_tool_calls(text: str) -> Round:
    """Every <tool_call> of one generation, valid or not, in order."""
    if TOOL_CALL_OPEN not in text and TOOL_CALL_CLOSE not in text:
        return Round()
    if not _tags_balanced(text):
        tail = text[text.rfind(TOOL_CALL_OPEN) :][:300] if TOOL_CALL_OPEN in text else text[-300:]
        message = (
            "unbalanced or out-of-order <tool_call> tags; "
            'write each call as <tool_call>{"name": ..., "arguments": {...}}</tool_call>'
        )
        return Round([ToolCallError(tail, message, whole_round=True)])
    calls: list[ToolCall | ToolCallError] = []
    index = 0
    while (start := text.find(TOOL_CALL_OPEN, index)) != -1:
        end = text.find(TOOL_CALL_CLOSE, start)
        calls.append(_validate(text[start + len(TOOL_CALL_OPEN) : end]))
        index = end + len(TOOL_CALL_CLOSE)
    return Round(calls)
