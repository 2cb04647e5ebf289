"""Pure pieces of the tool server: result formats, extraction parsing, passage ranking, routing, cache keys,
bounded decompression and request coalescing."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest

from fathom_runtime.toolserver.cache.base import Coalescer, cache_key, normalise_url
from fathom_runtime.toolserver.extract.llm import parse_sections
from fathom_runtime.toolserver.extract.passages import rank_passages
from fathom_runtime.toolserver.fetch.chain import fetcher_order
from fathom_runtime.toolserver.fetch.http import read_capped
from fathom_runtime.toolserver.format import format_extraction, format_hits
from fathom_runtime.toolserver.search.base import Hit
from fathom_runtime.toolserver.search.local import fts_query


def test_hits_are_formatted_exactly_like_the_reference() -> None:
    hits = [Hit("A", "https://a.org", "sa"), Hit("B", "https://b.org", "sb")]
    first = "### 1. A\n**URL**: https://a.org\n\n**Snippet**: sa\n"
    second = "### 2. B\n**URL**: https://b.org\n\n**Snippet**: sb\n"
    assert format_hits("q", hits) == first + "\n---\n\n" + second
    assert "No results found for 'q'" in format_hits("q", [])


def test_extraction_output_starts_with_the_reference_sentence() -> None:
    text = format_extraction("https://x.org", "find y", " r ", '- "e"', "s")
    head = "The useful information in https://x.org for goal “find y”:\n\n"
    assert text == head + 'Rationale:\nr\n\nEvidence:\n- "e"\n\nSummary:\ns\n'


def test_sections_parse_from_thinking_models_and_markdown_labels() -> None:
    parsed = parse_sections("<think>Rational: draft</think>\n**Rational:** real\n**Evidence:**\n- x\n**Summary:** y")
    assert parsed is not None and (parsed.rationale, parsed.evidence, parsed.summary) == ("real", "- x", "y")
    assert parse_sections("Evidence: only this") is None


def test_passages_follow_the_goal_and_keep_page_order() -> None:
    text = "\n\n".join([
        "Cats are small carnivorous mammals that people keep as pets.",
        "The Eiffel Tower in Paris was completed in 1889 for the World's Fair.",
        "Paris is the capital of France and its largest city by population.",
    ])  # fmt: skip
    chosen = rank_passages(text, "When was the Eiffel Tower in Paris completed?", budget_chars=200)
    assert chosen[0].startswith("The Eiffel Tower")
    assert not any(p.startswith("Cats") for p in chosen)


def test_fts_queries_cannot_inject_syntax() -> None:
    assert fts_query('a" OR 1 NEAR(x) * -b') == '"a" OR "or" OR "1" OR "near" OR "x" OR "b"'
    assert fts_query("!!!") == ""


@pytest.mark.parametrize(
    ("url", "order"),
    [
        ("https://github.com/o/r", ("jina", "github", "browser")),
        ("https://en.wikipedia.org/wiki/X", ("plain", "jina", "browser")),
        ("https://old.reddit.com/r/x/comments/1/y", ("jina", "reddit", "plain")),
        ("https://www.quora.com/q", ("browser", "jina", "plain")),
        ("https://youtu.be/abcdefghijk", ("jina", "youtube")),
        ("https://arxiv.org/pdf/2509.24107.pdf", ("jina", "pdf", "plain", "browser")),
        ("https://example.org/", ("jina", "browser", "plain")),
        ("https://notgithub.com/", ("jina", "browser", "plain")),
    ],
)
def test_fetcher_order_per_domain(url: str, order: tuple[str, ...]) -> None:
    assert fetcher_order(url) == order


def test_url_normalisation_and_keys() -> None:
    assert normalise_url("HTTPS://Example.org:443#frag") == "https://example.org/"
    assert normalise_url("http://example.org:8080/a?b=1") == "http://example.org:8080/a?b=1"
    assert cache_key("page", "a") != cache_key("search", "a")
    assert cache_key("page", "a", "b") == cache_key("page", "a", "b")


async def test_decompression_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))

    response = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(bomb))
    body, truncated = await read_capped(response, 1_000_000)
    assert truncated and len(body) == 1_000_000


async def test_coalescer_runs_one_factory_per_key() -> None:
    calls = 0

    async def factory() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 42

    coalescer = Coalescer()
    results = await asyncio.gather(*(coalescer.run("k", factory) for _ in range(10)))
    assert results == [42] * 10 and calls == 1 and coalescer.inflight == 0


async def test_coalescer_shares_errors() -> None:
    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    coalescer = Coalescer()
    outcomes = await asyncio.gather(*(coalescer.run("k", failing) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(o, ValueError) for o in outcomes)
