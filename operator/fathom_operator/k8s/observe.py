"""Reads what the stack's children are doing (Deployments and their pods), probes external model endpoints, and
discovers whether the Prometheus Operator API is served. Reads only."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from fathom_operator import constants as c
from fathom_operator.api.spec import DeepResearchStackSpec
from fathom_operator.k8s import resources
from fathom_operator.k8s.client import JSON, Kube
from fathom_operator.render import meta, models
from fathom_operator.render.meta import StackRef
from fathom_operator.status.observed import EndpointObservation, Observation, WorkloadObservation

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 5.0
COMPONENT_BY_SUFFIX = {suffix: component for component, suffix in c.SUFFIXES.items()}


def _selector(stack: StackRef) -> str:
    return ",".join(f"{k}={v}" for k, v in meta.stack_labels(stack).items())


def _pod_problems(pods: list[JSON]) -> tuple[str, str]:
    """The scheduler's complaint about an unplaceable pod, and a container waiting reason, if any."""
    unschedulable = waiting = ""
    for pod in pods:
        status = pod.get("status", {})
        for cond in status.get("conditions", []):
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                unschedulable = unschedulable or cond.get("message", "")
        for cs in status.get("containerStatuses", []):
            reason = cs.get("state", {}).get("waiting", {}).get("reason", "")
            if reason and reason not in ("ContainerCreating", "PodInitializing"):
                waiting = waiting or reason
    return unschedulable, waiting


def build_workload(deployment: JSON, pods: list[JSON]) -> WorkloadObservation:
    spec: dict[str, Any] = deployment.get("spec", {})
    status: dict[str, Any] = deployment.get("status", {})
    generation = deployment["metadata"].get("generation", 0)
    unschedulable, waiting = _pod_problems(pods)
    return WorkloadObservation(
        exists=True,
        desired=spec.get("replicas", 1),
        ready=status.get("readyReplicas", 0),
        up_to_date=status.get("observedGeneration", 0) >= generation
        and status.get("updatedReplicas", 0) >= spec.get("replicas", 1),
        unschedulable=unschedulable,
        waiting=waiting,
    )


def observe_workloads(kube: Kube, stack: StackRef) -> dict[str, WorkloadObservation]:
    selector = _selector(stack)
    deployments = kube.get(resources.DEPLOYMENTS.collection(stack.namespace), labelSelector=selector)["items"]
    pods = kube.get(resources.PODS.collection(stack.namespace), labelSelector=selector)["items"]
    by_component: dict[str, list[JSON]] = {}
    for pod in pods:
        suffix = pod["metadata"].get("labels", {}).get(c.LABEL_COMPONENT, "")
        by_component.setdefault(suffix, []).append(pod)
    workloads = {}
    for deployment in deployments:
        suffix = deployment["metadata"].get("labels", {}).get(c.LABEL_COMPONENT, "")
        if suffix in COMPONENT_BY_SUFFIX:
            workloads[COMPONENT_BY_SUFFIX[suffix]] = build_workload(deployment, by_component.get(suffix, []))
    return workloads


def probe_endpoint(url: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> EndpointObservation:
    """An external server is reachable when it answers HTTP below 500 (401 from a hosted API counts)."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError as exc:
        return EndpointObservation(url, False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if response.status_code >= 500:
        return EndpointObservation(url, False, f"HTTP {response.status_code}")
    return EndpointObservation(url, True)


class MonitoringDiscovery:
    """Caches whether monitoring.coreos.com/v1 is served, re-asking at most every `ttl` seconds."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._checked_at = float("-inf")
        self._available = False

    def available(self, kube: Kube) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= self._ttl:
            self._available = kube.get_or_none(f"/apis/{resources.MONITORING_API}") is not None
            self._checked_at = now
        return self._available


def observe(kube: Kube, stack: StackRef, spec: DeepResearchStackSpec, monitoring_available: bool) -> Observation:
    endpoints = {
        role: probe_endpoint(models.model_url(stack, role, model))
        for role, model in spec.models.enabled().items()
        if model.engine == "external"
    }
    return Observation(observe_workloads(kube, stack), endpoints, monitoring_available)
