"""A throw-away PostgreSQL server (Debian's binaries) on loopback for one test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.operator import free_port


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries are missing: run hack/test-deps.sh (make test does)")
    return versions[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    # initdb refuses to run as root; CI runs as root, developers usually do not.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an asyncpg SQLAlchemy URL of a fresh server; stops and deletes it afterwards."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="fathom-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True}
    try:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "fathom", "-E", "UTF8", "--no-sync"]
            ),
            **run,
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]
            ),
            **run,
        )
        yield f"postgresql+asyncpg://fathom@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
