"""Background processes of the local cluster: started detached (they outlive `python -m localcluster up`), found
again through pid files, logs under RUNDIR/logs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _pidfile(rundir: Path, name: str) -> Path:
    return rundir / f"{name}.pid"


def alive(rundir: Path, name: str) -> bool:
    try:
        os.kill(int(_pidfile(rundir, name).read_text()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


def start(rundir: Path, name: str, *command: str | Path, netns: str | None = None) -> None:
    """Start `command` unless it runs already. With `netns`, only its network namespace is entered: mounts stay
    shared (the kubelet and containerd must see each other's)."""
    if alive(rundir, name):
        return
    logs = rundir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    prefix = ["nsenter", f"--net=/run/netns/{netns}"] if netns else []
    with (logs / f"{name}.log").open("ab") as out:
        process = subprocess.Popen(
            [*prefix, *map(str, command)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pidfile(rundir, name).write_text(str(process.pid))


def stop(rundir: Path, name: str, timeout: float = 15.0) -> None:
    if not alive(rundir, name):
        _pidfile(rundir, name).unlink(missing_ok=True)
        return
    pid = int(_pidfile(rundir, name).read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(rundir, name):
        time.sleep(0.1)
    if alive(rundir, name):
        os.kill(pid, signal.SIGKILL)
    _pidfile(rundir, name).unlink(missing_ok=True)
