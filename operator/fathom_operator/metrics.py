"""Prometheus metrics of the operator (served on /metrics next to /healthz)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECONCILES = Counter("fathom_operator_reconciles_total", "Reconciles of a stack, by result.", ["result"])
RECONCILE_SECONDS = Histogram("fathom_operator_reconcile_seconds", "Duration of one reconcile of a stack.")
WRITES = Counter(
    "fathom_operator_write_requests_total",
    "Mutating requests sent to the API server (an unchanged server-side apply is one too), by verb and kind.",
    ["verb", "kind"],
)
