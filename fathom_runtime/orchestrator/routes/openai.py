"""An OpenAI-compatible facade: GET /v1/models and POST /v1/chat/completions (stream and non-stream) run a research
from the last user message, so any OpenAI SDK or chat UI can use the agent."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from fathom_runtime.common.errors import error_response
from fathom_runtime.orchestrator.auth import Caller, principal
from fathom_runtime.orchestrator.routes.research import manager, start_run
from fathom_runtime.orchestrator.schemas import ChatCompletionRequest, ResearchRequest

router = APIRouter(tags=["openai"], dependencies=[Depends(principal)])
MODES = {"fathom-search": "search", "fathom-deepresearch": "deepresearch"}


@router.get("/v1/models")
async def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 0, "owned_by": "fathom-stack"} for name in MODES],
    }


def _question(body: ChatCompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            if isinstance(message.content, str):
                return message.content
            if isinstance(message.content, list):
                return " ".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")
    return ""


def _content(record: dict[str, Any]) -> str:
    if record["mode"] == "deepresearch" and record.get("report"):
        return str(record["report"])
    if record.get("answer"):
        return str(record["answer"])
    return f"No answer was found ({record.get('stop_reason') or 'no reason recorded'})."


def _usage(record: dict[str, Any]) -> dict[str, int]:
    prompt = sum(u["prompt_tokens"] for u in record["usage"].values())
    completion = sum(u["completion_tokens"] for u in record["usage"].values())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    request: Request, body: ChatCompletionRequest, caller: Caller
) -> JSONResponse | StreamingResponse:
    mode = MODES.get(body.model)
    if mode is None:
        return error_response(404, "model_not_found", f"model {body.model!r} does not exist; use one of {list(MODES)}")
    question = _question(body)
    if not question.strip():
        return error_response(422, "invalid_request", "messages: no user message with text")
    started = await start_run(request, ResearchRequest(question=question, mode=mode), caller)
    if isinstance(started, JSONResponse):
        return started
    run_id, created = started["id"], int(time.time())
    base = {"id": f"chatcmpl-{run_id}", "created": created, "model": body.model}
    wait_for = float(started["deadline_seconds"]) + 30
    if not body.stream:
        record = await manager(request).wait(run_id, timeout=wait_for)
        if record is None or record["status"] != "succeeded":
            error = (record or {}).get("error") or {"code": "unfinished", "message": "the run did not finish"}
            return error_response(502, str(error.get("code")), str(error.get("message")), research_id=run_id)
        message = {"role": "assistant", "content": _content(record)}
        return JSONResponse(
            base
            | {
                "object": "chat.completion",
                "usage": _usage(record),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        )

    async def chunks() -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            payload = base | {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        record = await manager(request).wait(run_id, timeout=wait_for)
        if record is None or record["status"] != "succeeded":
            error = (record or {}).get("error") or {"code": "unfinished", "message": "the run did not finish"}
            yield f"data: {json.dumps({'error': error | {'research_id': run_id}})}\n\n"
        else:
            yield chunk({"content": _content(record)})
            yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")
