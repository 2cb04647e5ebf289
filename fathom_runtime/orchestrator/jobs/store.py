"""Data access for runs and events: keyword-only async functions that take the engine. SQLite (WAL) by default,
PostgreSQL by DSN. SQLAlchemy errors are translated to StoreError here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from fathom_runtime.orchestrator.jobs.tables import SCHEMA_STEPS, SCHEMA_VERSION, events, runs, schema_version

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")


class StoreError(Exception):
    """The database failed."""


# Every wait is bounded: a connection from the pool, SQLite's write lock. A store that cannot keep up answers
# "unavailable" in seconds instead of piling up requests.
POOL_TIMEOUT_SECONDS = 10
SQLITE_BUSY_SECONDS = 5


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_SECONDS},  # sqlite3's busy timeout
            pool_size=8,
            max_overflow=8,
            pool_timeout=POOL_TIMEOUT_SECONDS,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=20, pool_timeout=POOL_TIMEOUT_SECONDS, pool_pre_ping=True
    )


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    try:
        async with engine.begin() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc


async def migrate(*, engine: AsyncEngine) -> int:
    """Bring the schema to SCHEMA_VERSION, one versioned step at a time; returns the version."""
    async with transaction(engine) as connection:
        await connection.run_sync(lambda sync: schema_version.create(sync, checkfirst=True))
        current = (await connection.execute(select(schema_version.c.version))).scalar()
        if current is None:
            await connection.execute(insert(schema_version).values(version=0))
            current = 0
        for step in SCHEMA_STEPS[current:]:
            await connection.run_sync(step)
        await connection.execute(update(schema_version).values(version=SCHEMA_VERSION))
    return SCHEMA_VERSION


async def get_run(*, engine: AsyncEngine, run_id: str) -> dict[str, Any] | None:
    async with transaction(engine) as connection:
        row = (await connection.execute(select(runs.c.record).where(runs.c.id == run_id))).first()
    return json.loads(row[0]) if row else None


async def list_runs(
    *, engine: AsyncEngine, status: str | None, limit: int, before: float | None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Newest first; `before` is the creation time of the last item of the previous page; with `owner`, only the
    runs of that API key."""
    query = select(runs.c.record).order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
    if owner is not None:
        query = query.where(runs.c.owner == owner)
    if status:
        query = query.where(runs.c.status == status)
    if before is not None:
        query = query.where(runs.c.created_at < before)
    async with transaction(engine) as connection:
        rows = (await connection.execute(query)).all()
    return [json.loads(row[0]) for row in rows]


async def events_after(*, engine: AsyncEngine, run_id: str, after: int, limit: int = 500) -> list[dict[str, Any]]:
    query = (
        select(events.c.seq, events.c.type, events.c.data)
        .where(events.c.run_id == run_id, events.c.seq > after)
        .order_by(events.c.seq)
        .limit(limit)
    )
    async with transaction(engine) as connection:
        rows = (await connection.execute(query)).all()
    return [{"seq": seq, "type": type_, "data": json.loads(data)} for seq, type_, data in rows]


async def orphaned_runs(*, engine: AsyncEngine, older_than: float, runner: str | None = None) -> list[dict[str, Any]]:
    """Queued or running runs whose process stopped proving it is alive before `older_than` (epoch seconds), and,
    with `runner`, every one that process started (it has just started again: none of them can still run)."""
    query = select(runs.c.record, runs.c.heartbeat_at).where(runs.c.status.in_(ACTIVE))
    if runner is None:  # the periodic check: stale ones only, filtered by the database
        query = query.where(runs.c.heartbeat_at < older_than)
    async with transaction(engine) as connection:
        rows = (await connection.execute(query)).all()
    records = [(json.loads(record), heartbeat) for record, heartbeat in rows]
    return [r for r, beat in records if beat < older_than or (runner is not None and r.get("runner") == runner)]
