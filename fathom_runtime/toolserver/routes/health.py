"""GET /healthz (the process serves), /readyz (its dependencies answer), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fathom_runtime.toolserver.cache.base import CacheError
from fathom_runtime.toolserver.search.base import SearchError
from fathom_runtime.toolserver.service import Tools

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    tools: Tools = request.app.state.tools
    checks: dict[str, str] = {}
    ready = True
    try:
        await tools.cache.ping()
        checks["cache"] = "ok"
    except CacheError as exc:
        checks["cache"], ready = str(exc), False
    try:
        await tools.search_backend.check_ready()
        checks["search"] = f"ok ({tools.search_backend.name})"
    except SearchError as exc:
        checks["search"], ready = str(exc), False
    checks["fetchers"] = ", ".join(tools.chain.available())
    checks["browser"] = request.app.state.browser_status
    checks["query_llm"] = f"ok ({tools.extractor.model})" if tools.extractor else "not configured (passage ranking)"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.tools.metrics.registry), media_type=CONTENT_TYPE_LATEST)
