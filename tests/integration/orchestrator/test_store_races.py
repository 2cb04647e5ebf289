"""Submit-then-cancel races from many clients at once: no server errors, no run left queued or running, and the
service keeps accepting work (and says so on /healthz), on SQLite and on PostgreSQL. The orchestrator runs as a
real process; the model is scripted and slow, so cancellations land on runs in every state."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.operator import free_port
from tests.support.postgres import postgres_server
from tests.support.processes import start_fathom
from tests.support.scripted_model import Reply, ScriptedModel, tool_call
from tests.support.services import ServedApp

RACES, CLIENTS = 1200, 100


def _script(prompt: str, index: int) -> Reply:
    if "quick" in prompt:  # these finish at once: their cancellation races with the end of the run
        return Reply("\\boxed{done}")
    return Reply(tool_call("search_urls", query="x"), delay=0.05)  # these go on until cancelled


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/fathom.db"
    else:
        with postgres_server() as url:
            yield url


async def _race(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, statuses: Counter[int], ids: list[str], question: str
) -> None:
    async with gate:
        created = await _send(client, "POST", "/v1/research", json={"question": question})
        statuses[created.status_code] += 1
        if created.status_code != 202:
            return
        run_id = created.json()["id"]
        ids.append(run_id)
        cancelled = await _send(client, "DELETE", f"/v1/research/{run_id}")
        statuses[cancelled.status_code] += 1


async def _send(client: httpx.AsyncClient, method: str, path: str, **kwargs: object) -> httpx.Response:
    """One request; a keep-alive connection the server closed as it was reused is retried (a client's job)."""
    for attempt in range(3):
        try:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except (httpx.ReadError, httpx.RemoteProtocolError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _storm(url: str) -> tuple[Counter[int], list[str]]:
    statuses: Counter[int] = Counter()
    ids: list[str] = []
    gate = asyncio.Semaphore(CLIENTS)
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        questions = ["quick race?" if i % 2 else "long race?" for i in range(RACES)]
        await asyncio.gather(*(_race(client, gate, statuses, ids, question) for question in questions))
    return statuses, ids


def test_cancel_races_leave_no_error_and_no_stuck_run(database: str, tmp_path: Path) -> None:
    model = ScriptedModel(_script)
    with ServedApp(model.app()) as served:
        port = free_port()
        env = {
            "FATHOM_SEARCH_MODEL_URL": served.url,
            "FATHOM_SYNTHESIZER_MODEL_URL": served.url,
            "FATHOM_TOOLSERVER_URLS": "http://127.0.0.1:9",
            "FATHOM_DATABASE_URL": database,
        }
        process = start_fathom(["orchestrator"], env=env, port=port, log=tmp_path / "orchestrator.log")
        url = f"http://127.0.0.1:{port}"
        try:
            statuses, ids = asyncio.run(_storm(url))
            server_errors = {code: n for code, n in statuses.items() if code >= 500}
            assert server_errors == {}, (statuses, (tmp_path / "orchestrator.log").read_text()[-3000:])
            with httpx.Client(base_url=url, timeout=30) as client:
                deadline = time.monotonic() + 30
                while True:
                    stuck = [r for r in _all_runs(client) if r["status"] in ("queued", "running")]
                    if not stuck or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                assert stuck == []
                assert len(ids) == statuses[202] and {r["id"] for r in _all_runs(client)} >= set(ids)
                assert client.get("/healthz").status_code == 200
                fresh = client.post("/v1/research", json={"question": "after the storm?"})
                assert (
                    fresh.status_code == 202 and client.delete(f"/v1/research/{fresh.json()['id']}").status_code == 200
                )
        finally:
            process.terminate()
            process.wait(timeout=30)


def _all_runs(client: httpx.Client) -> list[dict]:  # type: ignore[type-arg]
    runs, cursor = [], None
    while True:
        page = client.get("/v1/research", params={"limit": 200} | ({"cursor": cursor} if cursor else {})).json()
        runs += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return runs
