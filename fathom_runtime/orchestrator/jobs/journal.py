"""Batches event inserts and record updates into one transaction every few milliseconds, so hundreds of
concurrent runs do not each pay a database round trip per event. `flush()` makes everything durable."""

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
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()

    def add_event(self, run_id: str, seq: int, type_: str, data: dict[str, Any]) -> None:
        self._events.append(
            {"run_id": run_id, "seq": seq, "type": type_, "data": json.dumps(data), "created_at": time.time()}
        )
        self._wake.set()

    def save_record(self, record: dict[str, Any]) -> None:
        self._records[record["id"]] = record
        self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            batch, self._events = self._events, []
            records, self._records = self._records, {}
            if not batch and not records:
                return
            now = time.time()
            try:
                async with transaction(self._engine) as connection:
                    if batch:
                        await connection.execute(insert(events), batch)
                    for record in records.values():
                        await connection.execute(
                            update(runs)
                            .where(runs.c.id == record["id"])
                            .values(status=record["status"], heartbeat_at=now, record=json.dumps(record))
                        )
            except StoreError:
                # Put the work back so the next flush retries it; callers of flush() see the error.
                self._events[:0] = batch
                for key, value in records.items():
                    self._records.setdefault(key, value)
                raise
        self._on_flushed({e["run_id"] for e in batch} | set(records))

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
