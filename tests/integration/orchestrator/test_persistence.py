"""Persistence: a crashed orchestrator loses no finished result and marks its interrupted runs failed (keeping
their partial trace); the same API works on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.orchestrator.conftest import Factory
from tests.support.operator import free_port
from tests.support.postgres import postgres_server
from tests.support.processes import start_fathom
from tests.support.scripted_model import Reply, ScriptedModel, tool_call
from tests.support.services import ServedApp

ANSWERED_TOOLS = "</tool_response>\n<|im_end|>"  # a real tool-response turn, not the system prompt's mention


def _script(prompt: str, index: int) -> Reply:
    if "quick question" in prompt:
        return Reply("\\boxed{quick answer}")
    if ANSWERED_TOOLS in prompt:
        return Reply("\\boxed{never}", delay=60)  # the process dies while waiting for this one
    return Reply(tool_call("search_urls", query="slow"))


class Orchestrator:
    """`fathom orchestrator` as a real process that a test can kill -9."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port, self.env, self.log = free_port(), env, log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_fathom(["orchestrator"], env=self.env, port=self.port, log=self.log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None


@pytest.fixture
def model() -> Iterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel(_script)
    with ServedApp(scripted.app()) as served:
        yield scripted, served.url


def test_killed_process_loses_nothing_finished_and_fails_what_it_was_running(
    model: tuple[ScriptedModel, str], tmp_path: Path
) -> None:
    scripted, model_url = model
    env = os.environ | {
        "FATHOM_SEARCH_MODEL_URL": model_url,
        "FATHOM_SYNTHESIZER_MODEL_URL": model_url,
        "FATHOM_TOOLSERVER_URLS": "http://127.0.0.1:9",
        # Orphans of other processes wait 4 heartbeats (2 minutes here); the restarted process knows its own at once.
        "FATHOM_HEARTBEAT_SECONDS": "30",
        "FATHOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fathom.db",
    }
    orchestrator = Orchestrator(env, tmp_path / "orchestrator.log")
    orchestrator.start()
    with httpx.Client(base_url=orchestrator.url, timeout=30) as client:
        done = client.post("/v1/research", params={"wait": "true"}, json={"question": "quick question"}).json()
        assert done["status"] == "succeeded"
        running = client.post("/v1/research", json={"question": "slow question"}).json()["id"]
        deadline = time.monotonic() + 15
        while not any(ANSWERED_TOOLS in p for p in scripted.prompts) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the journal writes turn records within tens of milliseconds
        orchestrator.kill()

        orchestrator.start()
        assert client.get(f"/v1/research/{done['id']}").json() == done

        def interrupted() -> dict | None:
            record = client.get(f"/v1/research/{running}").json()
            return record if record["status"] == "failed" else None

        deadline, record = time.monotonic() + 10, None
        while record is None and time.monotonic() < deadline:
            record = interrupted()
            time.sleep(0.2)
        assert record is not None, "the restarted process did not mark its own interrupted run failed at once"
        assert record["error"]["code"] == "interrupted"
        assert record["turns"] == 1 and "slow question" in record["trace"]
        orchestrator.kill()


def test_the_api_works_on_postgresql(stack: Factory) -> None:
    with postgres_server() as url:
        client, _, _ = stack([tool_call("search_urls", query="q"), "\\boxed{on postgres}"], database_url=url)
        record = client.post("/v1/research", params={"wait": "true"}, json={"question": "pg?"}).json()
        assert record["status"] == "succeeded" and record["answer"] == "on postgres"
        assert client.get(f"/v1/research/{record['id']}").json()["answer"] == "on postgres"
        listed = client.get("/v1/research").json()["items"]
        assert [item["id"] for item in listed] == [record["id"]]
        with client.stream("GET", f"/v1/research/{record['id']}/events") as response:
            lines = [line for line in response.iter_lines() if line.startswith("event: ")]
        assert lines[0] == "event: status" and lines[-1] == "event: done"
