"""Serper (fake speaking its wire shape), the query LLM (fake OpenAI-compatible chat), Redis shared cache (real
redis-server), and coalescing of identical concurrent calls."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.toolserver.conftest import ToolServerFactory
from tests.support.operator import free_port
from tests.support.web import Handler, Site, html_page

ORGANIC = [
    {"title": "Fathom-DeepResearch", "link": "https://example.org/fathom", "snippet": "Two 4B models."},
    {"title": "SGLang", "link": "https://example.org/sglang", "snippet": "A fast serving framework."},
]


@pytest.fixture
def serper() -> Iterator[Site]:
    """Answers POST /search like Serper when X-API-KEY is 'good-key'; counts requests."""

    def search(h: Handler) -> None:
        if h.headers.get("X-API-KEY") != "good-key":
            h.send_json(403, {"message": "Unauthorized."})
            return
        query = json.loads(h.body())["q"]
        h.send_json(200, {"searchParameters": {"q": query}, "organic": ORGANIC})

    with Site() as site:
        site.route("POST", "/search", search)
        yield site


def test_serper_results_are_formatted_and_cached(toolserver: ToolServerFactory, serper: Site) -> None:
    tools = toolserver(search_provider="serper", serper_url=f"{serper.url}/search", serper_api_key="good-key")
    body = tools.post("/v1/tools/search_urls", json={"query": "fathom  deep   research", "top_k": 1}).json()
    assert (
        body["result"]
        == "### 1. Fathom-DeepResearch\n**URL**: https://example.org/fathom\n\n**Snippet**: Two 4B models.\n"
    )
    again = tools.post("/v1/tools/search_urls", json={"query": "fathom deep research", "top_k": 1}).json()
    assert again["cached"] is True and len(serper.requests) == 1


def test_identical_concurrent_searches_reach_serper_once(toolserver: ToolServerFactory, serper: Site) -> None:
    def slow_search(h: Handler) -> None:
        time.sleep(0.5)
        h.send_json(200, {"organic": ORGANIC})

    serper.route("POST", "/search", slow_search)
    tools = toolserver(search_provider="serper", serper_url=f"{serper.url}/search", serper_api_key="good-key")
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: tools.post("/v1/tools/search_urls", json={"query": "same"}), range(16)))
    assert {r.status_code for r in results} == {200}
    assert len(serper.requests) == 1


def test_serper_key_problems_are_explained(toolserver: ToolServerFactory, serper: Site) -> None:
    missing = toolserver(search_provider="serper", serper_url=f"{serper.url}/search")
    response = missing.post("/v1/tools/search_urls", json={"query": "x"})
    assert response.status_code == 502 and "FATHOM_SERPER_API_KEY" in response.json()["error"]["message"]
    ready = missing.get("/readyz")
    assert ready.status_code == 503 and "FATHOM_SERPER_API_KEY" in ready.json()["checks"]["search"]
    wrong = toolserver(search_provider="serper", serper_url=f"{serper.url}/search", serper_api_key="bad")
    rejected = wrong.post("/v1/tools/search_urls", json={"query": "x"})
    assert rejected.status_code == 502 and "rejected the API key (HTTP 403)" in rejected.json()["error"]["message"]


def test_serper_throttling_is_retried(toolserver: ToolServerFactory, serper: Site) -> None:
    answers = iter([429, 503, 200])

    def flaky(h: Handler) -> None:
        status = next(answers)
        h.send_json(status, {"organic": ORGANIC} if status == 200 else {"message": "slow down"})

    serper.route("POST", "/search", flaky)
    tools = toolserver(search_provider="serper", serper_url=f"{serper.url}/search", serper_api_key="good-key")
    assert tools.post("/v1/tools/search_urls", json={"query": "x"}).status_code == 200
    assert len(serper.requests) == 3


def test_searxng_backend(toolserver: ToolServerFactory, site: Site) -> None:
    results = [{"title": "T", "url": "https://example.org/t", "content": "c"}]
    site.route("GET", "/search", lambda h: h.send_json(200, {"results": results}))
    tools = toolserver(search_provider="searxng", searxng_url=site.url)
    body = tools.post("/v1/tools/search_urls", json={"query": "anything"}).json()
    assert body["hits"] == [{"title": "T", "url": "https://example.org/t", "snippet": "c"}]
    assert site.requests[0][1].startswith("/search?q=anything&format=json")


PAGE = html_page("Helium", "Helium was first detected in 1868 in the solar spectrum.", "It is a noble gas. " * 20)


def _chat_server(site: Site, replies: list[tuple[int, str]]) -> list[dict]:
    """An OpenAI-compatible /v1/chat/completions answering from `replies`; returns the requests it saw."""
    seen: list[dict] = []

    def chat(h: Handler) -> None:
        seen.append(json.loads(h.body()))
        status, content = replies[min(len(seen) - 1, len(replies) - 1)]
        if status != 200:
            h.send_json(status, {"error": {"message": "overloaded"}})
            return
        h.send_json(200, {"choices": [{"message": {"role": "assistant", "content": content}}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 5}})  # fmt: skip

    site.route("POST", "/v1/chat/completions", chat)
    return seen


def test_query_llm_extraction_has_the_three_sections(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/helium", lambda h: h.send(200, PAGE))
    answer = 'Rational: the page dates the discovery.\nEvidence:\n- "first detected in 1868"\nSummary: 1868.'
    seen = _chat_server(site, [(200, answer)])
    tools = toolserver(egress_allow=["127.0.0.1"], query_llm_url=f"{site.url}/v1", query_llm_model="Query-LLM")
    url, goal = f"{site.url}/helium", "when was helium discovered"
    body = tools.post("/v1/tools/query_url", json={"url": url, "goal": goal}).json()
    assert body["method"] == "llm"
    assert body["result"] == (
        f"The useful information in {url} for goal “{goal}”:\n\nRationale:\nthe page dates the discovery.\n\n"
        'Evidence:\n- "first detected in 1868"\n\nSummary:\n1868.\n'
    )
    assert seen[0]["model"] == "Query-LLM" and goal in seen[0]["messages"][1]["content"]
    assert "1868" in seen[0]["messages"][1]["content"]


def test_failing_query_llm_falls_back_to_passages(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/helium", lambda h: h.send(200, PAGE))
    seen = _chat_server(site, [(500, ""), (200, "no sections here"), (503, "")])
    tools = toolserver(egress_allow=["127.0.0.1"], query_llm_url=f"{site.url}/v1")
    body = tools.post("/v1/tools/query_url", json={"url": f"{site.url}/helium", "goal": "helium detected"}).json()
    assert len(seen) == 3 and body["method"] == "passages"
    assert "query LLM failed" in body["result"] and "first detected in 1868" in body["result"]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: run hack/test-deps.sh (make test does)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


def test_redis_cache_is_shared_between_replicas(toolserver: ToolServerFactory, serper: Site, redis_url: str) -> None:
    common = {"search_provider": "serper", "serper_url": f"{serper.url}/search", "serper_api_key": "good-key",
              "cache": "redis", "cache_url": redis_url}  # fmt: skip
    first, second = toolserver(**common), toolserver(**common)
    assert first.post("/v1/tools/search_urls", json={"query": "shared"}).json()["cached"] is False
    assert second.post("/v1/tools/search_urls", json={"query": "shared"}).json()["cached"] is True
    assert len(serper.requests) == 1
    assert second.get("/readyz").json()["checks"]["cache"] == "ok"


def test_unreachable_redis_makes_the_server_unready_but_tools_still_work(
    toolserver: ToolServerFactory, serper: Site
) -> None:
    tools = toolserver(search_provider="serper", serper_url=f"{serper.url}/search", serper_api_key="good-key",
                       cache="redis", cache_url=f"redis://127.0.0.1:{free_port()}/0")  # fmt: skip
    ready = tools.get("/readyz")
    assert ready.status_code == 503 and "redis unreachable" in ready.json()["checks"]["cache"]
    assert tools.post("/v1/tools/search_urls", json={"query": "x"}).status_code == 200
