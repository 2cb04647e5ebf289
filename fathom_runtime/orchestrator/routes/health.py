"""GET /healthz (the process serves), /readyz (the database answers; model and tool servers reported), /metrics."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from fathom_runtime.orchestrator.jobs.store import StoreError, transaction

router = APIRouter(tags=["health"])


# Liveness fails once the store has refused writes this long: a restart is the remedy a kubelet can apply.
WRITE_STALL_SECONDS = 60


@router.get("/healthz", response_model=None)
async def healthz(request: Request) -> JSONResponse:
    stalled = request.app.state.runs.journal.write_stalled_for()
    if stalled > WRITE_STALL_SECONDS:
        body = {"status": "unhealthy", "reason": f"the database has refused writes for {stalled:.0f}s"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok"})


async def _probe(client: httpx.AsyncClient, url: str) -> str:
    try:
        response = await client.get(url, timeout=2.0)
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok" if response.status_code < 500 else f"HTTP {response.status_code}"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    ready = True
    try:
        async with transaction(state.runs.engine) as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except StoreError as exc:
        checks["database"], ready = str(exc), False
    stalled = state.runs.journal.write_stalled_for()
    if stalled > 0:  # reads work but writes fail (a full disk): no new runs should come here
        checks["database"], ready = f"writes failing for {stalled:.0f}s", False
    s = state.settings
    targets = {"search_model": f"{s.search_model_url}/health", "synthesizer_model": f"{s.synthesizer_model_url}/health"}
    targets |= {f"toolserver[{i}]": f"{url}/healthz" for i, url in enumerate(s.toolserver_urls)}
    results = await asyncio.gather(*(_probe(state.http, url) for url in targets.values()))
    checks |= dict(zip(targets, results, strict=True))
    checks["queue_depth"] = str(state.runs.queue_depth)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
