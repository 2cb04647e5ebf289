"""The local cluster finds its background processes again through pid files, and never mistakes an unrelated process
for one of them (a pid file left by a crash, a reboot or another PID namespace sharing the cache)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from localcluster import daemons


def test_a_started_daemon_is_found_again_and_stopped(tmp_path: Path) -> None:
    daemons.start(tmp_path, "sleeper", sys.executable, "-c", "import time; time.sleep(60)")
    assert daemons.alive(tmp_path, "sleeper")
    daemons.start(tmp_path, "sleeper", sys.executable, "-c", "raise SystemExit(3)")  # already running: kept
    pid = int((tmp_path / "sleeper.pid").read_text().split()[0])
    daemons.stop(tmp_path, "sleeper")
    assert not daemons.alive(tmp_path, "sleeper")
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped


def test_a_stale_pid_file_naming_another_live_process_is_not_taken_for_the_daemon(tmp_path: Path) -> None:
    (tmp_path / "kubelet.pid").write_text(f"{os.getpid()} 1")  # our own pid, started at another time
    assert not daemons.alive(tmp_path, "kubelet")
    (tmp_path / "kubelet.pid").write_text(str(os.getpid()))  # the old format: a bare pid proves nothing
    assert not daemons.alive(tmp_path, "kubelet")
    daemons.start(tmp_path, "kubelet", sys.executable, "-c", "import time; time.sleep(60)")
    assert daemons.alive(tmp_path, "kubelet")
    assert int((tmp_path / "kubelet.pid").read_text().split()[0]) != os.getpid()
    daemons.stop(tmp_path, "kubelet")
