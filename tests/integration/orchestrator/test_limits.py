"""Limits a hostile or broken peer meets: bodies over the limit (announced or chunked) get a JSON 413 without being
read whole, a client sending its headers slowly is cut off, a model reply far longer than its token budget is cut
before it is stored, an absurd Last-Event-ID replays from the start, a store that cannot write takes the
orchestrator out of readiness with JSON 503s, and credentials in URLs are never logged or stored."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fathom_runtime.common import server
from tests.integration.orchestrator.conftest import Factory
from tests.support.operator import free_port
from tests.support.processes import start_fathom
from tests.support.scripted_model import Reply
from tests.support.web import Chunks


def test_bodies_over_the_limit_get_a_json_413_announced_or_chunked(stack: Factory) -> None:
    client, _, _ = stack(["\\boxed{x}"], max_body_bytes=4096)
    chunks = Chunks(total=20_000_000)

    for body in (b"{" + b" " * 10_000 + b"}", chunks):
        try:
            response = client.post("/v1/research", content=body, headers={"content-type": "application/json"})
        except httpx.TransportError:  # the server may hang up mid-upload after answering; the answer is what counts
            continue
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert chunks.sent < chunks.total


def test_a_client_sending_headers_slowly_is_cut_off(stack: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.HeadTimeoutProtocol, "head_timeout", 1.0)
    client, _, _ = stack(["\\boxed{x}"])
    host, port = client.base_url.host, client.base_url.port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        assert slow.recv(1024) == b""  # closed by the server (recv would time out after 10 s otherwise)
        assert time.monotonic() - started < 5
    assert client.get("/healthz").status_code == 200  # complete requests are unaffected


def test_a_reply_far_over_its_token_budget_is_cut_before_it_is_stored(stack: Factory, tmp_path: Path) -> None:
    huge = "<think>" + "a" * 5_000_000 + "</think> \\boxed{x}"
    client, _, _ = stack([Reply(huge)], max_turn_tokens=256)
    record = client.post("/v1/research", params={"wait": "true"}, json={"question": "q"}).json()
    assert record["status"] == "succeeded"
    assert len(record["trace"]) < 50_000  # 256 tokens of at most 32 characters, plus the prompt
    assert (tmp_path / "fathom.db").stat().st_size < 2_000_000


def test_an_absurd_last_event_id_replays_from_the_start(stack: Factory) -> None:
    client, _, _ = stack(["\\boxed{x}"])
    run = client.post("/v1/research", params={"wait": "true"}, json={"question": "q"}).json()
    with client.stream("GET", f"/v1/research/{run['id']}/events", headers={"Last-Event-ID": "9" * 5000}) as events:
        assert events.status_code == 200
        text = events.read().decode()
    assert text.startswith("id: 1\n") and "event: done" in text


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if shutil.which("mount") is None or subprocess.run(["id", "-u"], capture_output=True, text=True).stdout != "0\n":
        pytest.skip("needs root to mount a small tmpfs")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_gives_json_503s_and_takes_the_orchestrator_out_of_readiness(
    small_disk: Path, stack: Factory
) -> None:
    client, _, _ = stack([Reply("\\boxed{x}")] * 200, database_url=f"sqlite+aiosqlite:///{small_disk}/fathom.db")
    (small_disk / "filler").write_bytes(b"\0" * 1_900_000)  # the disk is nearly full from the start
    statuses = set()
    for index in range(200):
        response = client.post("/v1/research", json={"question": f"question {index} " + "x" * 4000})
        statuses.add(response.status_code)
        assert response.headers["content-type"] == "application/json"
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "store_unavailable"
            break
    assert 503 in statuses and 500 not in statuses
    deadline = time.monotonic() + 10
    while client.get("/readyz").status_code != 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "writes failing" in ready.json()["checks"]["database"]


def test_credentials_in_urls_reach_neither_the_log_nor_the_records(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "FATHOM_SEARCH_MODEL_URL": "http://search:s3cret-model@127.0.0.1:9",  # nothing listens: the run fails
        "FATHOM_SYNTHESIZER_MODEL_URL": "http://synth:s3cret-model@127.0.0.1:9",
        "FATHOM_TOOLSERVER_URLS": "http://tools:s3cret-tools@127.0.0.1:9",
        "FATHOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fathom.db",
        "FATHOM_MODEL_RETRY_BACKOFF_SECONDS": "0",
    }
    log = tmp_path / "orchestrator.log"
    process = start_fathom(["orchestrator"], env=env, port=port, log=log)
    try:
        run = httpx.post(f"http://127.0.0.1:{port}/v1/research", params={"wait": "true"}, json={"question": "q"},
                         timeout=60).json()  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert run["status"] == "failed" and "127.0.0.1:9" in run["error"]["message"]
    assert "s3cret" not in json.dumps(run)
    text = log.read_text()
    assert "search_model_url" in text and "***@127.0.0.1:9" in text  # the settings were logged, masked
    assert "s3cret" not in text
