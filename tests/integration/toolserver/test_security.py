"""Egress security and hostile responses, against real loopback listeners that count TCP connections: a refused
URL must produce zero connections, and bad responses end in a clear tool error while the server keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fathom_runtime.toolserver.guard.ssrf import IPAddress
from tests.integration.toolserver.conftest import ToolServerFactory
from tests.support.web import Site, gzip_bomb, html_page, huge_page, malformed, redirect, slow_drip


@pytest.fixture
def victim() -> Iterator[Site]:
    """A listener on 127.0.0.2 playing an internal service that must never be reached."""
    with Site("127.0.0.2") as site:
        site.route("GET", "/", lambda h: h.send(200, html_page("internal", "secret admin panel " * 10)))
        yield site


def _tools(toolserver: ToolServerFactory, allow: list[str], resolver=None):  # type: ignore[no-untyped-def]
    return toolserver(resolver=resolver, egress_allow=allow)


@pytest.mark.parametrize(
    "template",
    [
        "{url}/",
        "http://localhost:{port}/",
        "http://[::ffff:127.0.0.2]:{port}/",
        "http://2130706434:{port}/",  # 127.0.0.2 written as one decimal number
        "http://0x7f000002:{port}/",
        "http://user:pw@127.0.0.2:{port}/",
        "ftp://127.0.0.2:{port}/",
        "file:///etc/passwd",
        "gopher://127.0.0.2:{port}/_",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "http://0.0.0.0:{port}/",
    ],
)
def test_non_public_targets_are_refused_without_a_connection(
    toolserver: ToolServerFactory, victim: Site, template: str
) -> None:
    tools = _tools(toolserver, allow=[])
    url = template.format(url=victim.url, port=victim.server_address[1])
    for tool, body in (("web_visit", {"url": url}), ("query_url", {"url": url, "goal": "admin"})):
        response = tools.post(f"/v1/tools/{tool}", json=body)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["type"] == "egress_refused"
        assert response.json()["error"]["message"].startswith("refused")
    execute = tools.post("/execute", json={"call": f"web_visit({url!r})"}).json()
    assert execute["result"] is None and execute["error"].startswith("refused")
    assert victim.connections == 0


def test_every_redirect_hop_is_checked(toolserver: ToolServerFactory, site: Site, victim: Site) -> None:
    site.route("GET", "/to-internal", redirect(f"{victim.url}/"))
    site.route("GET", "/to-metadata", redirect("http://169.254.169.254/latest/meta-data/iam/"))
    site.route("GET", "/hop", redirect("/to-internal", 301))
    tools = _tools(toolserver, allow=["127.0.0.1/32"])
    for path in ("/to-internal", "/to-metadata", "/hop"):
        response = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}{path}"})
        assert response.status_code == 403, (path, response.text)
    assert victim.connections == 0
    assert site.connections >= 3  # the allowed first hops were really fetched


def test_allowlist_is_the_only_way_in(toolserver: ToolServerFactory, victim: Site) -> None:
    assert _tools(toolserver, allow=[]).post("/v1/tools/web_visit", json={"url": f"{victim.url}/"}).status_code == 403
    assert victim.connections == 0
    allowed = _tools(toolserver, allow=["127.0.0.2"]).post("/v1/tools/web_visit", json={"url": f"{victim.url}/"})
    assert allowed.status_code == 200 and "secret admin panel" in allowed.json()["result"]
    assert victim.connections == 1


class _Rebinding:
    """Answers the first lookup of rebind.test with an allowed address and every later one with the victim's."""

    def __init__(self, first: str, then: str) -> None:
        self.answers, self.calls = [first, then], 0

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        import ipaddress

        if host != "rebind.test":
            return [ipaddress.ip_address(host)]
        self.calls += 1
        return [ipaddress.ip_address(self.answers[min(self.calls - 1, 1)])]


def test_dns_rebinding_cannot_swap_the_connected_address(
    toolserver: ToolServerFactory, site: Site, victim: Site
) -> None:
    site.route("GET", "/", lambda h: h.send(200, html_page("public", "harmless text " * 20)))
    resolver = _Rebinding("127.0.0.1", "127.0.0.2")
    tools = _tools(toolserver, allow=["127.0.0.1/32"], resolver=resolver)
    port = victim.server_address[1]
    response = tools.post("/v1/tools/web_visit", json={"url": f"http://rebind.test:{port}/"})
    assert response.status_code == 403
    assert resolver.calls >= 2 and victim.connections == 0


def test_oversized_pages_are_cut_at_the_byte_cap_and_the_server_keeps_serving(
    toolserver: ToolServerFactory, site: Site
) -> None:
    site.route("GET", "/huge", huge_page(50))
    site.route("GET", "/ok", lambda h: h.send(200, html_page("fine", "still serving " * 20)))
    tools = _tools(toolserver, allow=["127.0.0.1"])
    started = time.monotonic()
    body = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/huge"}).json()
    assert time.monotonic() - started < 20
    assert body["truncated"] is True and body["result"].endswith("[page truncated]")
    assert tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/ok"}).status_code == 200


def test_compression_bombs_never_inflate_past_the_cap(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/bomb", gzip_bomb(200))
    tools = _tools(toolserver, allow=["127.0.0.1"])
    response = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/bomb"})
    # 200 MiB of zeros, decompressed only up to the 2 MB cap, and recognised as binary.
    assert response.status_code == 502 and "binary" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            lambda h: h.send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 500, "image/png"),
            "unsupported content type 'image/png'",
        ),
        (malformed(), "RemoteProtocolError"),
        (lambda h: h.send(404, "gone"), "HTTP 404"),
        (lambda h: h.send(200, b"\x1f\x8b not gzip at all", "text/html", {"Content-Encoding": "gzip"}), "corrupt"),
    ],
    ids=["binary", "malformed", "not-found", "corrupt-gzip"],
)
def test_bad_responses_become_clear_tool_errors(toolserver: ToolServerFactory, site: Site, route, message) -> None:  # type: ignore[no-untyped-def]
    site.route("GET", "/bad", route)
    tools = _tools(toolserver, allow=["127.0.0.1"])
    response = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/bad"})
    assert response.status_code == 502
    assert message in response.json()["error"]["message"]


def test_slow_responses_end_at_the_deadline(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/slow", slow_drip(1.0))
    tools = toolserver(egress_allow=["127.0.0.1"], timeout_seconds=3)
    started = time.monotonic()
    response = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/slow"})
    assert time.monotonic() - started < 6
    assert response.status_code == 504 and response.json()["error"]["type"] == "timeout"


def test_execute_honours_the_callers_timeout(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/slow", slow_drip(1.0))
    tools = toolserver(egress_allow=["127.0.0.1"])
    started = time.monotonic()
    body = tools.post("/execute", json={"call": f"web_visit('{site.url}/slow')", "timeout": 1}).json()
    assert time.monotonic() - started < 3
    assert body == {"result": None, "output": "", "error": "the tool call ran out of time"}
