"""Prometheus metrics of one orchestrator app (its own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fathom_runtime.common.build_info import register_build_info


class RunMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        register_build_info("orchestrator", r)
        self.runs = Counter(
            "fathom_research_runs_total", "Finished runs by mode and outcome.", ["mode", "outcome"], registry=r
        )
        self.duration = Histogram(
            "fathom_research_run_seconds",
            "Run duration.",
            ["mode"],
            registry=r,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
        )
        self.turns = Histogram(
            "fathom_research_turns", "Agent turns per run.", registry=r, buckets=(1, 2, 4, 8, 16, 32, 64, 128)
        )
        self.tool_calls = Counter(
            "fathom_tool_calls_total", "Agent tool calls by tool and outcome.", ["tool", "outcome"], registry=r
        )
        self.model_latency = Histogram(
            "fathom_model_request_seconds",
            "Model call latency by role.",
            ["role"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.tokens = Counter(
            "fathom_model_tokens_total", "Tokens by role and kind (server-reported).", ["role", "kind"], registry=r
        )
        self.citations = Counter("fathom_citations_total", "Report citations by verdict.", ["verdict"], registry=r)
        self.inflight = Gauge("fathom_research_runs_inflight", "Runs executing now.", registry=r)
        self.queued = Gauge("fathom_research_queue_depth", "Runs waiting for a slot.", registry=r)
