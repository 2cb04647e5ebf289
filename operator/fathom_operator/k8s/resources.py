"""REST paths of the kinds the operator manages. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from fathom_operator import constants as c
from fathom_operator.render import Manifest


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str

    @property
    def prefix(self) -> str:
        return f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"

    def collection(self, namespace: str) -> str:
        return f"{self.prefix}/namespaces/{namespace}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


DEPLOYMENTS = Kind("apps/v1", "Deployment", "deployments")
CORE_KINDS = [
    Kind("v1", "ServiceAccount", "serviceaccounts"),
    Kind("v1", "ConfigMap", "configmaps"),
    Kind("v1", "Service", "services"),
    Kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    DEPLOYMENTS,
    Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
]
MONITORING_API = "monitoring.coreos.com/v1"
MONITORING_KINDS = [
    Kind(MONITORING_API, "ServiceMonitor", "servicemonitors"),
    Kind(MONITORING_API, "PodMonitor", "podmonitors"),
    Kind(MONITORING_API, "PrometheusRule", "prometheusrules"),
]
STACKS = Kind(c.API_VERSION, c.KIND, c.PLURAL)
PODS = Kind("v1", "Pod", "pods")

_BY_TYPE = {(k.api_version, k.kind): k for k in CORE_KINDS + MONITORING_KINDS}


def kind_of(manifest: Manifest) -> Kind:
    return _BY_TYPE[(manifest["apiVersion"], manifest["kind"])]


def managed_kinds(monitoring_available: bool) -> list[Kind]:
    return CORE_KINDS + (MONITORING_KINDS if monitoring_available else [])
