"""Pieces shared by every pod template: Pod Security "restricted" contexts, probes, env vars, volumes. Pure."""

from __future__ import annotations

from typing import Any

from fathom_operator.api.spec import PlacementSpec, ResourceRequirements, SecretKeyRef
from fathom_operator.render import Manifest

PRE_STOP_SECONDS = 5
# Non-root identity of every container we run; files on volumes are made group-writable through fsGroup.
RUN_AS = 1000


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(*, read_only_root: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
    }


def http_probe(path: str, *, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def tcp_probe(*, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "tcpSocket": {"port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def env_value(name: str, value: str | int | float) -> dict[str, Any]:
    return {"name": name, "value": str(value)}


def env_secret(name: str, ref: SecretKeyRef) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def resources(spec: ResourceRequirements, extra_limits: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    limits = {k: str(v) for k, v in spec.limits.items()} | (extra_limits or {})
    if limits:
        out["limits"] = limits
    if spec.requests:
        out["requests"] = {k: str(v) for k, v in spec.requests.items()}
    return out


def empty_dir(name: str, *, memory: bool = False, size_limit: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"medium": "Memory"} if memory else {}
    if size_limit:
        source["sizeLimit"] = size_limit
    return {"name": name, "emptyDir": source}


def pod_template(
    labels: dict[str, str],
    containers: list[Manifest],
    volumes: list[dict[str, Any]],
    *,
    service_account: str,
    placement: PlacementSpec,
    annotations: dict[str, str] | None = None,
    all_tolerations: list[dict[str, Any]] | None = None,
    affinity: dict[str, Any] | None = None,
    init_containers: list[Manifest] | None = None,
    termination_grace_seconds: int = 30,
) -> Manifest:
    """A pod template with the operator's security settings and the component's placement. `all_tolerations`
    replaces the placement's (model pods add the GPU one); `affinity` is the operator's default, which the spec's
    affinity replaces."""
    if placement.image_pull_policy:
        for container in [*containers, *(init_containers or [])]:
            container["imagePullPolicy"] = placement.image_pull_policy
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": termination_grace_seconds,
        "containers": containers,
        "volumes": volumes,
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if placement.node_selector:
        spec["nodeSelector"] = dict(placement.node_selector)
    pod_tolerations = all_tolerations if all_tolerations is not None else tolerations(placement)
    if pod_tolerations:
        spec["tolerations"] = pod_tolerations
    if placement.affinity or affinity:
        spec["affinity"] = dict(placement.affinity or affinity or {})
    optional = {
        "topologySpreadConstraints": [dict(t) for t in placement.topology_spread_constraints],
        "priorityClassName": placement.priority_class_name,
        "runtimeClassName": placement.runtime_class_name,
        "imagePullSecrets": [{"name": name} for name in placement.image_pull_secrets],
    }
    spec |= {key: value for key, value in optional.items() if value}
    metadata: dict[str, Any] = {"labels": dict(placement.pod_labels) | labels}  # ours win: selectors rely on them
    if annotations or placement.pod_annotations:
        metadata["annotations"] = dict(placement.pod_annotations) | (annotations or {})
    return {"metadata": metadata, "spec": spec}


# GPU feature discovery labels GPU nodes; CPU-only pods would rather leave those to the models.
GPU_NODE_LABEL = "nvidia.com/gpu.present"


def avoid_gpu_nodes() -> dict[str, Any]:
    term = {"matchExpressions": [{"key": GPU_NODE_LABEL, "operator": "DoesNotExist"}]}
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "preference": term}]}}


def gpu_toleration(resource_name: str) -> dict[str, Any]:
    """Managed GPU node pools taint their nodes with the GPU resource name; GPU pods must tolerate it."""
    return {"key": resource_name, "operator": "Exists", "effect": "NoSchedule"}


def runtime_container(
    name: str,
    image: str,
    port: int,
    *,
    env: list[dict[str, Any]],
    requested: ResourceRequirements,
    default_resources: ResourceRequirements,
    mounts: list[dict[str, Any]],
    env_from: list[dict[str, Any]] | None = None,
) -> Manifest:
    """A `fathom <name>` service container (tool server, orchestrator): read-only root, /healthz and /readyz."""
    container: Manifest = {
        "name": name,
        "image": image,
        "command": ["fathom", name],
        "args": ["--host", "0.0.0.0", "--port", str(port)],
    }
    if env_from:
        container["envFrom"] = env_from
    return container | {
        "env": env,
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "resources": resources(requested if requested.limits or requested.requests else default_resources),
        "startupProbe": http_probe("/healthz", period=2, timeout=2, failures=30),
        "readinessProbe": http_probe("/readyz", period=5, timeout=3, failures=3),
        "livenessProbe": http_probe("/healthz", period=10, timeout=3, failures=3),
        # Stay up while the endpoint is removed everywhere, so no new request meets a closing server.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "volumeMounts": mounts,
        "securityContext": container_security_context(),
    }


def tolerations(spec: PlacementSpec) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, exclude_none=True) for t in spec.tolerations]
