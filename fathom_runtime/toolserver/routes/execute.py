"""POST /execute: the reference executor's shape, so existing Fathom evaluation scripts work. The call string is
parsed (calls.py) and mapped to the typed tools; it is never executed."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from fathom_runtime.toolserver.calls import CallRejected, parse_call
from fathom_runtime.toolserver.routes.tools import run_tool
from fathom_runtime.toolserver.schemas import ExecuteRequest, ExecuteResponse
from fathom_runtime.toolserver.service import ToolError

logger = logging.getLogger(__name__)
router = APIRouter(tags=["compatibility"])


@router.post("/execute", response_model=ExecuteResponse)
async def execute(body: ExecuteRequest, request: Request) -> ExecuteResponse:
    try:
        tool, arguments = parse_call(body.call)
    except CallRejected as exc:
        logger.warning("refused /execute call: %s", exc, extra={"tool": "execute"})
        return ExecuteResponse(result=None, error=f"refused: {exc}")
    try:
        result = await run_tool(request, tool, arguments, timeout=body.timeout)
    except ToolError as exc:
        return ExecuteResponse(result=None, error=str(exc))
    return ExecuteResponse(result=result.result)
