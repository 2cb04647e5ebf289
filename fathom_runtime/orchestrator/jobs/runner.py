"""Executes research runs: admission (bounded queue), the agent and synthesis under a deadline, cancellation,
events, persistence after every step that matters, heartbeats, and recovery of runs orphaned by a crash."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from fathom_runtime.llm.client import ModelClient, ModelError
from fathom_runtime.orchestrator.agent.loop import AgentState, Limits, run_search_agent, search_system_prompt
from fathom_runtime.orchestrator.agent.synthesis import synthesize
from fathom_runtime.orchestrator.agent.toolpool import ToolPool
from fathom_runtime.orchestrator.jobs import store
from fathom_runtime.orchestrator.jobs.journal import Journal
from fathom_runtime.orchestrator.metrics import RunMetrics
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from fathom_runtime.protocol.citations import check_citations

logger = logging.getLogger(__name__)


class Overloaded(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many research runs waiting; retry in {retry_after}s")
        self.retry_after = retry_after


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_record(
    question: str, mode: str, max_turns: int, deadline_seconds: int, owner: str | None = None
) -> dict[str, Any]:
    """A queued research record (DESIGN.md "Research record", plus run parameters and the trace)."""
    return {
        "id": uuid.uuid4().hex,
        "status": "queued",
        "question": question,
        "mode": mode,
        "answer": None,
        "report": None,
        "plan": None,
        "sources": [],
        "citations": {"verified": [], "unverified": []},
        "turns": 0,
        "tool_calls": [],
        "usage": {
            "search": {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0},
            "synthesizer": {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0},
        },
        "error": None,
        "stop_reason": None,
        "created_at": _now_iso(),
        "started_at": None,
        "finished_at": None,
        "created_ts": time.time(),
        "max_turns": max_turns,
        "deadline_seconds": deadline_seconds,
        "trace": "",
        "owner": owner,
    }


@dataclass
class LocalRun:
    record: dict[str, Any]
    state: AgentState = field(default_factory=AgentState)
    seq: int = 0
    task: asyncio.Task[None] | None = None
    # A task cancelled before it first runs never runs its own cleanup, and one cancelled while it writes its end
    # could leave it half written: cancel() asks instead of cancelling in those two moments.
    started: bool = False
    finishing: bool = False
    cancel_requested: bool = False


class RunManager:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: OrchestratorSettings,
        search_model: ModelClient,
        synthesizer: ModelClient,
        tools: ToolPool,
        metrics: RunMetrics,
    ) -> None:
        self.engine, self.settings, self.metrics = engine, settings, metrics
        self._search_model, self._synthesizer, self._tools = search_model, synthesizer, tools
        self._runs: dict[str, LocalRun] = {}
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self._waiting = 0
        self._signals: dict[str, asyncio.Event] = {}
        self.journal = Journal(engine, on_flushed=self._wake)
        self._search_prompt = search_system_prompt(settings.prompt("search"))
        self._synthesis_prompt = settings.prompt("synthesis")
        self._background: list[asyncio.Task[None]] = []

    # lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await store.migrate(engine=self.engine)
        # Other replicas may share the database: only runs whose process stopped heartbeating are orphans, and the
        # ones this process (by its instance id) started before it crashed.
        await self.recover(older_than=time.time() - self.orphan_after, runner=self.settings.instance_id)
        self.journal.start()
        self._background.append(asyncio.create_task(self._heartbeats(), name="heartbeats"))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        running = [run.task for run in self._runs.values() if run.task]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self.journal.stop()

    async def recover(self, *, older_than: float, runner: str | None = None) -> int:
        """Runs left queued or running by a process that stopped heartbeating (or by this one, before it restarted)
        are marked failed."""
        orphans = await store.orphaned_runs(engine=self.engine, older_than=older_than, runner=runner)
        for record in orphans:
            if record["id"] in self._runs:
                continue
            record.update(
                status="failed",
                finished_at=_now_iso(),
                error={
                    "code": "interrupted",
                    "message": "the orchestrator stopped while this run was "
                    f"{record['status']}; its partial trace is kept",
                },
            )
            self.journal.save_record(record)
            logger.warning("marked orphaned run %s failed", record["id"], extra={"research_id": record["id"]})
        if orphans:
            await asyncio.shield(self.journal.flush())
        return len(orphans)

    @property
    def orphan_after(self) -> float:
        return 4 * self.settings.heartbeat_seconds

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                self.journal.touch(list(self._runs))
                await self.recover(older_than=time.time() - self.orphan_after)
            except store.StoreError as exc:
                logger.error("heartbeat failed: %s", exc)

    # signals for event followers -----------------------------------------------------------------------------
    def _wake(self, run_ids: set[str]) -> None:
        for run_id in run_ids:
            signal = self._signals.pop(run_id, None)
            if signal is not None:
                signal.set()

    def signal(self, run_id: str) -> asyncio.Event:
        """Set once new events of the run are durable (in this process)."""
        return self._signals.setdefault(run_id, asyncio.Event())

    def is_local(self, run_id: str) -> bool:
        return run_id in self._runs

    # admission ----------------------------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        return self._waiting

    async def submit(
        self, question: str, mode: str, max_turns: int | None, deadline_seconds: int | None, owner: str | None = None
    ) -> dict[str, Any]:
        """Stores the run (before anyone hears of it) and schedules it; Overloaded when the queue is full."""
        if self._slots.locked() and self._waiting >= self.settings.max_queued_runs:
            raise Overloaded(retry_after=max(1, min(60, self._waiting // max(1, self.settings.max_concurrent_runs))))
        record = new_record(
            question,
            mode,
            max_turns or self.settings.max_turns,
            min(deadline_seconds or self.settings.default_deadline_seconds, self.settings.max_deadline_seconds),
            owner,
        )
        record["runner"] = self.settings.instance_id
        await self.journal.insert_run(record)
        run = LocalRun(record)
        self._runs[record["id"]] = run
        self._waiting += 1
        self.metrics.queued.set(self._waiting)
        run.task = asyncio.create_task(self._execute(run), name=f"run-{record['id']}")
        return record

    async def cancel(self, run_id: str) -> dict[str, Any] | None:
        """Cancels a local run (idempotent); returns the record as it now stands, None if unknown."""
        run = self._runs.get(run_id)
        if run is not None and run.task is not None and not run.task.done():
            if run.started and not run.finishing:
                run.task.cancel()
            else:
                run.cancel_requested = True
            await asyncio.gather(run.task, return_exceptions=True)
        record = await store.get_run(engine=self.engine, run_id=run_id)
        if record is not None and record["status"] in store.ACTIVE and run is None:
            record.update(
                status="cancelled",
                finished_at=_now_iso(),
                error={"code": "cancelled", "message": "cancelled by request"},
            )
            self.journal.save_record(record)
            await asyncio.shield(self.journal.flush())
        return record

    async def wait(self, run_id: str, timeout: float) -> dict[str, Any] | None:
        run = self._runs.get(run_id)
        if run is not None and run.task is not None:
            await asyncio.wait({run.task}, timeout=timeout)
        return await store.get_run(engine=self.engine, run_id=run_id)

    # execution ----------------------------------------------------------------------------------------------
    async def _emit(self, run: LocalRun, type_: str, data: dict[str, Any]) -> None:
        run.seq += 1
        self.journal.add_event(run.record["id"], run.seq, type_, data)
        if type_ == "turn":
            self._snapshot(run)
            self.journal.save_record(run.record)

    def _snapshot(self, run: LocalRun) -> None:
        state, record = run.state, run.record
        record.update(turns=state.turns, tool_calls=state.tool_calls, trace=state.trace)
        record["usage"]["search"] = {
            "prompt_tokens": state.usage.prompt_tokens,
            "completion_tokens": state.usage.completion_tokens,
            "calls": state.usage.calls,
        }

    async def _execute(self, run: LocalRun) -> None:
        record = run.record
        started = time.monotonic()
        admitted = False
        run.started = True
        try:
            if run.cancel_requested:
                raise asyncio.CancelledError
            async with self._slots:
                admitted = True
                self._waiting -= 1
                self.metrics.queued.set(self._waiting)
                self.metrics.inflight.inc()
                try:
                    record.update(status="running", started_at=_now_iso())
                    self.journal.save_record(record)
                    await self._emit(run, "status", {"status": "running"})
                    async with asyncio.timeout(record["deadline_seconds"]):
                        await self._research(run)
                    record["status"] = "succeeded"
                finally:
                    self.metrics.inflight.dec()
        except TimeoutError:
            record.update(
                status="failed",
                error={
                    "code": "deadline_exceeded",
                    "message": f"the run did not finish within {record['deadline_seconds']}s",
                },
            )
        except asyncio.CancelledError:
            record.update(status="cancelled", error={"code": "cancelled", "message": "cancelled by request"})
        except ModelError as exc:
            record.update(status="failed", error={"code": "model_error", "message": str(exc)})
        except Exception as exc:  # a bug: keep the service up, record it, log once with the traceback
            logger.exception("run %s crashed", record["id"], extra={"research_id": record["id"]})
            record.update(status="failed", error={"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            if not admitted:  # cancelled before a slot was free
                self._waiting -= 1
                self.metrics.queued.set(self._waiting)
            await self._finish(run, time.monotonic() - started)

    async def _finish(self, run: LocalRun, seconds: float) -> None:
        run.finishing = True
        record = run.record
        self._snapshot(run)
        record["finished_at"] = _now_iso()
        await self._emit(
            run, "done", {"status": record["status"], "error": record["error"], "answer": record["answer"]}
        )
        self.journal.save_record(record)
        try:
            # Shielded: a cancelled caller must not interrupt a transaction (and the journal retries on its own).
            await asyncio.shield(self.journal.flush())
        except store.StoreError as exc:
            logger.error("could not store the end of run %s: %s", record["id"], exc)
        self.metrics.runs.labels(record["mode"], record["status"]).inc()
        self.metrics.duration.labels(record["mode"]).observe(seconds)
        self.metrics.turns.observe(record["turns"])
        self._runs.pop(record["id"], None)
        self._wake({record["id"]})

    async def _research(self, run: LocalRun) -> None:
        record, s = run.record, self.settings
        limits = Limits(
            record["max_turns"],
            s.max_context_tokens,
            s.temperature,
            s.repetition_penalty,
            max_turn_tokens=s.max_turn_tokens,
            constrained_actions=s.constrained_actions,
        )

        async def emit(type_: str, data: dict[str, Any]) -> None:
            if type_ == "turn":
                self.metrics.model_latency.labels("search").observe(data["seconds"])
            if type_ == "tool_result":
                self.metrics.tool_calls.labels(data["name"] or "invalid", "ok" if data["ok"] else "error").inc()
            await self._emit(run, type_, data)

        await run_search_agent(
            record["question"],
            model=self._search_model,
            tools=self._tools,
            system_prompt=self._search_prompt,
            limits=limits,
            state=run.state,
            emit=emit,
        )
        state = run.state
        self.metrics.tokens.labels("search", "prompt").inc(state.usage.prompt_tokens)
        self.metrics.tokens.labels("search", "completion").inc(state.usage.completion_tokens)
        record.update(answer=state.answer, stop_reason=state.stop_reason, sources=list(state.urls_seen))
        self._snapshot(run)
        await self._emit(run, "answer", {"answer": state.answer, "stop_reason": state.stop_reason})
        self.journal.save_record(record)
        if record["mode"] == "deepresearch":
            await self._write_report(run)

    async def _write_report(self, run: LocalRun) -> None:
        record, s, state = run.record, self.settings, run.state
        await self._emit(run, "report", {"stage": "writing"})
        started = time.perf_counter()
        result = await synthesize(
            record["question"],
            state.trace,
            state.raw_calls,
            model=self._synthesizer,
            system_prompt=self._synthesis_prompt,
            context_tokens=s.synthesis_context_tokens,
            max_new_tokens=s.synthesis_max_new_tokens,
            temperature=s.synthesis_temperature,
            repetition_penalty=s.repetition_penalty,
            cite_only=state.urls_seen if s.constrained_citations else None,
        )
        self.metrics.model_latency.labels("synthesizer").observe(time.perf_counter() - started)
        self.metrics.tokens.labels("synthesizer", "prompt").inc(result.prompt_tokens)
        self.metrics.tokens.labels("synthesizer", "completion").inc(result.completion_tokens)
        checked = check_citations(result.report, state.urls_seen, s.citation_mode)
        self.metrics.citations.labels("verified").inc(len(checked.verified))
        self.metrics.citations.labels("unverified").inc(len(checked.unverified))
        record.update(
            plan=result.plan,
            report=checked.report,
            sources=checked.verified,
            citations={"verified": checked.verified, "unverified": checked.unverified},
        )
        record["usage"]["synthesizer"] = {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "calls": 1,
        }
        await self._emit(
            run,
            "report",
            {
                "stage": "done",
                "chars": len(checked.report),
                "verified": len(checked.verified),
                "unverified": len(checked.unverified),
            },
        )
