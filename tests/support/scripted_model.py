"""A scripted model server speaking SGLang's /generate, the OpenAI-compatible /v1/completions (plain and streaming)
and /v1/chat/completions, replying from a script and recording every prompt it received. Stands in for GPU model
servers, in-process in tests and as the `sglang.launch_server` of the stub image that runs as a real pod
(tests/images/sglang-stub). Needs only fastapi."""

from __future__ import annotations

import asyncio
import json
import re
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


_URL = re.compile(r"\*\*URL\*\*: (\S+)")


def by_round(replies: list[str]) -> Script:
    """A search-agent script: reply N goes to the prompt holding N tool-response turns, with `{url}` replaced by the
    first URL of the latest search result (so a stub can read what a real search found)."""

    def script(prompt: str, index: int) -> str:
        rounds = prompt.count("</tool_response>\n<|im_end|>")
        latest = prompt.rsplit("<|im_start|>user", 1)[-1]
        found = _URL.search(latest)
        return replies[min(rounds, len(replies) - 1)].replace("{url}", found.group(1) if found else "")

    return script


class ScriptedModel:
    """`script(prompt, call_index)` decides each reply; `prompts` lists what was asked. Chat completions answer
    `chat_reply`."""

    def __init__(self, script: Script | list[Reply | str], chat_reply: str = "") -> None:
        self._script = script
        self._chat_reply = chat_reply
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

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.requests.append(body)
            usage = {"prompt_tokens": tokens(json.dumps(body["messages"])), "completion_tokens": 1}
            message = {"role": "assistant", "content": self._chat_reply}
            return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": "scripted", "object": "model"}]}

        return app


def tool_call(name: str, **arguments: Any) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"
