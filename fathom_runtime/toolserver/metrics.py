"""Prometheus metrics of one tool server app (its own registry, so every app instance counts separately)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fathom_runtime.common.build_info import register_build_info


class ToolMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        register_build_info("toolserver", self.registry)
        self.requests = Counter(
            "fathom_tool_requests_total", "Tool calls by tool and outcome.", ["tool", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "fathom_tool_request_seconds",
            "Tool call latency.",
            ["tool"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.fetches = Counter(
            "fathom_fetch_attempts_total",
            "Fetcher attempts by fetcher and outcome.",
            ["fetcher", "outcome"],
            registry=self.registry,
        )
        self.cache = Counter(
            "fathom_cache_requests_total",
            "Cache lookups by kind and result.",
            ["kind", "result"],
            registry=self.registry,
        )
        self.inflight = Gauge("fathom_outbound_inflight", "Outbound fetches in flight.", registry=self.registry)
        self.blocked = Counter(
            "fathom_egress_blocked_total", "URLs refused by the egress policy.", registry=self.registry
        )
