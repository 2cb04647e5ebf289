"""The research API: synthesis with citation checks, SSE replay, overload, validation, listing, and the
OpenAI-compatible facade driven by the official `openai` SDK."""

from __future__ import annotations

import json

import httpx
import openai

from tests.integration.orchestrator.conftest import Factory
from tests.support.scripted_model import Reply, tool_call

REPORT = """<think>S1: capital. Sources: https://seen.example/0 (high)</think># Paris

**Executive Summary**
- Paris is the capital of France. [https://seen.example/0]
- It hosts 2.1 million people. [https://made-up.example/stats]

**Sources used**
- https://seen.example/0"""


def test_deepresearch_writes_a_report_and_flags_citations_the_agent_never_saw(stack: Factory) -> None:
    client, _, _ = stack([tool_call("search_urls", query="capital of France"), "\\boxed{Paris}"], [Reply(REPORT)])
    record = client.post("/v1/research", params={"wait": "true"},
                         json={"question": "Capital of France?", "mode": "deepresearch"}).json()  # fmt: skip
    assert record["status"] == "succeeded" and record["answer"] == "Paris"
    assert record["plan"] == "S1: capital. Sources: https://seen.example/0 (high)"
    assert record["report"].startswith("# Paris")
    assert record["citations"] == {
        "verified": ["https://seen.example/0"],
        "unverified": ["https://made-up.example/stats"],
    }
    assert "[https://made-up.example/stats] (unverified)" in record["report"]
    assert record["sources"] == ["https://seen.example/0"]
    synth_prompt = client.synth.prompts[0]  # type: ignore[attr-defined]
    assert synth_prompt.startswith("<|im_start|>system\nYou are a research report writer")
    user = synth_prompt.split("<|im_start|>user\n", 1)[1]
    assert user.startswith("You are given a DeepSearch investigation trace.\n\nQuestion:\nCapital of France?\n\n")
    assert "Trace (model transcript):\nUSER:\n\nCapital of France?" in user and "SEARCH RESULT\n" in user
    assert "You are a tireless web researcher" not in user  # the agent's system block is removed
    assert record["usage"]["synthesizer"]["calls"] == 1 and record["usage"]["search"]["calls"] == 2


def _events(client: httpx.Client, run_id: str, last_id: str | None = None) -> list[tuple[int, str, dict]]:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    out = []
    with client.stream("GET", f"/v1/research/{run_id}/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                if block:
                    out.append((int(block["id"]), block["event"], json.loads(block["data"])))
                block = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                block[key] = value
    return out


def test_events_stream_live_and_replay_from_last_event_id(stack: Factory) -> None:
    client, _, _ = stack([Reply(tool_call("search_urls", query="q"), delay=0.3), Reply("\\boxed{42}", delay=0.3)])
    run_id = client.post("/v1/research", json={"question": "q?"}).json()["id"]
    events = _events(client, run_id)
    ids = [seq for seq, _, _ in events]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "done"
    assert {"turn", "tool_call", "tool_result", "answer"} <= set(kinds)
    assert events[-1][2]["status"] == "succeeded" and events[-1][2]["answer"] == "42"
    replay = _events(client, run_id, last_id=str(ids[2]))
    assert replay == events[3:]


def test_overload_answers_429_with_retry_after(stack: Factory) -> None:
    client, _, _ = stack([Reply("\\boxed{x}", delay=3)], max_concurrent_runs=1, max_queued_runs=1)
    assert client.post("/v1/research", json={"question": "one"}).status_code == 202
    assert client.post("/v1/research", json={"question": "two"}).status_code == 202
    third = client.post("/v1/research", json={"question": "three"})
    assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
    assert third.json()["error"]["code"] == "overloaded"


def test_invalid_requests_get_json_errors_with_stable_codes(stack: Factory) -> None:
    client, _, _ = stack(["\\boxed{x}"], max_question_chars=50, max_body_bytes=2048)
    empty = client.post("/v1/research", json={"question": ""})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_request"
    assert empty.json()["error"]["fields"][0]["field"] == "question"
    mode = client.post("/v1/research", json={"question": "q", "mode": "essay"})
    assert mode.status_code == 422 and "mode" in mode.json()["error"]["message"]
    long = client.post("/v1/research", json={"question": "q" * 51})
    assert long.status_code == 422 and long.json()["error"]["code"] == "question_too_long"
    big = client.post("/v1/research", content=json.dumps({"question": "q", "pad": "x" * 5000}),
                      headers={"content-type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    missing = client.get("/v1/research/0123456789abcdef")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_listing_filters_and_pages(stack: Factory) -> None:
    client, _, _ = stack(["\\boxed{x}"])
    ids = [client.post("/v1/research", params={"wait": "true"}, json={"question": f"q{i}"}).json()["id"]
           for i in range(3)]  # fmt: skip
    page = client.get("/v1/research", params={"limit": 2, "status": "succeeded"}).json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = client.get("/v1/research", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert "trace" not in page["items"][0]
    assert client.get("/v1/research", params={"status": "failed"}).json()["items"] == []


def test_openai_sdk_talks_to_the_facade(stack: Factory) -> None:
    client, _, _ = stack(["\\boxed{Paris}"], [Reply("<think>p</think># Report on Paris")])
    sdk = openai.OpenAI(base_url=f"{str(client.base_url).rstrip('/')}/v1", api_key="unused")
    assert {m.id for m in sdk.models.list()} == {"fathom-search", "fathom-deepresearch"}
    answer = sdk.chat.completions.create(model="fathom-search", messages=[{"role": "user", "content": "Capital?"}])
    assert answer.choices[0].message.content == "Paris" and answer.usage.total_tokens > 0
    stream = sdk.chat.completions.create(model="fathom-deepresearch", stream=True,
                                         messages=[{"role": "user", "content": "Report please"}])  # fmt: skip
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "# Report on Paris"
    try:
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    except openai.NotFoundError as exc:
        assert "fathom-search" in str(exc)
    else:
        raise AssertionError("an unknown model must be refused")


def test_metrics_count_runs_tools_and_tokens(stack: Factory) -> None:
    client, _, _ = stack([tool_call("search_urls", query="q"), "\\boxed{x}"])
    client.post("/v1/research", params={"wait": "true"}, json={"question": "q"})
    text = client.get("/metrics").text
    assert 'fathom_research_runs_total{mode="search",outcome="succeeded"} 1.0' in text
    assert 'fathom_tool_calls_total{outcome="ok",tool="search_urls"} 1.0' in text
    assert 'fathom_model_tokens_total{kind="prompt",role="search"}' in text
    assert "fathom_research_queue_depth 0.0" in text
    assert 'fathom_build_info{component="orchestrator",python="' in text
    ready = client.get("/readyz").json()
    assert ready["checks"]["database"] == "ok" and ready["checks"]["toolserver[0]"] == "ok"
