"""Instant stand-ins for the benchmark: a model server (SGLang /generate) that calls `search_urls` until a run has
had TURNS turns and then answers, and a tool server that answers at once. One process, both on one port.

    .venv/bin/python -m bench.fakes --port 18950 --turns 4
"""

from __future__ import annotations

import argparse
import json
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

RESPONSE_MARK = "</tool_response>\n<|im_end|>"


def build(turns: int) -> FastAPI:
    app = FastAPI()

    @app.post("/generate")
    async def generate(request: Request) -> JSONResponse:
        body = await request.json()
        prompt: str = body["text"]
        done = prompt.count(RESPONSE_MARK)
        call = json.dumps({"name": "search_urls", "arguments": {"query": f"q{done}"}})
        text = (
            f"<think>need more</think>\n<tool_call>\n{call}\n</tool_call>"
            if done < turns - 1
            else ("<think>enough</think>\n\\boxed{42}")
        )
        meta = {
            "prompt_tokens": len(prompt) // 4,
            "completion_tokens": len(text) // 4,
            "finish_reason": {"type": "stop"},
        }
        return JSONResponse({"text": text, "meta_info": meta})

    @app.post("/v1/tools/{tool}")
    async def tool(tool: str) -> JSONResponse:
        hits = [{"title": "T", "url": "https://example.org/a", "snippet": "s"}]
        return JSONResponse({"result": "### 1. T\n**URL**: https://example.org/a\n\n**Snippet**: s\n", "hits": hits})

    @app.get("/health")
    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    uvicorn.run(build(args.turns), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
