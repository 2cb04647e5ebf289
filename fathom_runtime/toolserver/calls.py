"""Parses the reference executor's call strings (e.g. `search_urls("x", top_k=5)`) into a declared tool and its
validated arguments with Python's `ast`. Nothing is ever evaluated: only one call to a known tool, with literal
arguments, is accepted. Pure."""

from __future__ import annotations

import ast
from typing import Any

from fathom_runtime.protocol.tools import TOOLS, ArgumentError, Tool, ToolArguments, validate_arguments

MAX_CALL_CHARS = 20_000


class CallRejected(ValueError):
    """The call string is not a single literal call to a known tool."""


def _bind(tool: Tool, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Positional arguments take the declared argument names in order, as a Python signature would."""
    names = list(tool.arguments.model_fields)
    if len(args) > len(names):
        raise CallRejected(f"{tool.name} takes at most {len(names)} positional argument(s)")
    bound = dict(zip(names, args, strict=False))
    for name in kwargs:
        if name in bound:
            raise CallRejected(f"{tool.name}: argument {name!r} given twice")
    return bound | kwargs


def parse_call(text: str) -> tuple[Tool, ToolArguments]:
    if len(text) > MAX_CALL_CHARS:
        raise CallRejected(f"call is longer than {MAX_CALL_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CallRejected(f"not a single expression: {type(exc).__name__}") from exc
    call = tree.body
    if not isinstance(call, ast.Call):
        raise CallRejected('expected one call such as search_urls("query")')
    if not isinstance(call.func, ast.Name) or call.func.id not in TOOLS:
        name = call.func.id if isinstance(call.func, ast.Name) else ast.unparse(call.func)[:80]
        raise CallRejected(f"unknown function {name!r}; allowed: {', '.join(TOOLS)}")
    if any(kw.arg is None for kw in call.keywords):
        raise CallRejected("**kwargs is not allowed")
    try:
        args = [ast.literal_eval(arg) for arg in call.args]
        kwargs = {str(kw.arg): ast.literal_eval(kw.value) for kw in call.keywords}
    except (ValueError, TypeError, SyntaxError, RecursionError) as exc:
        raise CallRejected("arguments must be literals (strings and numbers)") from exc
    tool = TOOLS[call.func.id]
    try:
        return tool, validate_arguments(tool, _bind(tool, args, kwargs))
    except ArgumentError as exc:
        raise CallRejected(str(exc)) from exc
