"""The model client against httpx.MockTransport: both wire shapes, usage from the server, retries only where they
help, and streaming."""

from __future__ import annotations

import json

import httpx
import pytest

from fathom_runtime.llm.client import Completion, ModelClient, ModelError, Sampling

SAMPLING = Sampling(max_new_tokens=64, temperature=0.6, repetition_penalty=1.05)


def _client(handler, api="generate"):  # type: ignore[no-untyped-def]
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ModelClient(http, "http://model", api=api, model="Fathom-Search-4B", backoff=0.0)


async def test_generate_wire_shape_and_server_usage() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(path=request.url.path, body=json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "text": "hi",
                "meta_info": {"prompt_tokens": 7, "completion_tokens": 2, "finish_reason": {"type": "stop"}},
            },
        )

    result = await _client(handler).complete("PROMPT", SAMPLING)
    assert result == Completion("hi", 7, 2, "stop")
    assert seen == {
        "path": "/generate",
        "body": {
            "text": "PROMPT",
            "stream": False,
            "sampling_params": {"max_new_tokens": 64, "temperature": 0.6, "repetition_penalty": 1.05},
        },
    }


async def test_completions_wire_shape() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.url.path == "/v1/completions" and body["prompt"] == "P" and body["model"] == "Fathom-Search-4B"
        assert body["max_tokens"] == 64 and body["repeat_penalty"] == 1.05
        return httpx.Response(
            200,
            json={
                "choices": [{"text": "ok", "finish_reason": "length"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 64},
            },
        )

    assert await _client(handler, "completions").complete("P", SAMPLING) == Completion("ok", 3, 64, "length")


async def test_retries_on_5xx_and_connection_errors_only() -> None:
    attempts = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused")
        if len(attempts) == 2:
            return httpx.Response(503)
        return httpx.Response(200, json={"text": "x", "meta_info": {}})

    assert (await _client(flaky).complete("P", SAMPLING)).text == "x" and len(attempts) == 3
    attempts.clear()

    def refused(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(400, text="context too long")

    with pytest.raises(ModelError, match="HTTP 400 context too long"):
        await _client(refused).complete("P", SAMPLING)
    assert len(attempts) == 1


async def test_streaming_yields_deltas_then_the_completion() -> None:
    events = [
        {"text": "He", "meta_info": {"prompt_tokens": 5, "completion_tokens": 1}},
        {"text": "Hello", "meta_info": {"prompt_tokens": 5, "completion_tokens": 2}},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    parts = [part async for part in _client(handler).stream("P", SAMPLING)]
    assert parts == ["He", "llo", Completion("Hello", 5, 2, "")]
