"""POST /v1/tools/<name> for every tool declared in protocol/tools.py; the request body is the tool's argument
model and the reply its ToolResponse."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request

from fathom_runtime.protocol.tools import TOOLS, Tool, ToolArguments, ToolResponse
from fathom_runtime.toolserver.service import Tools, translate

router = APIRouter(prefix="/v1/tools", tags=["tools"])


async def run_tool(
    request: Request, tool: Tool, arguments: ToolArguments, *, timeout: float | None = None
) -> ToolResponse:
    """Runs one tool under the call deadline (the server's, or a shorter one the caller asks for), with metrics;
    raises ToolError on failure."""
    tools: Tools = request.app.state.tools
    started = time.perf_counter()
    outcome = "ok"
    limit = request.app.state.settings.timeout_seconds
    try:
        async with asyncio.timeout(min(limit, timeout) if timeout else limit):
            result = await tools.run(tool.name, arguments)
    except Exception as exc:
        error = translate(exc)
        outcome = error.kind
        raise error from exc
    finally:
        elapsed = time.perf_counter() - started
        tools.metrics.requests.labels(tool.name, outcome).inc()
        tools.metrics.latency.labels(tool.name).observe(elapsed)
    result.seconds = round(elapsed, 4)
    return result


def _endpoint(tool: Tool) -> Callable[..., Awaitable[ToolResponse]]:
    async def endpoint(body: ToolArguments, request: Request) -> ToolResponse:
        return await run_tool(request, tool, body)

    # FastAPI reads the body model from the signature: give each endpoint its tool's own argument model.
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # read by inspect.signature
        [
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=tool.arguments),
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        ],
        return_annotation=ToolResponse,
    )
    return endpoint


for _tool in TOOLS.values():
    router.add_api_route(
        f"/{_tool.name}",
        _endpoint(_tool),
        methods=["POST"],
        response_model=ToolResponse,
        name=_tool.name,
        summary=_tool.description,
    )
