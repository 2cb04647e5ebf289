"""Golden-file comparison: a mismatch shows a unified diff; `pytest --update-golden` rewrites the file."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest


def check_golden(request: pytest.FixtureRequest, path: Path, actual: str) -> None:
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; create it with: pytest {request.node.nodeid} --update-golden")
    expected = path.read_text()
    if expected != actual:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "rendered"))
        pytest.fail(f"rendering differs from {path} (pytest --update-golden accepts it):\n{diff}")
