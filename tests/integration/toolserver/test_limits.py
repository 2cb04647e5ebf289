"""Bad input at the tool server's edges: oversized bodies get a JSON 413 without being read whole, a redirect to a
URL that cannot even be parsed is a fetch error, an egress allow entry that does not parse stops the server before
it serves, and anything unforeseen is still a JSON error with a code."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fathom_runtime.common.errors import install_error_handlers
from fathom_runtime.toolserver.app import create_app
from fathom_runtime.toolserver.settings import ToolServerSettings
from tests.integration.toolserver.conftest import ToolServerFactory
from tests.support.web import Chunks, Site, redirect


def test_bodies_over_the_limit_get_a_json_413(toolserver: ToolServerFactory) -> None:
    tools = toolserver(max_body_bytes=2048)
    chunks = Chunks(total=50_000_000)

    for body in (b'{"query": "' + b"a" * 5000 + b'"}', chunks):
        try:
            response = tools.post("/v1/tools/search_urls", content=body, headers={"content-type": "application/json"})
        except httpx.TransportError:  # hung up on mid-upload after the answer
            continue
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert chunks.sent < chunks.total
    assert tools.post("/v1/tools/search_urls", json={"query": "alpha"}).status_code == 200


def test_a_redirect_to_an_unparsable_url_is_a_fetch_error(toolserver: ToolServerFactory, site: Site) -> None:
    site.route("GET", "/bent", redirect("http:\\\\127.0.0.1\\"))
    tools = toolserver(egress_allow=["127.0.0.1"])
    response = tools.post("/v1/tools/web_visit", json={"url": f"{site.url}/bent"})
    assert response.status_code in (400, 422, 502) and "error" in response.json(), response.text


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "10.0.0.300", "fe80::zz", "docs.internal:8000"])
def test_an_egress_entry_that_does_not_parse_stops_the_tool_server(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a CIDR, an IP address nor a host name"):
        create_app(ToolServerSettings(egress_allow=["docs.internal", entry]))
    cli = subprocess.run([sys.executable, "-m", "fathom_runtime.cli.main", "toolserver", "--port", "1"],
                         env={"FATHOM_EGRESS_ALLOW": entry, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert cli.returncode == 2 and cli.stderr.strip().startswith("fathom toolserver: egress allow entry"), cli.stderr


def test_an_unforeseen_failure_is_a_json_500_with_a_code() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    assert "a bug" not in response.text  # details go to the log, not to the caller
