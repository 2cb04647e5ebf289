"""Orchestrator benchmark with instant scripted model and tool servers (bench/fakes.py, another process):
CPU time per agent turn, concurrent runs sustained by one process, aggregate turns/s and memory per run; then
the same workload through a straightforward synchronous loop like the reference's (threads, the whole prompt
re-tokenised every turn, tool calls one after another) for comparison.

    .venv/bin/python -m bench.orchestrator_load --runs 500 --turns 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import regex

from fathom_runtime.protocol import chatml
from fathom_runtime.protocol.answers import extract_boxed
from fathom_runtime.protocol.toolcalls import ToolCall, parse_tool_calls
from tests.support.operator import free_port

# GPT-2/Qwen-style pre-tokenisation pattern: the first, and a large, part of what a BPE tokenizer does.
PRETOKENIZE = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def _wait_ready(url: str, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _drive(url: str, runs: int) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=runs + 10, max_keepalive_connections=runs + 10)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600) as client:

        async def one(i: int) -> dict[str, Any]:
            response = await client.post("/v1/research", params={"wait": "true"}, json={"question": f"question {i}"})
            return dict(response.json())

        return await asyncio.gather(*(one(i) for i in range(runs)))


def bench_orchestrator(fakes: str, runs: int, turns: int, workdir: Path) -> dict[str, Any]:
    port = free_port()
    env = os.environ | {
        "FATHOM_SEARCH_MODEL_URL": fakes,
        "FATHOM_SYNTHESIZER_MODEL_URL": fakes,
        "FATHOM_TOOLSERVER_URLS": fakes,
        "FATHOM_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "FATHOM_MAX_CONCURRENT_RUNS": str(runs),
        "FATHOM_MAX_QUEUED_RUNS": str(runs),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fathom_runtime.cli.main",
            "orchestrator",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, "/healthz")
        asyncio.run(_drive(url, 8))  # warm-up
        idle_rss = _rss_mib(process.pid)
        cpu_before = _cpu_seconds(process.pid)
        started = time.perf_counter()
        records = asyncio.run(_drive(url, runs))
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(process.pid) - cpu_before
        total_turns = sum(r.get("turns", 0) for r in records)
        ok = sum(r.get("status") == "succeeded" and r.get("answer") == "42" for r in records)
        peak = _rss_mib(process.pid, "VmHWM")
        return {
            "engine": "orchestrator",
            "runs": runs,
            "succeeded": ok,
            "turns": total_turns,
            "seconds": round(elapsed, 2),
            "turns_per_second": round(total_turns / elapsed, 1),
            "cpu_ms_per_turn": round(cpu * 1000 / max(1, total_turns), 3),
            "idle_rss_mib": round(idle_rss, 1),
            "peak_rss_mib": round(peak, 1),
            "rss_kib_per_concurrent_run": round((peak - idle_rss) * 1024 / runs, 1),
        }
    finally:
        process.terminate()
        process.wait()


def reference_run(client: httpx.Client, fakes: str, question: str, max_turns: int) -> int:
    """One run the way the reference drives it: blocking calls, whole-prompt re-tokenisation, sequential tools."""
    prompt = chatml.first_prompt("You are a web researcher.", question)
    for turn in range(1, max_turns + 1):
        prompt_tokens = len(PRETOKENIZE.findall(prompt))  # re-tokenise everything, every turn
        budget = 40960 - prompt_tokens - 100
        text = client.post(
            f"{fakes}/generate",
            json={
                "text": prompt,
                "sampling_params": {"max_new_tokens": budget, "temperature": 0.6, "repetition_penalty": 1.05},
            },
        ).json()["text"]
        prompt += chatml.close_assistant_turn(text)
        calls = [c for c in parse_tool_calls(text).calls if isinstance(c, ToolCall)]
        if not calls:
            assert extract_boxed(text) == "42"
            return turn
        blocks = [(c.raw, client.post(f"{fakes}/v1/tools/{c.name}", json=c.arguments).json()["result"]) for c in calls]
        prompt += chatml.tool_responses_turn(blocks)
    return max_turns


def bench_reference(fakes: str, runs: int, turns: int, workers: int) -> dict[str, Any]:
    cpu_before = time.process_time()
    started = time.perf_counter()
    with httpx.Client(limits=httpx.Limits(max_connections=workers)) as client, ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(lambda i: reference_run(client, fakes, f"question {i}", 64), range(runs)))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    return {
        "engine": f"reference-style sync loop ({workers} threads)",
        "runs": runs,
        "turns": total,
        "seconds": round(elapsed, 2),
        "turns_per_second": round(total / elapsed, 1),
        "cpu_ms_per_turn": round(cpu * 1000 / total, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500, help="runs submitted at once")
    parser.add_argument("--turns", type=int, default=4, help="agent turns per run")
    parser.add_argument("--reference-workers", type=int, default=64, help="threads of the comparison loop")
    args = parser.parse_args(argv)
    port = free_port()
    fakes = subprocess.Popen(
        [sys.executable, "-m", "bench.fakes", "--port", str(port), "--turns", str(args.turns)],
        stderr=subprocess.DEVNULL,
    )
    fakes_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(fakes_url, "/health")
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(bench_orchestrator(fakes_url, args.runs, args.turns, Path(tmp))), flush=True)  # noqa: T201
        print(json.dumps(bench_reference(fakes_url, args.runs, args.turns, args.reference_workers)), flush=True)  # noqa: T201
    finally:
        fakes.terminate()
        fakes.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
