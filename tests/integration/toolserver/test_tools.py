"""The four tools over real HTTP: local-corpus search on Debian's Python docs, page reading, extraction fallbacks,
the /execute shim, validation errors, caching and metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.toolserver.conftest import PYTHON_DOCS, ToolServerFactory
from tests.support.web import Site, html_page, pdf_document


@pytest.fixture
def docs_tools(toolserver: ToolServerFactory, docs_site: Site, docs_index: Path):  # type: ignore[no-untyped-def]
    return toolserver(
        local_corpus=str(PYTHON_DOCS),
        local_corpus_base_url=docs_site.url,
        local_index=str(docs_index),
        egress_allow=["127.0.0.1"],
    )


def test_search_urls_ranks_the_python_docs_and_formats_hits_like_the_reference(docs_tools, docs_site: Site) -> None:
    response = docs_tools.post("/v1/tools/search_urls", json={"query": "asyncio TaskGroup", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert len(body["hits"]) == 3 and body["source"] == "local"
    assert body["hits"][0]["url"] == f"{docs_site.url}/library/asyncio-task.html"
    first = body["hits"][0]
    assert body["result"].startswith(f"### 1. {first['title']}\n**URL**: {first['url']}\n\n**Snippet**: ")
    assert body["result"].count("\n---\n\n") == 2


def test_query_url_reads_a_hit_and_extracts_goal_passages(docs_tools, docs_site: Site) -> None:
    url = f"{docs_site.url}/library/asyncio-task.html"
    goal = "what happens to the other tasks when one task in a TaskGroup fails"
    body = docs_tools.post("/v1/tools/query_url", json={"url": url, "goal": goal}).json()
    assert body["method"] == "passages" and body["source"] == "plain"
    assert body["result"].startswith(f"The useful information in {url} for goal “{goal}”:\n\nRationale:\n")
    assert '\n\nEvidence:\n- "' in body["result"] and "\n\nSummary:\n" in body["result"]
    assert "cancel" in body["result"].lower()


def test_web_search_and_web_visit(docs_tools, docs_site: Site) -> None:
    search = docs_tools.post("/v1/tools/web_search", json={"query": "json dumps indent"}).json()
    assert len(search["hits"]) == 10
    url = f"{docs_site.url}/library/json.html"
    visit = docs_tools.post("/v1/tools/web_visit", json={"url": url}).json()
    assert visit["result"].startswith(f"Content of {url}:\n\n# json — JSON encoder and decoder")
    assert "indent" in visit["result"] and len(visit["result"]) <= 24_500


def test_second_call_is_served_from_cache(docs_tools, docs_site: Site) -> None:
    url = f"{docs_site.url}/library/json.html"
    first = docs_tools.post("/v1/tools/web_visit", json={"url": url}).json()
    before = len(docs_site.requests)
    second = docs_tools.post("/v1/tools/web_visit", json={"url": url}).json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert len(docs_site.requests) == before


def test_pdf_pages_become_text(toolserver: ToolServerFactory, site: Site) -> None:
    site.route(
        "GET", "/paper.pdf", lambda h: h.send(200, pdf_document("Fathom reaches 90.0 percent"), "application/pdf")
    )
    tools = toolserver(egress_allow=["127.0.0.1"])
    body = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/paper.pdf"}).json()
    assert "Fathom reaches 90.0 percent" in body["result"] and body["source"] == "pdf"


def test_execute_shim_runs_known_tools_with_literal_arguments(docs_tools, docs_site: Site) -> None:
    typed = docs_tools.post("/v1/tools/search_urls", json={"query": "pathlib glob", "top_k": 2}).json()
    shim = docs_tools.post("/execute", json={"env": "ignored", "call": "search_urls('pathlib glob', top_k=2)"})
    assert shim.status_code == 200
    assert shim.json() == {"result": typed["result"], "output": "", "error": None}


def _recall_observation(reply: dict[str, str | None]) -> str:
    """What a ReCall executor client makes of an /execute reply: every non-empty section, labelled, stripped."""
    text = ""
    for section in ("result", "output", "error"):
        if reply[section]:
            text += f"{section}: \n{reply[section]}\n"
    return text.strip()


def test_a_recall_client_sees_each_observation_once(docs_tools) -> None:
    reply = docs_tools.post("/execute", json={"env": "", "call": "search_urls('pathlib glob', top_k=2)"}).json()
    observation = _recall_observation(reply)
    assert observation.startswith("result: \n### 1. ")
    assert observation.count("**URL**: ") == 2  # two hits, each shown once
    refused = _recall_observation(docs_tools.post("/execute", json={"call": "rm('-rf')"}).json())
    assert refused.startswith("error: \nrefused: unknown function 'rm'") and "result" not in refused


@pytest.mark.parametrize(
    "call",
    [
        "__import__('os').system('touch {sentinel}')",
        "search_urls(__import__('os').system('touch {sentinel}'))",
        "search_urls('x').__class__.__base__",
        "[search_urls(x) for x in ['a']]",
        "search_urls('a'); __import__('os').system('touch {sentinel}')",
        'exec(\'open("{sentinel}", "w")\')',
        "open('{sentinel}', 'w')",
        "search_urls(query=open('{sentinel}', 'w').name)",
        "search_urls(**{{'query': 'a'}})",
        "(lambda: __import__('os').system('touch {sentinel}'))()",
        'search_urls(f\'{{__import__("os").system("touch {sentinel}")}}\')',
        "query_url('http://x', goal=1)",
    ],
)
def test_execute_refuses_everything_but_a_literal_tool_call(toolserver: ToolServerFactory, tmp_path, call: str) -> None:
    sentinel = tmp_path / "pwned"
    response = toolserver().post("/execute", json={"env": None, "call": call.format(sentinel=sentinel)})
    assert response.status_code == 200
    body = response.json()
    assert body["result"] is None and body["error"].startswith("refused: ")
    assert not sentinel.exists()


def test_invalid_requests_get_422_naming_the_field(docs_tools) -> None:
    missing = docs_tools.post("/v1/tools/search_urls", json={"top_k": 3})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "query"
    bad = docs_tools.post("/v1/tools/search_urls", json={"query": "x", "top_k": 500})
    assert bad.status_code == 422 and "top_k" in bad.json()["error"]["message"]
    assert docs_tools.post("/v1/tools/query_url", content=b"not json").status_code == 422


def test_metrics_and_readiness(docs_tools, docs_site: Site) -> None:
    docs_tools.post("/v1/tools/search_urls", json={"query": "tomllib"})
    docs_tools.post("/v1/tools/web_visit", json={"url": "http://169.254.169.254/latest/meta-data/"})
    text = docs_tools.get("/metrics").text
    assert re.search(r'fathom_tool_requests_total\{outcome="ok",tool="search_urls"\} 1\.0', text)
    assert re.search(r'fathom_tool_requests_total\{outcome="egress_refused",tool="web_visit"\} 1\.0', text)
    assert 'fathom_build_info{component="toolserver",python="' in text
    assert re.search(r"fathom_egress_blocked_total 1\.0", text)
    assert re.search(r'fathom_cache_requests_total\{kind="search",result="miss"\} 1\.0', text)
    ready = docs_tools.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["search"] == "ok (local)"
    assert docs_tools.get("/healthz").json() == {"status": "ok"}


def test_query_url_without_matching_passages_returns_the_page_start(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/a.html", lambda h: h.send(200, html_page("Kettles", "A kettle boils water quickly.")))
    tools = toolserver(local_corpus=str(PYTHON_DOCS), local_corpus_base_url=site.url, egress_allow=["127.0.0.1"])
    body = tools.post(
        "/v1/tools/query_url", json={"url": f"{site.url}/a.html", "goal": "quantum chromodynamics"}
    ).json()
    assert body["method"] == "truncated" and "A kettle boils water quickly." in body["result"]
