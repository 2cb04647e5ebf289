"""Domain-specific fetchers of the chain (docs/protocol.md), against loopback stand-ins that speak the real APIs:
GitHub's contents/readme API, Reddit's thread JSON; YouTube without its optional package says so."""

from __future__ import annotations

import ipaddress

from fathom_runtime.toolserver.guard.resolve import StaticResolver
from tests.integration.toolserver.conftest import ToolServerFactory
from tests.support.web import Handler, Site

README = "# Fathom-DeepResearch\n\nTwo 4B models that browse the web and write citation-dense reports."


def test_github_repositories_are_read_through_the_api(toolserver: ToolServerFactory, site: Site) -> None:
    seen: list[tuple[str, str | None]] = []

    def readme(h: Handler) -> None:
        seen.append((h.headers.get("Accept"), h.headers.get("Authorization")))
        h.send(200, README, "text/plain")

    site.route("GET", "/repos/FractalAIResearchLabs/Fathom-DeepResearch/readme", readme)
    # github.com resolves to a public address, so the URL is admitted; only the API (here on loopback) is called.
    resolver = StaticResolver({"github.com": ["140.82.112.3"]})
    tools = toolserver(resolver=resolver, github_api_url=site.url, github_token="ghp-test")
    body = tools.post(
        "/v1/tools/web_visit", json={"url": "https://github.com/FractalAIResearchLabs/Fathom-DeepResearch"}
    )
    assert body.status_code == 200, body.text
    assert body.json()["source"] == "github" and "citation-dense reports" in body.json()["result"]
    assert seen == [("application/vnd.github.raw", "Bearer ghp-test")]


def test_reddit_threads_come_from_their_json(toolserver: ToolServerFactory, site: Site) -> None:
    thread = [
        {
            "data": {
                "children": [
                    {
                        "data": {
                            "title": "Best small research agent?",
                            "author": "op",
                            "subreddit": "LocalLLaMA",
                            "selftext": "Looking for a 4B model that searches the web.",
                        }
                    }
                ]
            }
        },
        {"data": {"children": [{"kind": "t1", "data": {"author": "a", "score": 42, "body": "Try Fathom-Search-4B."}}]}},
    ]
    site.route("GET", "/r/LocalLLaMA/comments/abc/best.json", lambda h: h.send_json(200, thread))
    port = site.server_address[1]
    resolver = StaticResolver({"www.reddit.com": ["127.0.0.1"]})
    tools = toolserver(resolver=resolver, egress_allow=["www.reddit.com"])
    url = f"http://www.reddit.com:{port}/r/LocalLLaMA/comments/abc/best/"
    body = tools.post("/v1/tools/web_visit", json={"url": url}).json()
    assert body["source"] == "reddit"
    assert (
        "# Best small research agent?" in body["result"] and "u/a (42 points): Try Fathom-Search-4B." in body["result"]
    )


def test_youtube_without_its_package_is_a_clear_error(toolserver: ToolServerFactory) -> None:
    resolver = StaticResolver({"www.youtube.com": ["142.250.0.1"]})
    tools = toolserver(resolver=resolver)
    response = tools.post("/v1/tools/web_visit", json={"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"})
    assert response.status_code == 502
    assert "youtube-transcript-api" in response.json()["error"]["message"]
    assert ipaddress.ip_address("142.250.0.1").is_global  # admitted as public; no fetcher connected to it
