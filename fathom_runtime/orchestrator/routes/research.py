"""POST/GET /v1/research, GET/DELETE /v1/research/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from fathom_runtime.common.errors import error_response
from fathom_runtime.orchestrator.auth import Caller, Principal
from fathom_runtime.orchestrator.jobs import store
from fathom_runtime.orchestrator.jobs.runner import Overloaded, RunManager
from fathom_runtime.orchestrator.schemas import ResearchRequest, public, summary

router = APIRouter(prefix="/v1/research", tags=["research"])


def manager(request: Request) -> RunManager:
    runs: RunManager = request.app.state.runs
    return runs


def not_found(run_id: str) -> JSONResponse:
    # Another key's run is "not found" too: its existence is not ours to reveal.
    return error_response(404, "not_found", f"no research run {run_id}")


async def visible_run(request: Request, run_id: str, caller: Principal) -> dict[str, Any] | None:
    record = await store.get_run(engine=manager(request).engine, run_id=run_id)
    return record if record is not None and caller.may_see(record.get("owner")) else None


async def start_run(request: Request, body: ResearchRequest, caller: Principal) -> dict[str, Any] | JSONResponse:
    """Validates limits and submits; a JSON error response when it cannot."""
    settings = request.app.state.settings
    if len(body.question) > settings.max_question_chars:
        return error_response(422, "question_too_long", f"question: at most {settings.max_question_chars} characters")
    if body.deadline_seconds and body.deadline_seconds > settings.max_deadline_seconds:
        return error_response(422, "invalid_request", f"deadline_seconds: at most {settings.max_deadline_seconds}")
    try:
        return await manager(request).submit(
            body.question, body.mode, body.max_turns, body.deadline_seconds, owner=caller.name
        )
    except Overloaded as exc:
        response = error_response(429, "overloaded", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


@router.post("", status_code=202, response_model=None)
async def create(request: Request, body: ResearchRequest, caller: Caller, wait: bool = False) -> JSONResponse:
    started = await start_run(request, body, caller)
    if isinstance(started, JSONResponse):
        return started
    run_id = started["id"]
    if wait:
        record = await manager(request).wait(run_id, timeout=float(started["deadline_seconds"]) + 30)
        return JSONResponse(public(record or started), status_code=200)
    body_out = summary(started) | {
        "links": {"self": f"/v1/research/{run_id}", "events": f"/v1/research/{run_id}/events"}
    }
    return JSONResponse(body_out, status_code=202, headers={"Location": f"/v1/research/{run_id}"})


@router.get("", response_model=None)
async def list_runs(
    request: Request,
    caller: Caller,
    status: str | None = Query(default=None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
    limit: int = Query(default=20, ge=1, le=200),
    cursor: float | None = Query(default=None, description="next_cursor of the previous page"),
) -> dict[str, Any]:
    owner = None if caller.admin else caller.name
    records = await store.list_runs(
        engine=manager(request).engine, status=status, limit=limit, before=cursor, owner=owner
    )
    next_cursor = records[-1]["created_ts"] if len(records) == limit else None
    return {"items": [summary(r) for r in records], "next_cursor": next_cursor}


@router.get("/{run_id}", response_model=None)
async def get(request: Request, run_id: str, caller: Caller) -> dict[str, Any] | JSONResponse:
    record = await visible_run(request, run_id, caller)
    return not_found(run_id) if record is None else public(record)


@router.delete("/{run_id}", response_model=None)
async def cancel(request: Request, run_id: str, caller: Caller) -> dict[str, Any] | JSONResponse:
    if await visible_run(request, run_id, caller) is None:
        return not_found(run_id)
    record = await manager(request).cancel(run_id)
    return not_found(run_id) if record is None else public(record)
