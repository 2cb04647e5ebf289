"""A scripted model server speaking SGLang's /generate and the OpenAI-compatible /v1/completions (plain and
streaming), replying from a script and recording every prompt it received. Stands in for GPU model servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


@dataclass(frozen=True)
class Reply:
    text: str = ""
    delay: float = 0.0
    status: int = 200


Script = Callable[[str, int], Reply | str]


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedModel:
    """`script(prompt, call_index)` decides each reply; `prompts` lists what was asked."""

    def __init__(self, script: Script | list[Reply | str]) -> None:
        self._script = script
        self.prompts: list[str] = []
        self.requests: list[dict[str, Any]] = []

    def _reply(self, prompt: str) -> Reply:
        index = len(self.prompts)
        self.prompts.append(prompt)
        if callable(self._script):
            reply = self._script(prompt, index)
        else:
            reply = self._script[min(index, len(self._script) - 1)]
        return reply if isinstance(reply, Reply) else Reply(str(reply))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/health")
        @app.get("/health_generate")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/generate", response_model=None)
        async def generate(request: Request) -> JSONResponse | StreamingResponse:
            body = await request.json()
            self.requests.append(body)
            prompt, reply = body["text"], self._reply(body["text"])
            await asyncio.sleep(reply.delay)
            if reply.status != 200:
                return JSONResponse({"error": "scripted failure"}, status_code=reply.status)
            meta = {
                "prompt_tokens": tokens(prompt),
                "completion_tokens": tokens(reply.text),
                "finish_reason": {"type": "stop"},
            }
            if body.get("stream"):

                async def chunks() -> AsyncIterator[str]:
                    for end in range(0, len(reply.text) + 1, max(1, len(reply.text) // 3 or 1)):
                        yield f"data: {json.dumps({'text': reply.text[:end], 'meta_info': meta})}\n\n"
                    yield f"data: {json.dumps({'text': reply.text, 'meta_info': meta})}\n\n"
                    yield "data: [DONE]\n\n"

                return StreamingResponse(chunks(), media_type="text/event-stream")
            return JSONResponse({"text": reply.text, "meta_info": meta})

        @app.post("/v1/completions", response_model=None)
        async def completions(request: Request) -> JSONResponse | StreamingResponse:
            body = await request.json()
            self.requests.append(body)
            prompt, reply = body["prompt"], self._reply(body["prompt"])
            await asyncio.sleep(reply.delay)
            if reply.status != 200:
                return JSONResponse({"error": {"message": "scripted failure"}}, status_code=reply.status)
            usage = {"prompt_tokens": tokens(prompt), "completion_tokens": tokens(reply.text)}
            if body.get("stream"):

                async def chunks() -> AsyncIterator[str]:
                    for piece in (reply.text[: len(reply.text) // 2], reply.text[len(reply.text) // 2 :]):
                        choice = {"index": 0, "text": piece, "finish_reason": None}
                        yield f"data: {json.dumps({'choices': [choice]})}\n\n"
                    yield f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n"
                    yield "data: [DONE]\n\n"

                return StreamingResponse(chunks(), media_type="text/event-stream")
            return JSONResponse(
                {
                    "id": "cmpl-1",
                    "object": "text_completion",
                    "model": body.get("model", ""),
                    "choices": [{"index": 0, "text": reply.text, "finish_reason": "stop"}],
                    "usage": usage,
                }
            )

        return app


def tool_call(name: str, **arguments: Any) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"
