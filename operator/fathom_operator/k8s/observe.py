"""Reads what the stack's children are doing (Deployments and their pods), probes external model endpoints, and
discovers whether the Prometheus Operator API is served. Reads only."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from fathom_operator import constants as c
from fathom_operator.api.spec import METADATA_NETWORKS, DeepResearchStackSpec
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


def _pod_problems(pods: list[JSON]) -> tuple[str, str, str]:
    """The scheduler's complaint about an unplaceable pod, and a container's waiting reason with its message (the
    missing Secret, the image that cannot be pulled), if any; init containers count too."""
    unschedulable = waiting = detail = ""
    for pod in pods:
        status = pod.get("status", {})
        for cond in status.get("conditions", []):
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                unschedulable = unschedulable or cond.get("message", "")
        for cs in status.get("initContainerStatuses", []) + status.get("containerStatuses", []):
            state = cs.get("state", {}).get("waiting", {})
            reason = state.get("reason", "")
            if reason and reason not in ("ContainerCreating", "PodInitializing") and not waiting:
                waiting, detail = reason, state.get("message", "")
    return unschedulable, waiting, detail


def build_workload(deployment: JSON, pods: list[JSON]) -> WorkloadObservation:
    spec: dict[str, Any] = deployment.get("spec", {})
    status: dict[str, Any] = deployment.get("status", {})
    generation = deployment["metadata"].get("generation", 0)
    unschedulable, waiting, detail = _pod_problems(pods)
    return WorkloadObservation(
        exists=True,
        desired=spec.get("replicas", 1),
        ready=status.get("readyReplicas", 0),
        up_to_date=status.get("observedGeneration", 0) >= generation
        and status.get("updatedReplicas", 0) >= spec.get("replicas", 1),
        unschedulable=unschedulable,
        waiting=waiting,
        waiting_message=detail,
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


def refused_destination(url: str) -> str | None:
    """Why the operator will not probe `url`: a host that resolves to a link-local or cloud metadata address (the
    admission rule sees only the URL's text; numeric and DNS tricks end here). None when it may."""
    parts = urlsplit(url)
    try:
        answers = socket.getaddrinfo(parts.hostname or "", parts.port or 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None  # unresolvable: the probe reports that itself
    for answer in answers:
        address = ipaddress.ip_address(str(answer[4][0]).split("%")[0])
        if address.is_link_local or any(address in ipaddress.ip_network(n) for n in METADATA_NETWORKS):
            return f"refused: {parts.hostname} resolves to {address}, a link-local or cloud metadata address"
    return None


def probe_endpoint(url: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> EndpointObservation:
    """An external server is reachable when it answers HTTP below 500 (401 from a hosted API counts). Only its
    health path is ever requested, without following redirects."""
    refused = refused_destination(url)
    if refused:
        return EndpointObservation(url, False, refused)
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout, follow_redirects=False)
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


class EndpointProbes:
    """Probes each external endpoint at most once per `interval` (status refreshes happen on every pod event; a
    user's server must not see a request each time)."""

    def __init__(self, interval: float, probe: Callable[[str], EndpointObservation] = probe_endpoint) -> None:
        self._interval, self._probe = interval, probe
        self._seen: dict[str, tuple[float, EndpointObservation]] = {}
        self._lock = threading.Lock()

    def observe(self, url: str) -> EndpointObservation:
        now = time.monotonic()
        with self._lock:
            cached = self._seen.get(url)
        if cached is not None and now - cached[0] < self._interval:
            return cached[1]
        result = self._probe(url)
        with self._lock:
            self._seen[url] = (now, result)
        return result


def observe(
    kube: Kube,
    stack: StackRef,
    spec: DeepResearchStackSpec,
    monitoring_available: bool,
    probes: EndpointProbes,
) -> Observation:
    endpoints = {
        role: probes.observe(models.model_url(stack, role, model))
        for role, model in spec.models.enabled().items()
        if model.engine == "external"
    }
    return Observation(observe_workloads(kube, stack), endpoints, monitoring_available)
