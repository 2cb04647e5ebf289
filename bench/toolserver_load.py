"""Load generator for tool servers speaking our typed API or the reference executor's /execute shape.

    # against a tool server this script starts (local corpus, loopback pages), every scenario:
    .venv/bin/python -m bench.toolserver_load
    # against any server: --target URL --shape typed|execute --page-base URL-of-pages-it-may-fetch
    .venv/bin/python -m bench.toolserver_load --target http://127.0.0.1:8904 --shape execute --levels 1 64

Scenarios: `search-hit` (one query, served from cache after the first call) and `page-fetch` (query_url on a
distinct loopback page each time: fetch + extraction, no cache). Reports throughput, p50/p99 latency, errors
and the server's peak RSS (when this script started it). `--soak SECONDS` repeats the cache-hit load and
samples RSS every 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.operator import free_port
from tests.support.web import Site, html_page

PAGE = html_page("Benchmark page", *[f"Paragraph {i} about solar panels, inverters and batteries." for i in range(40)])


def request_for(shape: str, scenario: str, i: int, page_base: str) -> tuple[str, dict[str, Any]]:
    if scenario == "search-hit":
        tool, args = "search_urls", {"query": "solar inverter efficiency", "top_k": 5}
    else:
        tool, args = "query_url", {"url": f"{page_base}/page?i={i}", "goal": "inverter batteries"}
    if shape == "execute":
        call = f"{tool}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
        return "/execute", {"env": None, "call": call}
    return f"/v1/tools/{tool}", args


def ok(shape: str, response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    return shape != "execute" or response.json().get("error") is None


async def run_level(
    target: str, shape: str, scenario: str, clients: int, requests: int, page_base: str, offset: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    async with httpx.AsyncClient(base_url=target, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                path, body = request_for(shape, scenario, offset + i, page_base)
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                    good = ok(shape, response)
                except httpx.HTTPError:
                    good = False
                latencies.append(time.perf_counter() - started)
                errors += not good

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "scenario": scenario,
        "shape": shape,
        "clients": clients,
        "requests": requests,
        "errors": errors,
        "throughput_rps": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


WRK_SCRIPT = """
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  n = id * 10000000
  errors = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  n = n + 1
  return wrk.format(nil, PATH, nil, string.format(TEMPLATE, n))
end
function response(status, headers, body)
  if status ~= 200 or (CHECK_BODY and not string.find(body, '"error":null', 1, true)) then errors = errors + 1 end
end
function done(summary, latency, requests)
  local errors = 0
  for _, t in ipairs(threads) do errors = errors + t:get("errors") end
  io.write(string.format('{"requests": %d, "seconds": %.3f, "errors": %d, "p50_ms": %.2f, "p99_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, errors + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_level(target: str, shape: str, scenario: str, clients: int, seconds: float, page_base: str) -> dict[str, Any]:
    """One level driven by wrk (C, event-driven): the load generator then costs far less CPU than the server."""
    path, body = request_for(shape, scenario, 0, page_base)
    template = json.dumps(body).replace("%", "%%").replace("page?i=0", "page?i=%d")
    script = (
        WRK_SCRIPT.replace("PATH", json.dumps(path))
        .replace("TEMPLATE", json.dumps(template))
        .replace("CHECK_BODY", "true" if shape == "execute" else "false")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, clients)}",
            f"-c{clients}",
            f"-d{int(seconds)}s",
            "--timeout",
            "60s",
            "-s",
            handle.name,
            target,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(handle.name)
    summary = json.loads(out.strip().splitlines()[-1])
    return {
        "scenario": scenario,
        "shape": shape,
        "clients": clients,
        "engine": "wrk",
        "requests": summary["requests"],
        "errors": summary["errors"],
        "throughput_rps": round(summary["requests"] / summary["seconds"], 1),
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
    }


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start_server(site: Site, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    corpus = workdir / "corpus.jsonl"
    rows = (
        {"url": f"{site.url}/doc{i}", "title": f"Doc {i}", "text": f"solar inverter efficiency note {i}"}
        for i in range(50)
    )
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows))
    port = free_port()
    env = os.environ | {
        "FATHOM_SEARCH_PROVIDER": "local",
        "FATHOM_LOCAL_CORPUS": str(corpus),
        "FATHOM_JINA_ENABLED": "false",
        "FATHOM_EGRESS_ALLOW": "127.0.0.1",
        "FATHOM_MAX_PER_HOST": "256",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "fathom_runtime.cli.main", "toolserver", "--port", str(port), "--log-level", "WARNING"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    target = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{target}/readyz", timeout=1).status_code == 200:
                return process, target
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("tool server did not become ready")


async def main_async(args: argparse.Namespace) -> int:
    with Site() as site, tempfile.TemporaryDirectory() as tmp:
        site.route("GET", "/page", lambda h: h.send(200, PAGE))
        process = None
        target = args.target
        if target is None:
            process, target = start_server(site, Path(tmp))
        page_base = args.page_base or site.url
        try:
            offset = 0
            for scenario in args.scenarios:
                for clients in args.levels:
                    requests = max(args.requests, clients * 4)
                    # Warm-up: fill the cache (search-hit) and the connection pools.
                    await run_level(target, args.shape, scenario, min(clients, 8), 16, page_base, 10_000_000 + offset)
                    if args.engine == "wrk":
                        result = await asyncio.to_thread(
                            wrk_level, target, args.shape, scenario, clients, args.seconds, page_base
                        )
                    else:
                        result = await run_level(target, args.shape, scenario, clients, requests, page_base, offset)
                    offset += requests
                    if process is not None:
                        result["server_peak_rss_mib"] = round(rss_kib(process.pid, "VmHWM") / 1024, 1)
                    print(json.dumps(result), flush=True)  # noqa: T201
            if args.soak and process is not None:
                samples = []
                end = time.monotonic() + args.soak
                while time.monotonic() < end:
                    await run_level(target, args.shape, "search-hit", 64, 2000, page_base, 0)
                    samples.append(round(rss_kib(process.pid) / 1024, 1))
                    await asyncio.sleep(max(0.0, min(10.0, end - time.monotonic())))
                print(json.dumps({"soak_seconds": args.soak, "rss_mib_samples": samples}), flush=True)  # noqa: T201
        finally:
            if process is not None:
                process.terminate()
                process.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", help="base URL of a running tool server (default: start one)")
    parser.add_argument("--shape", choices=["typed", "execute"], default="typed", help="wire shape of requests")
    parser.add_argument("--page-base", help="base URL of pages the target may fetch (default: a loopback site)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 64, 256], help="concurrent clients")
    parser.add_argument(
        "--scenarios", nargs="+", default=["search-hit", "page-fetch"], choices=["search-hit", "page-fetch"]
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per level (at least 4 per client)")
    parser.add_argument(
        "--engine",
        choices=["python", "wrk"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator: wrk (Debian package; default when installed) or this process",
    )
    parser.add_argument("--seconds", type=float, default=10, help="duration of a level with the wrk engine")
    parser.add_argument("--soak", type=float, default=0, help="seconds of cache-hit soak with RSS samples")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
