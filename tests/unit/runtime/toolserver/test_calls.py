"""The /execute call parser accepts one literal call to a known tool and nothing else."""

from __future__ import annotations

import pytest

from fathom_runtime.toolserver.calls import CallRejected, parse_call


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("search_urls('q')", ("search_urls", {"query": "q", "top_k": 10})),
        ('search_urls(query="q", top_k=3)', ("search_urls", {"query": "q", "top_k": 3})),
        ("query_url('https://x.org', 'find y')", ("query_url", {"url": "https://x.org", "goal": "find y"})),
        ("  web_visit(url='https://x.org')\n", ("web_visit", {"url": "https://x.org"})),
        ("web_search('a' 'b')", ("web_search", {"query": "ab"})),
    ],
)
def test_literal_calls_are_mapped(call: str, expected: tuple) -> None:
    tool, arguments = parse_call(call)
    assert (tool.name, arguments.model_dump()) == expected


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("__import__('os').system('id')", "unknown function"),
        ("os.system('id')", "unknown function"),
        ("search_urls(__import__('os').getcwd())", "literals"),
        ("search_urls('a').upper()", "unknown function"),
        ("[search_urls('a') for _ in range(3)]", "expected one call"),
        ("search_urls('a'); search_urls('b')", "single expression"),
        ("search_urls('a')\nimport os", "single expression"),
        ("search_urls(*['a'])", "literals"),
        ("search_urls(**{'query': 'a'})", "kwargs"),
        ("search_urls()", "needs a non-empty string argument 'query'"),
        ("search_urls('a', 'b', 'c')", "at most 2 positional"),
        ("search_urls('a', top_k='5')", "must be an integer"),
        ("search_urls('a', top_k=True)", "must be an integer"),
        ("search_urls('a', 18446744073709551616)", "less than or equal to 50"),
        ("search_urls('a', query='b')", "given twice"),
        ("search_urls('a', q='a')", "has no argument 'q'"),
        ("search_urls(" * 200 + ")" * 200, "literals"),
        ("x" * 30_000, "longer than"),
    ],
)
def test_everything_else_is_refused(call: str, reason: str) -> None:
    with pytest.raises(CallRejected, match=reason):
        parse_call(call)
