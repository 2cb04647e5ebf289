"""The browser fetcher: Crawl4AI on Debian's Chromium renders JavaScript pages, and every request the page makes
passes the egress policy (a subresource on a private address is never fetched)."""

from __future__ import annotations

import pytest

from fathom_runtime.toolserver.fetch.browser import browser_unavailable
from tests.integration.toolserver.conftest import ToolServerFactory
from tests.support.web import Site

JS_PAGE = """<!doctype html><html><head><title>Rendered</title></head><body><main><h1>Rendered page</h1>
<p id="static">This paragraph is in the HTML and long enough to count as real content for extraction.</p>
<div id="dynamic"></div><img src="{victim}/pixel.png">
<script>document.getElementById('dynamic').innerText =
  'Text inserted by JavaScript after load, which only a real browser will ever see in this page.';</script>
</main></body></html>"""
MISSING = browser_unavailable("/usr/bin/chromium")


@pytest.mark.skipif(MISSING is not None, reason=f"browser unavailable: {MISSING}")
# Playwright's driver process (started by Crawl4AI) leaves its pipe transports to the loop's shutdown.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_javascript_pages_render_and_private_subresources_are_blocked(
    toolserver: ToolServerFactory, site: Site
) -> None:
    with Site("127.0.0.2") as victim:
        site.route("GET", "/question", lambda h: h.send(200, JS_PAGE.format(victim=victim.url)))
        # With the Jina reader off, generic URLs go to the browser first (docs/protocol.md order).
        tools = toolserver(browser_enabled=True, egress_allow=["127.0.0.1"])
        response = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/question"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source"] == "browser", body
        assert "Text inserted by JavaScript after load" in body["result"]
        assert victim.connections == 0
        assert tools.get("/readyz").json()["checks"]["browser"].startswith("ok")
        assert "fathom_egress_blocked_total 1.0" in tools.get("/metrics").text


def test_without_a_browser_the_chain_skips_it_and_says_so(toolserver: ToolServerFactory) -> None:
    tools = toolserver(browser_enabled=True, chromium_path="/nonexistent/chromium")
    checks = tools.get("/readyz").json()["checks"]
    assert checks["browser"].startswith("unavailable: ") and "browser" not in checks["fetchers"]
