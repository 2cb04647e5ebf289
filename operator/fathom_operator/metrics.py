"""Prometheus metrics of the operator (served on /metrics next to /healthz)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from fathom_runtime.common.build_info import register_build_info

register_build_info("operator")

RECONCILES = Counter("fathom_operator_reconciles_total", "Reconciles of a stack, by result.", ["result"])
RECONCILE_SECONDS = Histogram("fathom_operator_reconcile_seconds", "Duration of one reconcile of a stack.")
WRITES = Counter(
    "fathom_operator_write_requests_total",
    "Mutating requests sent to the API server (an unchanged server-side apply is one too), by verb and kind.",
    ["verb", "kind"],
)
STACK_READY = Gauge(
    "fathom_stack_ready",
    "1 while a stack's condition is True, else 0 (Ready, ModelsReady, ToolServerReady, OrchestratorReady, ...).",
    ["namespace", "stack", "condition"],
)


_CONDITIONS: dict[tuple[str, str], set[str]] = {}  # the series each stack has, so a deleted one can drop them


def record_conditions(namespace: str, stack: str, conditions: dict[str, bool]) -> None:
    for condition, true in conditions.items():
        STACK_READY.labels(namespace, stack, condition).set(1 if true else 0)
    _CONDITIONS.setdefault((namespace, stack), set()).update(conditions)


def forget_stack(namespace: str, stack: str) -> None:
    """A deleted stack leaves no series behind."""
    for condition in _CONDITIONS.pop((namespace, stack), set()):
        STACK_READY.remove(namespace, stack, condition)
