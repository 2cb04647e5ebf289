"""External model endpoints (probed, nothing deployed) and Prometheus Operator objects (only when the API exists)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from kubernetes import client

from localcluster import controlplane as cluster
from tests.support import stacks
from tests.support.kube import eventually
from tests.support.operator import OperatorProcess

MONITORING_KINDS = [("ServiceMonitor", "servicemonitors"), ("PodMonitor", "podmonitors"),
                    ("PrometheusRule", "prometheusrules")]  # fmt: skip


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def model_server() -> Iterator[str]:
    """A loopback server answering SGLang's /health, standing in for a model served outside the stack."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_external_engine_deploys_no_model_pods_and_records_the_endpoint(
    operator: OperatorProcess,
    kube: client.ApiClient,
    custom: client.CustomObjectsApi,
    namespace: str,
    model_server: str,
) -> None:
    spec = {"models": {"search": {"engine": "external", "endpoint": model_server}}}
    stacks.create(custom, namespace, stacks.stack_body("ext", spec))
    stack = eventually(
        lambda: (s := stacks.get(custom, namespace, "ext")) and stacks.is_ready(s) and s, "stack ext to be Ready"
    )
    assert stack["status"]["components"]["search"] == {
        "ready": True, "replicas": 0, "readyReplicas": 0, "endpoint": model_server, "message": ""
    }  # fmt: skip
    names = {name for _, name in stacks.children(kube, namespace, "ext")}
    assert "ext-search" not in names and "ext-synthesizer" in names
    orchestrator = client.AppsV1Api(kube).read_namespaced_deployment("ext-orchestrator", namespace)
    env = {e.name: e.value for e in orchestrator.spec.template.spec.containers[0].env}
    assert env["FATHOM_SEARCH_MODEL_URL"] == model_server


def test_unreachable_external_endpoint_is_reported(
    operator: OperatorProcess, custom: client.CustomObjectsApi, namespace: str
) -> None:
    spec = {"models": {"synthesizer": {"engine": "external", "endpoint": "http://127.0.0.1:9"}}}
    stacks.create(custom, namespace, stacks.stack_body("down", spec))
    cond = eventually(
        lambda: (
            (c := stacks.condition(stacks.get(custom, namespace, "down"), "ModelsReady"))
            and c.get("reason") == "EndpointUnreachable"
            and c
        ),
        "ModelsReady=False with reason EndpointUnreachable",
    )
    assert "http://127.0.0.1:9" in cond["message"]


def _monitoring_crd(kind: str, plural: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List", "singular": kind.lower()},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
        },
    }  # fmt: skip


@pytest.fixture
def monitoring_api(kubeconfig: Path) -> Iterator[None]:
    """Installs stand-in Prometheus Operator CRDs for one test, and removes them afterwards."""
    import json

    crds = {"apiVersion": "v1", "kind": "List", "items": [_monitoring_crd(k, p) for k, p in MONITORING_KINDS]}
    cluster.kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(crds))
    for _, plural in MONITORING_KINDS:
        cluster.kubectl(kubeconfig, "wait", "--for=condition=Established", f"crd/{plural}.monitoring.coreos.com")
    yield
    for _, plural in MONITORING_KINDS:
        cluster.kubectl(kubeconfig, "delete", "crd", f"{plural}.monitoring.coreos.com", "--wait=false")


def _monitors(custom: client.CustomObjectsApi, namespace: str, plural: str) -> list[str]:
    items = custom.list_namespaced_custom_object("monitoring.coreos.com", "v1", namespace, plural)["items"]
    return [item["metadata"]["name"] for item in items]


def test_monitoring_objects_are_skipped_with_a_reason_without_the_api(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    stacks.create(custom, namespace, stacks.stack_body("plain"))
    cond = eventually(
        lambda: (c := stacks.condition(stacks.get(custom, namespace, "plain"), "MonitoringReady")) and c,
        "the MonitoringReady condition",
    )
    assert (cond["status"], cond["reason"]) == ("False", "PrometheusOperatorMissing")
    core = client.CoreV1Api(kube)

    def skipped_event() -> bool:  # the Event is posted after the condition is written: poll for it
        events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=plain")
        return "MonitoringSkipped" in {e.reason for e in events.items}

    eventually(skipped_event, "the MonitoringSkipped event")


def test_monitoring_objects_are_created_when_the_api_exists(
    monitoring_api: None, operator: OperatorProcess, custom: client.CustomObjectsApi, namespace: str
) -> None:
    spec = {"monitoring": {"prometheusRule": {"enabled": True}}}
    stacks.create(custom, namespace, stacks.stack_body("watched", spec))
    eventually(lambda: _monitors(custom, namespace, "servicemonitors") == ["watched-monitoring"], "a ServiceMonitor")
    assert _monitors(custom, namespace, "podmonitors") == ["watched-monitoring"]
    assert _monitors(custom, namespace, "prometheusrules") == ["watched-monitoring"]
    pod_monitor = custom.get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "podmonitors", "watched-monitoring"
    )
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    eventually(
        lambda: (
            stacks.condition(stacks.get(custom, namespace, "watched"), "MonitoringReady").get("reason") == "Created"
        ),
        "MonitoringReady=True",
    )
