"""Calls the tool servers for the agent: one round's calls run concurrently (bounded), each against a pool of
tool server replicas with failover when a replica is unreachable. A failing call becomes error text for the
model; it never raises into the loop."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from fathom_runtime.protocol import chatml
from fathom_runtime.protocol.toolcalls import ToolCall, ToolCallError
from fathom_runtime.protocol.tools import ToolResponse


@dataclass
class ToolOutcome:
    raw: str
    name: str
    arguments: dict[str, Any]
    ok: bool
    text: str  # the tool's text, or the error message when not ok
    seconds: float = 0.0
    source: str = ""
    urls: list[str] = field(default_factory=list)  # URLs the agent saw through this call
    ours: bool = False  # an error the orchestrator wrote itself (a refused call, a timeout), not a tool server

    @property
    def observation(self) -> str:
        """What goes into the call's <tool_response> block."""
        if self.ok:
            return chatml.observation(result=self.text)
        return chatml.observation(error=self.text, error_is_ours=self.ours)


def _error_message(response: httpx.Response) -> str | None:
    """The message of a tool server's JSON error body, or None when the reply is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message", "tool failed")) if isinstance(error, dict) else None


MIN_ATTEMPTS = 2


class ToolPool:
    def __init__(self, client: httpx.AsyncClient, urls: Sequence[str], *, concurrency: int, timeout: float) -> None:
        if not urls:
            raise ValueError("at least one tool server URL is needed (FATHOM_TOOLSERVER_URLS)")
        self._client, self._urls, self._timeout = client, list(urls), timeout
        self._next = itertools.cycle(range(len(self._urls)))
        self._limit = concurrency

    async def _call_once(self, url: str, call: ToolCall) -> httpx.Response:
        return await self._client.post(f"{url}/v1/tools/{call.name}", json=call.arguments, timeout=self._timeout)

    async def call(self, call: ToolCall) -> ToolOutcome:
        """One tool call: replicas in round-robin order, moving on only when one is unreachable or broken. A single
        URL (a Service in front of several pods) is tried twice, so that a pod going away costs no call."""
        started = time.perf_counter()
        start = next(self._next)
        problems = []
        for attempt in range(max(MIN_ATTEMPTS, len(self._urls))):
            url = self._urls[(start + attempt) % len(self._urls)]
            try:
                response = await self._call_once(url, call)
            except httpx.TransportError as exc:
                problems.append(f"{url}: {type(exc).__name__}")
                continue
            if response.status_code == 200:
                try:
                    reply = ToolResponse.model_validate_json(response.content)
                except ValidationError:
                    problems.append(f"{url}: malformed tool reply")
                    continue
                urls = [hit["url"] for hit in reply.hits if "url" in hit]
                if call.name == "query_url":
                    urls.append(call.arguments["url"])
                seconds = time.perf_counter() - started
                return ToolOutcome(call.raw, call.name, call.arguments, True, reply.result, seconds, reply.source, urls)
            message = _error_message(response)
            if message is not None:  # the tool's own answer: no failover
                return ToolOutcome(call.raw, call.name, call.arguments, False, message, time.perf_counter() - started)
            problems.append(f"{url}: HTTP {response.status_code}")
        return ToolOutcome(
            call.raw,
            call.name,
            call.arguments,
            False,
            "no tool server could run the call (" + "; ".join(problems) + ")",
            time.perf_counter() - started,
        )

    async def run_round(self, calls: Sequence[ToolCall | ToolCallError]) -> list[ToolOutcome]:
        """Every call of a round, concurrently (at most `concurrency` at once); results in call order."""
        gate = asyncio.Semaphore(self._limit)

        async def one(call: ToolCall | ToolCallError) -> ToolOutcome:
            if isinstance(call, ToolCallError):
                return ToolOutcome(call.raw, "", {}, False, call.message, ours=True)
            async with gate:
                try:
                    async with asyncio.timeout(self._timeout):
                        return await self.call(call)
                except TimeoutError:
                    return ToolOutcome(
                        call.raw,
                        call.name,
                        call.arguments,
                        False,
                        f"{call.name} timed out after {self._timeout:g}s",
                        self._timeout,
                        ours=True,
                    )

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(call)) for call in calls]
        return [task.result() for task in tasks]
