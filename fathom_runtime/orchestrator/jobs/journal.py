"""The store's one writer: new runs, events, record updates and heartbeats go into one transaction every few
milliseconds, so hundreds of concurrent runs do not each pay a database round trip per event, and SQLite never
sees two writers at once. `flush()` makes everything durable; `insert_run()` returns once the run is stored."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from fathom_runtime.orchestrator.jobs.store import StoreError, transaction
from fathom_runtime.orchestrator.jobs.tables import events, runs

logger = logging.getLogger(__name__)


class Journal:
    def __init__(self, engine: AsyncEngine, *, interval: float = 0.02, on_flushed: Callable[[set[str]], None]) -> None:
        self._engine, self._interval, self._on_flushed = engine, interval, on_flushed
        self._events: list[dict[str, Any]] = []
        self._records: dict[str, dict[str, Any]] = {}
        self._inserts: list[dict[str, Any]] = []
        self._touched: set[str] = set()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.failing_since: float | None = None  # monotonic time of the first failed write still not made good

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:
            await self.flush()
        except StoreError as exc:  # shutting down anyway: what could not be written is lost, and said so
            logger.error("last journal flush at shutdown failed: %s", exc)

    def add_event(self, run_id: str, seq: int, type_: str, data: dict[str, Any]) -> None:
        self._events.append(
            {"run_id": run_id, "seq": seq, "type": type_, "data": json.dumps(data), "created_at": time.time()}
        )
        self._wake.set()

    def save_record(self, record: dict[str, Any]) -> None:
        self._records[record["id"]] = record
        self._wake.set()

    def touch(self, run_ids: list[str]) -> None:
        """Heartbeats of running runs (written with the next batch)."""
        self._touched.update(run_ids)
        self._wake.set()

    async def insert_run(self, record: dict[str, Any]) -> None:
        """Stores a new run; returns once it is durable. Raises StoreError (and forgets the run) when it is not."""
        now = time.time()
        self._inserts.append(
            {"id": record["id"], "status": record["status"], "mode": record["mode"], "created_at": record["created_ts"],
             "heartbeat_at": now, "record": json.dumps(record), "owner": record.get("owner")}
        )  # fmt: skip
        # Shielded: a cancelled caller must not interrupt a transaction other callers' work is part of.
        await asyncio.shield(self.flush())

    async def flush(self) -> None:
        async with self._lock:
            batch, self._events = self._events, []
            records, self._records = self._records, {}
            inserts, self._inserts = self._inserts, []
            touched, self._touched = self._touched, set()
            if not batch and not records and not inserts and not touched:
                return
            now = time.time()
            try:
                async with transaction(self._engine) as connection:
                    if inserts:
                        await connection.execute(insert(runs), inserts)
                    if batch:
                        await connection.execute(insert(events), batch)
                    for record in records.values():
                        await connection.execute(
                            update(runs)
                            .where(runs.c.id == record["id"])
                            .values(status=record["status"], heartbeat_at=now, record=json.dumps(record))
                        )
                    if touched - set(records):
                        await connection.execute(
                            update(runs).where(runs.c.id.in_(touched - set(records))).values(heartbeat_at=now)
                        )
            except StoreError:
                # Put the work back so the next flush retries it; callers of flush() see the error. New runs are not
                # retried: their submitters hear of the failure and nobody will run them.
                self._events[:0] = batch
                for key, value in records.items():
                    self._records.setdefault(key, value)
                self._touched |= touched
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                raise
        self.failing_since = None
        self._on_flushed({e["run_id"] for e in batch} | set(records))

    def write_stalled_for(self) -> float:
        """Seconds since writes started failing (0 while they succeed)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except StoreError as exc:
                logger.error("journal flush failed, will retry: %s", exc)
                await asyncio.sleep(1)
                self._wake.set()
