"""Small helpers for tests that talk to the local cluster: polling with a deadline, object builders."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 60.0, interval: float = 0.25) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` once the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def deployment(name: str, *, gpus: int = 0, replicas: int = 1) -> dict[str, Any]:
    """A minimal Deployment whose single container asks for `gpus` nvidia.com/gpu."""
    resources: dict[str, Any] = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "main", "image": "example.invalid/app:1", "resources": resources}],
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
                    if gpus
                    else [],
                },
            },
        },
    }
