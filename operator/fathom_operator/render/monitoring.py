"""Prometheus Operator objects (monitoring.coreos.com/v1): a ServiceMonitor for the tool server and the
orchestrator, a PodMonitor for SGLang's --enable-metrics endpoints, and an optional PrometheusRule. Pure."""

from __future__ import annotations

from typing import Any

from fathom_operator import constants as c
from fathom_operator.api.spec import DeepResearchStackSpec
from fathom_operator.render import Manifest, meta
from fathom_operator.render.meta import StackRef

API_VERSION = "monitoring.coreos.com/v1"


def _model_roles(spec: DeepResearchStackSpec) -> list[str]:
    return [role for role, model in spec.models.enabled().items() if model.engine == "sglang"]  # SGLang's /metrics


def _in_stack(stack: StackRef, components: list[str]) -> dict[str, Any]:
    return {
        "matchLabels": {c.LABEL_NAME: c.APP_NAME, c.LABEL_INSTANCE: stack.name},
        "matchExpressions": [
            {"key": c.LABEL_COMPONENT, "operator": "In", "values": [c.SUFFIXES[x] for x in components]}
        ],
    }


def _alerts(stack: StackRef) -> list[dict[str, Any]]:
    scope = f'namespace="{stack.namespace}", deployment=~"{stack.name}-.*"'
    return [
        {
            "alert": "FathomComponentUnavailable",
            "expr": f"kube_deployment_status_replicas_available{{{scope}}} == 0",
            "for": "10m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": f"A component of stack {stack.name} has no available replicas."},
        },
        {
            "alert": "FathomResearchFailing",
            "expr": f'sum(rate(fathom_research_runs_total{{namespace="{stack.namespace}", outcome="failed"}}[15m]))'
            f' / sum(rate(fathom_research_runs_total{{namespace="{stack.namespace}"}}[15m])) > 0.5',
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": f"More than half of the research runs of {stack.name} fail."},
        },
    ]


def render_monitoring(stack: StackRef, spec: DeepResearchStackSpec) -> list[Manifest]:
    """The objects the spec asks for; the caller decides whether the API exists in the cluster."""
    mon, objects = spec.monitoring, []
    if mon.service_monitor.enabled:
        objects.append(
            {
                "apiVersion": API_VERSION,
                "kind": "ServiceMonitor",
                "metadata": meta.metadata(stack, c.MONITORING),
                "spec": {
                    "selector": _in_stack(stack, [c.TOOL_SERVER, c.ORCHESTRATOR]),
                    "endpoints": [{"port": "http", "path": "/metrics", "interval": mon.service_monitor.interval}],
                },
            }
        )
    roles = _model_roles(spec)
    if mon.pod_monitor.enabled and roles:
        objects.append(
            {
                "apiVersion": API_VERSION,
                "kind": "PodMonitor",
                "metadata": meta.metadata(stack, c.MONITORING),
                "spec": {
                    "selector": _in_stack(stack, roles),
                    "podMetricsEndpoints": [{"port": "http", "path": "/metrics", "interval": mon.pod_monitor.interval}],
                },
            }
        )
    if mon.prometheus_rule.enabled:
        objects.append(
            {
                "apiVersion": API_VERSION,
                "kind": "PrometheusRule",
                "metadata": meta.metadata(stack, c.MONITORING),
                "spec": {"groups": [{"name": f"fathom-{stack.name}", "rules": _alerts(stack)}]},
            }
        )
    return objects
