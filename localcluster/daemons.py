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


# Processes started by this Python process: held so they are reaped when stopped (and no Popen is collected while its
# child runs, which Python reports as a ResourceWarning).
_children: dict[int, subprocess.Popen[bytes]] = {}


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when no such process runs (or only its zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name before ")" may hold spaces
    return None if fields[0] == "Z" else fields[19]  # state, then field 22: starttime


def _recorded(rundir: Path, name: str) -> tuple[int, str] | None:
    try:
        pid, started = _pidfile(rundir, name).read_text().split()
        return int(pid), started
    except (FileNotFoundError, ValueError):
        return None


def alive(rundir: Path, name: str) -> bool:
    """Whether the process we started still runs. The start time is compared too: after a reboot, or in another
    PID namespace sharing this cache, a stale pid file may name an unrelated live process."""
    recorded = _recorded(rundir, name)
    return recorded is not None and _start_time(recorded[0]) == recorded[1]


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
    _children[process.pid] = process
    _pidfile(rundir, name).write_text(f"{process.pid} {_start_time(process.pid)}")


def stop(rundir: Path, name: str, timeout: float = 15.0) -> None:
    recorded = _recorded(rundir, name)
    if recorded and alive(rundir, name):
        os.kill(recorded[0], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(rundir, name):
            time.sleep(0.1)
        if alive(rundir, name):
            os.kill(recorded[0], signal.SIGKILL)
    if recorded and recorded[0] in _children:
        _children.pop(recorded[0]).wait()
    _pidfile(rundir, name).unlink(missing_ok=True)
