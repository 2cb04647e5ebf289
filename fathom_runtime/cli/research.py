"""`fathom research`: ask a question through an orchestrator, follow its event stream with a live progress view,
print the answer or write the report; a readable message and a non-zero exit on failure."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

EXIT_FAILED, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 2, 130


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(id, event, data) for every complete event of a text/event-stream. Pure."""
    block: dict[str, str] = {}
    for line in lines:
        if line:
            if not line.startswith(":"):
                key, _, value = line.partition(":")
                block[key] = value.removeprefix(" ")
            continue
        if "data" in block:
            yield int(block.get("id", "0") or 0), block.get("event", "message"), json.loads(block["data"])
        block = {}


class Progress:
    """One line per step, with the elapsed time, on stderr."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.started, self.tool_calls = out, time.monotonic(), 0

    def show(self, kind: str, data: dict[str, Any]) -> None:
        elapsed = f"[{time.monotonic() - self.started:6.1f}s]"
        if kind == "turn":
            thinking = " ".join(data.get("thinking", "").split())[:100]
            self.out.write(f"{elapsed} turn {data['turn']}: {thinking or '(no thinking)'}\n")
        elif kind == "tool_call":
            self.tool_calls += 1
            arguments = ", ".join(f"{k}={v!r}" for k, v in (data.get("arguments") or {}).items())
            self.out.write(f"{elapsed}   → {data.get('name') or 'invalid call'}({arguments[:120]})\n")
        elif kind == "tool_result":
            mark = "ok" if data.get("ok") else "error"
            self.out.write(f"{elapsed}   ← {data.get('name') or 'invalid call'} {mark} in {data.get('seconds', 0)}s\n")
        elif kind == "report":
            self.out.write(f"{elapsed} report: {data.get('stage')}\n")
        elif kind == "status":
            self.out.write(f"{elapsed} {data.get('status')}\n")
        self.out.flush()


def auth_headers(variable: str) -> dict[str, str]:
    """The Authorization header for the orchestrator when the key's variable is set."""
    key = os.environ.get(variable, "").strip()
    return {"Authorization": f"Bearer {key}"} if key else {}


def follow(client: httpx.Client, run_id: str, progress: Progress) -> None:
    """Follows the events until `done`, reconnecting with Last-Event-ID if the stream drops."""
    last = 0
    for _ in range(20):
        headers = {"Last-Event-ID": str(last)} if last else {}
        try:
            with client.stream("GET", f"/v1/research/{run_id}/events", headers=headers, timeout=None) as response:
                for seq, kind, data in parse_sse(response.iter_lines()):
                    last = seq
                    progress.show(kind, data)
                    if kind == "done":
                        return
        except httpx.TransportError:
            time.sleep(1)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    body: dict[str, Any] = {"question": args.question, "mode": args.mode}
    if args.max_turns:
        body["max_turns"] = args.max_turns
    with httpx.Client(base_url=args.url, timeout=30, headers=auth_headers(args.api_key_env)) as client:
        try:
            response = client.post("/v1/research", json=body)
        except httpx.TransportError as exc:
            err.write(f"fathom research: cannot reach the orchestrator at {args.url}: {type(exc).__name__}\n")
            return EXIT_UNREACHABLE
        if response.status_code != 202:
            error = (
                response.json().get("error", {})
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            err.write(f"fathom research: refused ({response.status_code}): {error.get('message', response.text)}\n")
            return EXIT_FAILED
        run_id = response.json()["id"]
        err.write(f"research {run_id} ({args.mode}) at {args.url}\n")
        progress = Progress(err)
        try:
            follow(client, run_id, progress)
        except KeyboardInterrupt:
            client.delete(f"/v1/research/{run_id}")
            err.write("fathom research: cancelled\n")
            return EXIT_INTERRUPTED
        record = client.get(f"/v1/research/{run_id}").json()
    if record["status"] != "succeeded":
        error = record.get("error") or {}
        err.write(f"fathom research: run {record['status']}: {error.get('message', 'no details')}\n")
        return EXIT_FAILED
    text = record["report"] if args.mode == "deepresearch" and record.get("report") else record.get("answer")
    if text is None:
        err.write(f"fathom research: no answer ({record.get('stop_reason')})\n")
        return EXIT_FAILED
    unverified = record.get("citations", {}).get("unverified", [])
    summary = f"{record['turns']} turns, {progress.tool_calls} tool calls"
    if unverified:
        summary += f", {len(unverified)} unverified citation(s) marked"
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        err.write(f"wrote {args.output} ({summary})\n")
    else:
        out.write(text + "\n")
        err.write(f"({summary})\n")
    return 0
