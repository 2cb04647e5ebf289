"""Tool schemas shown to the search model and the parsing of its <tool_call> blocks (protocol §2).

A call is `{"name": ..., "arguments": {...}}` inside <tool_call>…</tool_call>. A round whose tags are unbalanced or
out of order is rejected as a whole (as the reference does); the agent loop turns that into an error the model
reads, instead of ending the run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

TOOL_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_urls",
            "description": "Search the web. Returns links with a short snippet each.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The search query."},
                    "top_k": {"type": "integer", "description": "How many results to return.", "default": 10},
                },
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "query_url",
            "description": "Visit a web page and return the evidence it holds for a goal.",
            "parameters": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "description": "The page to visit."},
                    "goal": {"type": "string", "description": "What to look for on the page."},
                },
                "required": ["url", "goal"],
            },
        },
    },
]
REQUIRED: dict[str, dict[str, type]] = {"search_urls": {"query": str}, "query_url": {"url": str, "goal": str}}
OPTIONAL: dict[str, dict[str, type]] = {"search_urls": {"top_k": int}, "query_url": {}}


@dataclass(frozen=True)
class ToolCall:
    raw: str  # the text between the tags, as the model wrote it (echoed in the response block)
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolCallError:
    raw: str
    message: str


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
    if name not in REQUIRED:
        return ToolCallError(raw, f"unknown function {name!r}; available: {', '.join(REQUIRED)}")
    if not isinstance(arguments, dict):
        return ToolCallError(raw, "arguments must be a JSON object")
    for key, kind in REQUIRED[name].items():
        if not isinstance(arguments.get(key), kind) or not arguments[key]:
            return ToolCallError(raw, f"{name} needs a non-empty {kind.__name__} argument {key!r}")
    allowed = REQUIRED[name] | OPTIONAL[name]
    unknown = set(arguments) - set(allowed)
    if unknown:
        return ToolCallError(raw, f"{name} has no argument(s) {', '.join(sorted(unknown))}")
    for key, kind in OPTIONAL[name].items():
        if key in arguments and (not isinstance(arguments[key], kind) or isinstance(arguments[key], bool)):
            return ToolCallError(raw, f"{name} argument {key!r} must be {kind.__name__}")
    return ToolCall(raw, name, dict(arguments))


def parse_tool_calls(text: str) -> Round:
    """Every <tool_call> of one generation, valid or not, in order."""
    if TOOL_CALL_OPEN not in text and TOOL_CALL_CLOSE not in text:
        return Round()
    if not _tags_balanced(text):
        tail = text[text.rfind(TOOL_CALL_OPEN) :][:300] if TOOL_CALL_OPEN in text else text[-300:]
        return Round([ToolCallError(tail, "unbalanced or out-of-order <tool_call> tags; write each call as "
                                          '<tool_call>{"name": ..., "arguments": {...}}</tool_call>')])  # fmt: skip
    calls: list[ToolCall | ToolCallError] = []
    index = 0
    while (start := text.find(TOOL_CALL_OPEN, index)) != -1:
        end = text.find(TOOL_CALL_CLOSE, start)
        calls.append(_validate(text[start + len(TOOL_CALL_OPEN) : end]))
        index = end + len(TOOL_CALL_CLOSE)
    return Round(calls)
