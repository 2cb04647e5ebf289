"""Browser egress vectors, run only inside a network namespace that has nothing but loopback (test_browser_egress.py
starts pytest on this file under `unshare -n`): a guard that failed could reach nothing off the machine.

One page on an allowed site (127.0.0.1) fires every vector at a target: a top-level redirect, a redirected image and
fetch, meta refresh, JavaScript navigation, a form POST, an iframe, preconnect and prefetch links, a WebSocket, a
SharedWorker, a ServiceWorker and a host name whose DNS answer is the target (rebinding). Aimed at a second allowed
site, every vector but the WebSocket connects (so the browser really sends each one; WebSockets are never opened);
aimed at a trap listener on 127.0.0.2, which the egress policy refuses, the trap sees no connection at all."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from fathom_runtime.toolserver.guard.resolve import StaticResolver
from tests.integration.toolserver.conftest import ToolServerFactory
from tests.support.web import Handler, Site, redirect

pytestmark = [
    pytest.mark.skipif(os.environ.get("FATHOM_ISOLATED_NETNS") != "1", reason="runs only inside `unshare -n`"),
    # Playwright's driver process (started by Crawl4AI) leaves its pipe transports to the loop's shutdown.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

# Each vector requests <target>/<its name>; the rebinding one goes to rebind.test, whose DNS answer is the target.
VECTORS = ("top", "img", "fetch", "meta", "jsnav", "form", "frame", "preconnect", "prefetch", "websocket",
           "shared-worker", "service-worker", "rebind")  # fmt: skip
PAGE = """<!doctype html><html><head><title>Vectors</title>
<link rel="preconnect" href="{t}"><link rel="prefetch" href="{t}/prefetch"></head>
<body><main><h1>Vectors</h1>
<p>This page is long enough to count as content for the extraction that follows its rendering in the browser.</p>
<img src="/to/img"><iframe src="{t}/frame"></iframe><iframe src="/meta.html"></iframe>
<iframe src="/jsnav.html"></iframe><iframe src="/form.html"></iframe>
<script>
fetch('/to/fetch').catch(() => {{}});
fetch('http://rebind.test:{port}/rebind').catch(() => {{}});
try {{ new WebSocket('ws://{host}:{port}/websocket'); }} catch (e) {{}}
try {{ new SharedWorker('/shared.js'); }} catch (e) {{}}
navigator.serviceWorker && navigator.serviceWorker.register('/sw.js').catch(() => {{}});
</script></main></body></html>"""
FRAMES = {
    "/meta.html": '<meta http-equiv="refresh" content="0;url={t}/meta">',
    "/jsnav.html": "<script>location.href = '{t}/jsnav';</script>",
    "/form.html": '<form method="post" action="{t}/form"><input name="q" value="x"></form>'
    "<script>document.forms[0].submit();</script>",
}
SCRIPTS = {
    "/shared.js": "fetch('{t}/shared-worker').catch(() => {{}});",
    "/sw.js": "self.addEventListener('install', () => fetch('{t}/service-worker').catch(() => {{}}));",
}


@pytest.fixture
def pages() -> Iterator[Site]:
    with Site("127.0.0.1") as site:
        yield site


def _serve_vectors(site: Site, target: Site) -> None:
    host, port = target.server_address[:2]
    t = target.url
    site.route("GET", "/top", redirect(f"{t}/top"))
    site.route("GET", "/vectors", lambda h: h.send(200, PAGE.format(t=t, host=host, port=port)))
    for name in ("img", "fetch"):
        site.route("GET", f"/to/{name}", redirect(f"{t}/{name}"))
    for path, body in FRAMES.items():
        site.route("GET", path, lambda h, b=body: h.send(200, b.format(t=t)))
    for path, body in SCRIPTS.items():
        site.route("GET", path, lambda h, b=body: h.send(200, b.format(t=t), "text/javascript"))


def _reached(target: Site) -> set[str]:
    return {path.split("?")[0].strip("/") or "preconnect" for _, path in target.requests}


def _record_websocket(target: Site) -> None:
    def upgrade(h: Handler) -> None:  # enough of a handshake to be counted; the test only needs the request
        h.send(400, "no websocket here", "text/plain")

    target.route("GET", "/websocket", upgrade)


def _visit_all(toolserver: ToolServerFactory, pages: Site, target: Site) -> None:
    resolver = StaticResolver({"rebind.test": [target.server_address[0]]})
    tools = toolserver(resolver=resolver, browser_enabled=True, browser_settle_seconds=4.0,
                       egress_allow=["127.0.0.1"])  # fmt: skip
    _serve_vectors(pages, target)
    for path in ("/vectors", "/top"):
        response = tools.post("/v1/tools/web_visit", json={"url": f"{pages.url}{path}"})
        assert response.status_code in (200, 403, 502), response.text


def test_every_vector_reaches_an_allowed_target(toolserver: ToolServerFactory, pages: Site) -> None:
    with Site("127.0.0.1") as control:
        _record_websocket(control)
        _visit_all(toolserver, pages, control)
        expected = set(VECTORS) - {"preconnect", "websocket"}  # a preconnect sends no request; WebSockets: refused
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not expected <= _reached(control):
            time.sleep(0.2)
        missing = expected - _reached(control)
        assert not missing, f"the browser never sent: {sorted(missing)}"
        assert "websocket" not in _reached(control)
        assert control.connections >= len(expected)


def test_no_vector_reaches_a_refused_target(toolserver: ToolServerFactory, pages: Site) -> None:
    with Site("127.0.0.2") as trap:
        _record_websocket(trap)
        _visit_all(toolserver, pages, trap)  # returns once each page has settled (4 s of scripts) and closed
        assert trap.connections == 0, trap.requests
