"""Runs `fathom` service commands as real processes for tests, returning once they answer /healthz."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start_fathom(args: list[str], *, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`fathom ARGS --host 127.0.0.1 --port PORT` with `env` added to this process's environment."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "fathom_runtime.cli.main", *args, "--host", "127.0.0.1", "--port", str(port)],
            env=os.environ | env,
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"fathom {' '.join(args)} did not become healthy:\n{log.read_text()[-3000:]}")
