"""create_app(settings): the orchestrator. Its lifespan opens the database (migrating the schema), the HTTP client
shared by model and tool calls, and the run manager (recovering runs a crash left behind); nothing at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response

from fathom_runtime.common.errors import error_response, install_error_handlers
from fathom_runtime.common.server import BodyLimit
from fathom_runtime.llm.client import Api, ModelClient
from fathom_runtime.orchestrator import auth
from fathom_runtime.orchestrator.agent.toolpool import ToolPool
from fathom_runtime.orchestrator.jobs import store
from fathom_runtime.orchestrator.jobs.runner import RunManager
from fathom_runtime.orchestrator.metrics import RunMetrics
from fathom_runtime.orchestrator.routes import events, health, openai, research
from fathom_runtime.orchestrator.settings import OrchestratorSettings

logger = logging.getLogger(__name__)


def model_client(
    http: httpx.AsyncClient, settings: OrchestratorSettings, url: str, name: str, api: Api | None
) -> ModelClient:
    return ModelClient(
        http,
        url,
        api=api or settings.model_api,
        model=name,
        timeout=settings.model_timeout_seconds,
        backoff=settings.model_retry_backoff_seconds,
    )


def create_app(settings: OrchestratorSettings) -> FastAPI:
    # Read before anything starts: an unusable key file stops the orchestrator rather than opening the API.
    keys = auth.KeyRing(Path(settings.api_keys_file) if settings.api_keys_file else None)
    if keys.open:
        logger.warning("no API key file configured: the research API accepts every request (FATHOM_API_KEYS_FILE)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("orchestrator settings: %s", settings.masked(), extra={"component": "orchestrator"})
        # One client per upstream: httpcore scans its whole pool on every request, so pools stay small and separate.
        limits = httpx.Limits(max_connections=max(100, settings.max_concurrent_runs), max_keepalive_connections=64)
        timeout = httpx.Timeout(settings.model_timeout_seconds, connect=10.0)
        http, model_http, tool_http = (httpx.AsyncClient(limits=limits, timeout=timeout) for _ in range(3))
        engine = store.make_engine(settings.database_url)
        metrics = RunMetrics()
        runs = RunManager(
            engine=engine,
            settings=settings,
            search_model=model_client(
                model_http, settings, settings.search_model_url, settings.search_model_name, settings.search_model_api
            ),
            synthesizer=model_client(
                http,
                settings,
                settings.synthesizer_model_url,
                settings.synthesizer_model_name,
                settings.synthesizer_model_api,
            ),
            tools=ToolPool(
                tool_http,
                settings.toolserver_urls,
                concurrency=settings.tool_concurrency,
                timeout=settings.tool_timeout_seconds,
            ),
            metrics=metrics,
        )
        app.state.settings, app.state.http, app.state.metrics, app.state.runs = settings, http, metrics, runs
        app.state.keys = keys
        await runs.start()
        try:
            yield
        finally:
            await runs.stop()
            for client in (http, model_http, tool_http):
                await client.aclose()
            await engine.dispose()

    app = FastAPI(title="Fathom research API", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)

    async def on_store_error(_: Request, exc: store.StoreError) -> Response:
        logger.error("store unavailable: %s", exc)
        response = error_response(503, "store_unavailable", "the database is unavailable or busy; try again")
        response.headers["Retry-After"] = "5"
        return response

    app.add_exception_handler(store.StoreError, on_store_error)  # type: ignore[arg-type]  # Starlette's handler type is loose

    async def on_unauthorized(_: Request, __: auth.Unauthorized) -> Response:
        response = error_response(401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    app.add_exception_handler(auth.Unauthorized, on_unauthorized)  # type: ignore[arg-type]

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    for router in (research.router, events.router, openai.router, health.router):
        app.include_router(router)
    return app
