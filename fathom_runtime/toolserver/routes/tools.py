"""POST /v1/tools/{search_urls,query_url,web_search,web_visit}."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request

from fathom_runtime.toolserver.schemas import (
    QueryUrlRequest,
    SearchUrlsRequest,
    ToolResponse,
    WebSearchRequest,
    WebVisitRequest,
)
from fathom_runtime.toolserver.service import ToolResult, Tools, translate

router = APIRouter(prefix="/v1/tools", tags=["tools"])


async def run_tool(
    request: Request, tool: str, call: Callable[[Tools], Awaitable[ToolResult]], *, timeout: float | None = None
) -> ToolResult:
    """Runs one tool under the call deadline (the server's, or a shorter one the caller asks for), with metrics;
    raises ToolError on failure."""
    tools: Tools = request.app.state.tools
    started = time.perf_counter()
    outcome = "ok"
    limit = request.app.state.settings.timeout_seconds
    try:
        async with asyncio.timeout(min(limit, timeout) if timeout else limit):
            result = await call(tools)
    except Exception as exc:
        error = translate(exc)
        outcome = error.kind
        raise error from exc
    finally:
        elapsed = time.perf_counter() - started
        tools.metrics.requests.labels(tool, outcome).inc()
        tools.metrics.latency.labels(tool).observe(elapsed)
    result.seconds = round(elapsed, 4)
    return result


@router.post("/search_urls", response_model=ToolResponse)
async def search_urls(body: SearchUrlsRequest, request: Request) -> ToolResult:
    return await run_tool(request, "search_urls", lambda t: t.search_urls(body.query, body.top_k))


@router.post("/query_url", response_model=ToolResponse)
async def query_url(body: QueryUrlRequest, request: Request) -> ToolResult:
    return await run_tool(request, "query_url", lambda t: t.query_url(body.url, body.goal))


@router.post("/web_search", response_model=ToolResponse)
async def web_search(body: WebSearchRequest, request: Request) -> ToolResult:
    return await run_tool(request, "web_search", lambda t: t.web_search(body.query))


@router.post("/web_visit", response_model=ToolResponse)
async def web_visit(body: WebVisitRequest, request: Request) -> ToolResult:
    return await run_tool(request, "web_visit", lambda t: t.web_visit(body.url))
