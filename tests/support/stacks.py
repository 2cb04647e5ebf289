"""Helpers for tests that create DeepResearchStacks and read their children."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from fathom_operator import constants as c
from kubernetes import client

REPO = Path(__file__).resolve().parents[2]


def example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((REPO / "examples" / name).read_text())
    return body


def stack_body(name: str, spec_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(example("01-minimal.yaml"))
    body["metadata"] = {"name": name}
    for key, value in (spec_overrides or {}).items():
        body["spec"][key] = _merge(body["spec"].get(key, {}), value)
    return body


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in extra.items()}}
    return extra


def create(custom: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = custom.create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, body)
    return created


def get(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = custom.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name)
    return found


def patch_spec(custom: client.CustomObjectsApi, namespace: str, name: str, spec: dict[str, Any]) -> None:
    custom.patch_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name, {"spec": spec})


def condition(stack: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in stack.get("status", {}).get("conditions", []):
        if cond["type"] == type_:
            return dict(cond)
    return {}


def is_ready(stack: dict[str, Any]) -> bool:
    status = stack.get("status", {})
    return (
        condition(stack, "Ready").get("status") == "True"
        and status.get("observedGeneration") == stack["metadata"]["generation"]
    )


def children(kube: client.ApiClient, namespace: str, stack: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the kinds the operator manages that carries the stack's instance label (any stack's,
    when `stack` is None)."""
    selector = f"{c.LABEL_MANAGED_BY}={c.FIELD_MANAGER}" + (f",{c.LABEL_INSTANCE}={stack}" if stack else "")
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    listings = {
        "ServiceAccount": core.list_namespaced_service_account,
        "ConfigMap": core.list_namespaced_config_map,
        "Service": core.list_namespaced_service,
        "PersistentVolumeClaim": core.list_namespaced_persistent_volume_claim,
        "Deployment": apps.list_namespaced_deployment,
        "PodDisruptionBudget": client.PolicyV1Api(kube).list_namespaced_pod_disruption_budget,
        "HorizontalPodAutoscaler": client.AutoscalingV2Api(kube).list_namespaced_horizontal_pod_autoscaler,
        "NetworkPolicy": client.NetworkingV1Api(kube).list_namespaced_network_policy,
    }
    found = {}
    for kind, listing in listings.items():
        for item in listing(namespace, label_selector=selector).items:
            found[(kind, item.metadata.name)] = kube.sanitize_for_serialization(item)
    return found


def versions(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {key: obj["metadata"]["resourceVersion"] for key, obj in objects.items()}
