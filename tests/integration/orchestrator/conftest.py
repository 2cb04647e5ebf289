"""Fixtures for orchestrator tests: scripted model servers, a fake tool server speaking the tool API (with
controllable delays and failures), and the orchestrator itself under uvicorn with its own SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fathom_runtime.orchestrator.app import create_app
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from tests.support.scripted_model import Reply, ScriptedModel
from tests.support.services import ServedApp


@dataclass
class FakeTools:
    """Answers /v1/tools/* like the tool server. `delays[tool]` sleeps; `fail[tool]` answers a tool error;
    `texts[(tool, first argument)]` replaces the generated result text."""

    delays: dict[str, float] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/tools/{tool}", response_model=None)
        async def tool(tool: str, request: Request) -> JSONResponse:
            args = await request.json()
            started = asyncio.get_running_loop().time()
            self.calls.append((tool, args, started))
            await asyncio.sleep(self.delays.get(tool, 0))
            if tool in self.fail:
                return JSONResponse({"error": {"type": "fetch_failed", "message": self.fail[tool]}}, status_code=502)
            scripted = self.texts.get((tool, str(next(iter(args.values()), ""))))
            if scripted is not None:
                return JSONResponse({"result": scripted, "source": "fake"})
            if tool == "search_urls":
                hits = [
                    {"title": f"Result {i}", "url": f"https://seen.example/{i}", "snippet": f"about {args['query']}"}
                    for i in range(2)
                ]
                text = "\n---\n\n".join(
                    f"### {i + 1}. {h['title']}\n**URL**: {h['url']}\n\n**Snippet**: {h['snippet']}\n"
                    for i, h in enumerate(hits)
                )
                return JSONResponse({"result": text, "hits": hits, "source": "fake"})
            return JSONResponse(
                {
                    "result": f"The useful information in {args['url']} for goal “{args['goal']}”: page says 42.",
                    "source": "fake",
                }
            )

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        return app


Factory = Callable[..., Any]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Factory]:
    """`stack(search_script, synth_script=None, tools=FakeTools(), **settings)` → (client, search model, tools)."""
    with ExitStack() as exits:

        def start(
            search: Any,
            synthesizer: Any = None,
            tools: FakeTools | None = None,
            *,
            toolserver_urls: list[str] | None = None,
            **overrides: Any,
        ) -> tuple[httpx.Client, ScriptedModel, FakeTools]:
            search_model = ScriptedModel(search)
            synth_model = ScriptedModel(synthesizer or [Reply("<think>no plan</think>no report")])
            tools = tools or FakeTools()
            search_url = exits.enter_context(ServedApp(search_model.app())).url
            synth_url = exits.enter_context(ServedApp(synth_model.app())).url
            tools_url = exits.enter_context(ServedApp(tools.app())).url
            settings = OrchestratorSettings.model_validate(
                {
                    "search_model_url": search_url,
                    "synthesizer_model_url": synth_url,
                    "toolserver_urls": toolserver_urls or [tools_url],
                    "database_url": f"sqlite+aiosqlite:///{tmp_path}/fathom.db",
                    "heartbeat_seconds": 1,
                }
                | overrides
            )
            served = exits.enter_context(ServedApp(create_app(settings)))
            client = exits.enter_context(httpx.Client(base_url=served.url, timeout=60))
            client.synth = synth_model  # type: ignore[attr-defined]
            client.tools_url = tools_url  # type: ignore[attr-defined]
            return client, search_model, tools

        yield start
