"""Runs `fathom operator` as a real subprocess against the test cluster, for one namespace."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """The operator for one namespace; `restart()` kills it hard, as a crash would, and starts it again."""

    def __init__(
        self, kubeconfig: Path, namespace: str, log_path: Path, *, peering: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.peering = peering
        self.kubeconfig, self.namespace, self.log_path = kubeconfig, namespace, log_path
        self.env = os.environ | {"FATHOM_OPERATOR_MONITORING_DISCOVERY_TTL_SECONDS": "1"} | (env or {})
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "fathom_runtime.cli.main", "operator", "--namespace", self.namespace,
                   "--kubeconfig", str(self.kubeconfig), "--port", str(self.port)]  # fmt: skip
        if self.peering:
            command += ["--peering", self.peering]
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"operator exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"operator did not become healthy:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop(signal.SIGKILL)
        self.start()

    def metrics_text(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text

    def metric(self, name: str, labels: str = "") -> float:
        """Sum of a metric's samples whose label set contains `labels` (e.g. 'result="ok"')."""
        text = self.metrics_text()
        total = 0.0
        for match in re.finditer(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE):
            if labels in (match.group(1) or ""):
                total += float(match.group(2))
        return total

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
