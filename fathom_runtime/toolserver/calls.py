"""Parses the reference executor's call strings (e.g. `search_urls("x", top_k=5)`) into a tool name and literal
arguments with Python's `ast`. Nothing is ever evaluated: only one call to a known tool, with literal arguments,
is accepted. Pure."""

from __future__ import annotations

import ast
import inspect
from typing import Any

MAX_CALL_CHARS = 20_000


def _search_urls(query: str, top_k: int = 10) -> None: ...
def _query_url(url: str, goal: str) -> None: ...
def _web_search(query: str) -> None: ...
def _web_visit(url: str) -> None: ...


SIGNATURES = {
    "search_urls": inspect.signature(_search_urls),
    "query_url": inspect.signature(_query_url),
    "web_search": inspect.signature(_web_search),
    "web_visit": inspect.signature(_web_visit),
}
TYPES = {"query": str, "url": str, "goal": str, "top_k": int}


class CallRejected(ValueError):
    """The call string is not a single literal call to a known tool."""


def parse_call(text: str) -> tuple[str, dict[str, Any]]:
    if len(text) > MAX_CALL_CHARS:
        raise CallRejected(f"call is longer than {MAX_CALL_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CallRejected(f"not a single expression: {type(exc).__name__}") from exc
    call = tree.body
    if not isinstance(call, ast.Call):
        raise CallRejected('expected one call such as search_urls("query")')
    if not isinstance(call.func, ast.Name) or call.func.id not in SIGNATURES:
        name = call.func.id if isinstance(call.func, ast.Name) else ast.unparse(call.func)[:80]
        raise CallRejected(f"unknown function {name!r}; allowed: {', '.join(SIGNATURES)}")
    try:
        args = [ast.literal_eval(arg) for arg in call.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
    except (ValueError, TypeError, SyntaxError, RecursionError) as exc:
        raise CallRejected("arguments must be literals (strings and numbers)") from exc
    if any(kw.arg is None for kw in call.keywords):
        raise CallRejected("**kwargs is not allowed")
    try:
        bound = SIGNATURES[call.func.id].bind(*args, **kwargs)
    except TypeError as exc:
        raise CallRejected(f"{call.func.id}: {exc}") from exc
    bound.apply_defaults()
    for name, value in bound.arguments.items():
        if not isinstance(value, TYPES[name]) or isinstance(value, bool):
            raise CallRejected(f"{call.func.id}: argument {name!r} must be {TYPES[name].__name__}")
    return call.func.id, dict(bound.arguments)
