"""The agent loop through the research API, against a scripted model server and a fake tool server: the exact
prompt structure, concurrent rounds, malformed calls, failures, budgets, deadline and cancellation."""

from __future__ import annotations

import ast
import json
import time

from tests.integration.orchestrator.conftest import Factory, FakeTools
from tests.support.scripted_model import Reply, tool_call

QUESTION = "What is the capital of France?"


def _research(client, **body):  # type: ignore[no-untyped-def]
    response = client.post("/v1/research", params={"wait": "true"}, json={"question": QUESTION} | body)
    assert response.status_code == 200, response.text
    return response.json()


def test_first_prompt_has_the_exact_protocol_structure(stack: Factory) -> None:
    client, model, _ = stack(["<think>I know this.</think>\n\\boxed{Paris}"])
    record = _research(client)
    assert (record["status"], record["answer"], record["turns"]) == ("succeeded", "Paris", 1)
    prompt = model.prompts[0]
    assert prompt.startswith("<|im_start|>system\n")
    system, rest = prompt.removeprefix("<|im_start|>system\n").split("<|im_end|>\n", 1)
    assert rest == f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n<think>"
    tools = ast.literal_eval(system.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert [t["name"] for t in tools] == ["search_urls", "query_url"]
    assert "<tool_call>" in system and "\\boxed{" in system and "<think>" in system
    sampling = model.requests[0]["sampling_params"]
    assert (sampling["temperature"], sampling["repetition_penalty"]) == (0.6, 1.05)
    assert 40960 - len(prompt) // 2 < sampling["max_new_tokens"] < 40960 - 100


def test_a_round_runs_its_calls_concurrently_and_answers_in_call_order(stack: Factory) -> None:
    calls = "\n".join([
        tool_call("query_url", url="https://a.example/1", goal="g1"),
        tool_call("search_urls", query="paris capital"),
        tool_call("query_url", url="https://b.example/2", goal="g2"),
    ])  # fmt: skip
    tools = FakeTools(delays={"query_url": 1.0, "search_urls": 1.0})
    client, model, _ = stack([f"<think>look up</think>\n{calls}", "\\boxed{Paris}"], tools=tools)
    started = time.monotonic()
    record = _research(client)
    assert time.monotonic() - started < 2.5  # three 1-second calls, together
    assert record["status"] == "succeeded" and len(record["tool_calls"]) == 3
    second = model.prompts[1]
    tail = second[len(model.prompts[0]) :]
    assert tail.startswith("<think>look up</think>\n" + calls + "<|im_end|>\n<|im_start|>user\n<tool_response>")
    blocks = tail.split("<tool_response>")[1:]
    expected = [
        json.dumps({"name": "query_url", "arguments": {"url": "https://a.example/1", "goal": "g1"}}),
        json.dumps({"name": "search_urls", "arguments": {"query": "paris capital"}}),
        json.dumps({"name": "query_url", "arguments": {"url": "https://b.example/2", "goal": "g2"}}),
    ]
    assert [b.split("\n", 1)[0] for b in blocks] == expected
    assert "https://a.example/1" in blocks[0] and "### 1. Result 0" in blocks[1]
    assert tail.endswith("</tool_response>\n<|im_end|>\n<|im_start|>assistant\n<think>")
    starts = sorted(t for _, _, t in tools.calls)
    assert starts[-1] - starts[0] < 0.5


def test_malformed_calls_become_errors_the_model_reads(stack: Factory) -> None:
    bad = '<tool_call>{"name": "search_urls", "arguments": {"query": }</tool_call>\n' \
          '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>\n' \
          '<tool_call>{"name": "query_url", "arguments": {"url": "https://x.example"}}</tool_call>'  # fmt: skip
    unbalanced = '<tool_call>{"name": "search_urls", "arguments": {"query": "x"}}'
    client, model, tools = stack([bad, unbalanced, "\\boxed{done}"])
    record = _research(client)
    assert record["status"] == "succeeded" and record["answer"] == "done" and record["turns"] == 3
    second, third = model.prompts[1], model.prompts[2]
    assert second[len(model.prompts[0]) :].count("<tool_response>") == 3
    assert "\nerror: \nthe tool call is not valid JSON" in second
    assert "\nerror: \nunknown function 'delete_everything'" in second
    assert "\nerror: \nquery_url needs a non-empty string argument 'goal'" in second
    assert "\nerror: \nunbalanced or out-of-order <tool_call> tags" in third
    assert tools.calls == []


def test_tool_failures_and_timeouts_are_observations(stack: Factory) -> None:
    calls = tool_call("query_url", url="https://slow.example", goal="g") + tool_call("search_urls", query="q")
    tools = FakeTools(delays={"query_url": 5}, fail={"search_urls": "search backend down"})
    client, model, _ = stack([calls, "\\boxed{ok}"], tools=tools, tool_timeout_seconds=1)
    started = time.monotonic()
    record = _research(client)
    assert time.monotonic() - started < 4
    assert record["status"] == "succeeded"
    assert "\nerror: \nquery_url timed out after 1s\n</tool_response>" in model.prompts[1]
    assert "\nerror: \nsearch backend down\n</tool_response>" in model.prompts[1]
    assert [c["ok"] for c in record["tool_calls"]] == [False, False]


def test_failover_to_another_tool_server(stack: Factory) -> None:
    client, model, tools = stack([tool_call("search_urls", query="q"), "\\boxed{ok}"],
                                 toolserver_urls=["http://127.0.0.1:9"])  # fmt: skip
    # The pool starts with the dead replica: its calls must move on to the live one.
    client2, model2, tools2 = stack([tool_call("search_urls", query="q"), "\\boxed{ok}"],
                                    toolserver_urls=["http://127.0.0.1:9", client.tools_url])  # type: ignore[attr-defined]  # fmt: skip
    record = _research(client2)
    assert record["tool_calls"][0]["ok"] is True and "### 1. Result 0" in model2.prompts[1]
    dead_only = _research(client)
    assert dead_only["tool_calls"][0]["ok"] is False
    assert "no tool server could run the call" in model.prompts[1]


def test_transient_model_errors_are_retried_and_persistent_ones_fail_clearly(stack: Factory) -> None:
    client, model, _ = stack([Reply(status=500), Reply(status=503), "\\boxed{Paris}"])
    assert _research(client)["answer"] == "Paris" and len(model.prompts) == 3
    client, _, _ = stack([Reply(status=500)])
    record = _research(client)
    assert record["status"] == "failed" and record["error"]["code"] == "model_error"
    assert "failed after 4 attempts: HTTP 500" in record["error"]["message"]
    client, _, _ = stack([Reply(status=400)])
    assert "refused the request: HTTP 400" in _research(client)["error"]["message"]


def test_context_budget_ends_the_run_without_an_answer(stack: Factory) -> None:
    big = "x" * 6000
    client, _, _ = stack([f"<think>{big}</think>" + tool_call("search_urls", query="q")] * 10, max_context_tokens=4096)
    record = _research(client)
    assert record["status"] == "succeeded" and record["answer"] is None
    assert record["stop_reason"].startswith("context budget exhausted")


def test_turn_limit(stack: Factory) -> None:
    client, _, _ = stack([tool_call("search_urls", query="again")])
    record = _research(client, max_turns=3)
    assert (record["turns"], record["answer"]) == (3, None)
    assert record["stop_reason"] == "reached the limit of 3 turns"


def test_deadline_stops_a_slow_run(stack: Factory) -> None:
    client, _, _ = stack([Reply("\\boxed{late}", delay=10)])
    started = time.monotonic()
    record = _research(client, deadline_seconds=2)
    assert time.monotonic() - started < 5
    assert record["status"] == "failed" and record["error"]["code"] == "deadline_exceeded"


def test_cancellation_is_prompt_idempotent_and_keeps_the_partial_trace(stack: Factory) -> None:
    client, model, tools = stack([tool_call("search_urls", query="q"), Reply("\\boxed{never}", delay=30)])
    run_id = client.post("/v1/research", json={"question": QUESTION}).json()["id"]
    deadline = time.monotonic() + 10
    while len(model.prompts) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    first = client.delete(f"/v1/research/{run_id}")
    assert time.monotonic() - started < 2
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    record = client.get(f"/v1/research/{run_id}").json()
    assert record["status"] == "cancelled" and record["turns"] == 1
    assert "<tool_response>" in record["trace"] and len(record["tool_calls"]) == 1
    assert client.delete(f"/v1/research/{run_id}").json()["status"] == "cancelled"
