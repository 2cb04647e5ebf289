"""GET /v1/research/{id}/events: Server-Sent Events replayed from the database (ids are the event sequence, so a
client reconnecting with Last-Event-ID gets exactly what it missed), then followed live until the run ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse

from fathom_runtime.orchestrator.auth import Caller
from fathom_runtime.orchestrator.jobs import store
from fathom_runtime.orchestrator.jobs.runner import RunManager
from fathom_runtime.orchestrator.routes.research import not_found, visible_run

router = APIRouter(tags=["research"])
POLL_SECONDS = 1.0  # runs owned by another replica are followed by polling
KEEPALIVE_SECONDS = 15.0


def format_event(seq: int, type_: str, data: object) -> str:
    return f"id: {seq}\nevent: {type_}\ndata: {json.dumps(data)}\n\n"


async def follow(runs: RunManager, run_id: str, after: int) -> AsyncIterator[str]:
    idle = 0.0
    while True:
        signal = runs.signal(run_id)
        batch = await store.events_after(engine=runs.engine, run_id=run_id, after=after)
        for event in batch:
            after = event["seq"]
            yield format_event(event["seq"], event["type"], event["data"])
            if event["type"] == "done":
                return
        if batch:
            idle = 0.0
            continue
        if not runs.is_local(run_id):
            record = await store.get_run(engine=runs.engine, run_id=run_id)
            if (
                record is None
                or record["status"] in store.FINISHED
                and not await store.events_after(engine=runs.engine, run_id=run_id, after=after)
            ):
                return
        try:
            await asyncio.wait_for(signal.wait(), timeout=POLL_SECONDS)
        except TimeoutError:
            idle += POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keep-alive\n\n"


@router.get("/v1/research/{run_id}/events", response_model=None)
async def events(
    request: Request,
    run_id: str,
    caller: Caller,
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse | JSONResponse:
    runs: RunManager = request.app.state.runs
    if await visible_run(request, run_id, caller) is None:
        return not_found(run_id)
    # Event ids are sequence numbers: anything else (or absurdly long) replays from the start.
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() and len(last_event_id) <= 18 else 0
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(follow(runs, run_id, after), media_type="text/event-stream", headers=headers)
