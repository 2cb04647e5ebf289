"""The browser's egress, tested where a failing guard could reach nothing: netns_browser_egress.py runs under
`unshare -n`, in a network namespace with only loopback, and must pass there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fathom_runtime.toolserver.fetch.browser import browser_unavailable

MISSING = browser_unavailable("/usr/bin/chromium")
CASES = Path(__file__).with_name("netns_browser_egress.py")


@pytest.mark.skipif(MISSING is not None, reason=f"browser unavailable: {MISSING}")
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_browser_vectors_pass_inside_a_loopback_only_namespace() -> None:
    inner = f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider -rA {CASES}"
    env = os.environ | {"FATHOM_ISOLATED_NETNS": "1"}
    result = subprocess.run(["unshare", "--net", "sh", "-c", inner], capture_output=True, text=True, env=env,
                            timeout=600, cwd=Path(__file__).parents[3])  # fmt: skip
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "2 passed" in result.stdout, report  # both cases ran (none skipped)
