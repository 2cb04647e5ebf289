"""API keys: a request needs a valid Bearer key (also the OpenAI facade and the event stream), a run belongs to the key
that created it (another user key gets 404 and never sees it listed), an admin key sees and cancels everything, keys
never reach logs or records, the key file is re-read when the Secret rotates, and an unusable key file stops the
orchestrator instead of opening the API. Without a key file the API stays open."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path

import httpx
import openai
import pytest

from fathom_runtime.cli.main import main as fathom
from fathom_runtime.orchestrator import auth
from fathom_runtime.orchestrator.app import create_app
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from tests.integration.orchestrator.conftest import Factory
from tests.support.scripted_model import Reply

ALICE, BOB, ROOT = auth.new_token(), auth.new_token(), auth.new_token()


def _key_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "keys"
    path.write_text("# name scope digest\n" + "\n".join(lines) + "\n")
    return path


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return _key_file(
        tmp_path,
        auth.key_line("alice", "user", ALICE),
        auth.key_line("bob", "user", BOB),
        auth.key_line("ops", "admin", ROOT),
    )


def test_requests_without_a_valid_key_are_refused_with_a_json_401(stack: Factory, keys: Path) -> None:
    client, _, _ = stack(["\\boxed{x}"], api_keys_file=str(keys))
    for headers in ({}, _bearer("fathom_not-a-key"), {"Authorization": f"Basic {ALICE}"}, {"Authorization": ALICE}):
        for method, path in (("POST", "/v1/research"), ("GET", "/v1/research"), ("GET", "/v1/research/x"),
                             ("DELETE", "/v1/research/x"), ("GET", "/v1/research/x/events"), ("GET", "/v1/models"),
                             ("POST", "/v1/chat/completions")):  # fmt: skip
            response = client.request(method, path, headers=headers, json={"question": "q"})
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
    # Probes and Prometheus need no key.
    assert client.get("/healthz").status_code == 200 and client.get("/metrics").status_code == 200


def test_a_run_belongs_to_its_key_and_an_admin_sees_them_all(stack: Factory, keys: Path) -> None:
    client, _, _ = stack([Reply("\\boxed{x}")] * 3, api_keys_file=str(keys))
    mine = client.post("/v1/research", params={"wait": "true"}, json={"question": "alice asks"}, headers=_bearer(ALICE))
    assert mine.status_code == 200 and mine.json()["owner"] == "alice"
    run_id = mine.json()["id"]
    theirs = client.post("/v1/research", params={"wait": "true"}, json={"question": "bob asks"}, headers=_bearer(BOB))

    assert client.get(f"/v1/research/{run_id}", headers=_bearer(ALICE)).json()["answer"] == "x"
    for method, path in (("GET", f"/v1/research/{run_id}"), ("DELETE", f"/v1/research/{run_id}"),
                         ("GET", f"/v1/research/{run_id}/events")):  # fmt: skip
        refused = client.request(method, path, headers=_bearer(BOB))
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert [r["question"] for r in client.get("/v1/research", headers=_bearer(BOB)).json()["items"]] == ["bob asks"]
    everything = client.get("/v1/research", headers=_bearer(ROOT)).json()["items"]
    assert {r["question"] for r in everything} == {"alice asks", "bob asks"}
    assert client.get(f"/v1/research/{theirs.json()['id']}", headers=_bearer(ROOT)).status_code == 200
    with client.stream("GET", f"/v1/research/{run_id}/events", headers=_bearer(ROOT)) as events:
        assert events.status_code == 200 and "event: done" in events.read().decode()


def test_the_openai_facade_takes_the_key_as_its_api_key(stack: Factory, keys: Path) -> None:
    client, _, _ = stack(["\\boxed{Paris}", "\\boxed{Paris}"], api_keys_file=str(keys))
    base = f"{str(client.base_url).rstrip('/')}/v1"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
    sdk = openai.OpenAI(base_url=base, api_key=BOB, max_retries=0)
    answer = sdk.chat.completions.create(model="fathom-search", messages=[{"role": "user", "content": "Capital?"}])
    assert answer.choices[0].message.content == "Paris"
    stream = sdk.chat.completions.create(model="fathom-search", stream=True,
                                         messages=[{"role": "user", "content": "Again?"}])  # fmt: skip
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "Paris"
    assert {r["owner"] for r in client.get("/v1/research", headers=_bearer(ROOT)).json()["items"]} == {"bob"}


def test_keys_reach_neither_logs_nor_the_database(
    stack: Factory, keys: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _, _ = stack(["\\boxed{x}"], api_keys_file=str(keys))
    client.post("/v1/research", params={"wait": "true"}, json={"question": "q"}, headers=_bearer(ALICE))
    client.get("/v1/research", headers=_bearer("fathom_wrong-key"))
    dump = "\n".join(sqlite3.connect(tmp_path / "fathom.db").iterdump())
    for secret in (ALICE, auth.digest(ALICE)):
        assert secret not in caplog.text and secret not in dump
    assert "alice" in dump  # the owner is recorded by name


def test_a_rotated_key_file_is_picked_up_and_a_broken_rewrite_keeps_the_old_keys(
    stack: Factory, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "RELOAD_SECONDS", 0.0)
    client, _, _ = stack([Reply("\\boxed{x}")] * 2, api_keys_file=str(keys))
    carol = auth.new_token()
    keys.write_text(auth.key_line("carol", "user", carol) + "\n")
    os.utime(keys, (time.time() + 5, time.time() + 5))  # a new mtime even on a coarse clock
    assert client.get("/v1/research", headers=_bearer(carol)).status_code == 200
    assert client.get("/v1/research", headers=_bearer(ALICE)).status_code == 401  # revoked
    keys.write_text("carol user not-a-digest\n")
    os.utime(keys, (time.time() + 10, time.time() + 10))
    assert client.get("/v1/research", headers=_bearer(carol)).status_code == 200


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("alice user sha256:abc\n", "line 1: the key must be written as sha256:<64 lower-case hex digits>"),
        (f"alice root sha256:{'a' * 64}\n", "line 1: scope must be one of user, admin"),
        (f"# only a comment\nalice user sha256:{'a' * 64} extra\n", "line 2: expected"),
        (f"alice user sha256:{'a' * 64}\nalice admin sha256:{'b' * 64}\n", "line 2: key name 'alice' appears twice"),
        ("# nothing\n", "has no keys"),
    ],
)
def test_an_unusable_key_file_stops_the_orchestrator(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keys"
    path.write_text(content)
    with pytest.raises(auth.KeyFileError, match=message):
        create_app(OrchestratorSettings(api_keys_file=str(path)))
    with pytest.raises(auth.KeyFileError, match="cannot read the API key file"):
        create_app(OrchestratorSettings(api_keys_file=str(tmp_path / "missing")))


def test_the_cli_makes_keys_and_sends_them(
    stack: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fathom(["api-key", "dana", "--admin"]) == 0
    printed = capsys.readouterr().out.splitlines()
    token = printed[0].rsplit(" ", 1)[1]
    line = printed[1].removeprefix("key file line: ")
    assert line.startswith("dana admin sha256:") and token not in line
    client, _, _ = stack(["\\boxed{42}"], api_keys_file=str(_key_file(tmp_path, line)))
    monkeypatch.setenv("FATHOM_API_KEY", token)
    assert fathom(["research", "What is it?", "--url", str(client.base_url).rstrip("/")]) == 0
    assert capsys.readouterr().out.strip().startswith("42")
    monkeypatch.setenv("FATHOM_API_KEY", "fathom_wrong")
    assert fathom(["research", "Again?", "--url", str(client.base_url).rstrip("/")]) != 0
    assert "refused (401)" in capsys.readouterr().err
    assert fathom(["api-key", "no spaces allowed"]) == 2


def test_without_a_key_file_the_api_stays_open(stack: Factory) -> None:
    client, _, _ = stack(["\\boxed{x}"])
    created = client.post("/v1/research", params={"wait": "true"}, json={"question": "q"})
    assert created.status_code == 200 and created.json()["owner"] is None
    assert json.loads(client.get("/v1/research").text)["items"][0]["id"] == created.json()["id"]
    assert httpx.get(f"{str(client.base_url).rstrip('/')}/v1/models").status_code == 200


def test_a_database_from_before_keys_is_upgraded_and_its_runs_are_kept(
    stack: Factory, keys: Path, tmp_path: Path
) -> None:
    old = sqlite3.connect(tmp_path / "fathom.db")
    old.executescript(
        """
        CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY, status VARCHAR(16) NOT NULL, mode VARCHAR(16) NOT NULL,
                           created_at FLOAT NOT NULL, heartbeat_at FLOAT NOT NULL, record TEXT NOT NULL);
        CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id VARCHAR(32) NOT NULL, seq INTEGER NOT NULL,
                             type VARCHAR(32) NOT NULL, data TEXT NOT NULL, created_at FLOAT NOT NULL);
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        """
    )
    record = {"id": "old1", "status": "succeeded", "question": "from version 1", "mode": "search", "answer": "y",
              "created_ts": 1.0}  # fmt: skip
    old.execute("INSERT INTO runs VALUES ('old1', 'succeeded', 'search', 1.0, 1.0, ?)", (json.dumps(record),))
    old.commit()
    old.close()
    client, _, _ = stack(["\\boxed{x}"], api_keys_file=str(keys))
    assert client.post(
        "/v1/research", params={"wait": "true"}, json={"question": "new"}, headers=_bearer(BOB)
    ).is_success
    listed = client.get("/v1/research", headers=_bearer(ROOT)).json()["items"]
    assert {(r["question"], r["owner"]) for r in listed} == {("from version 1", None), ("new", "bob")}
    assert client.get("/v1/research/old1", headers=_bearer(BOB)).status_code == 404  # ownerless: admins only
    version = sqlite3.connect(tmp_path / "fathom.db").execute("SELECT version FROM schema_version").fetchone()
    assert version == (2,)
