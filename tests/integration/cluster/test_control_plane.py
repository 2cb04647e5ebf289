"""The local control plane behaves like a real cluster: version, scheduling, GC, Pod Security."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localcluster import controlplane as cluster
from tests.support.kube import deployment, eventually


def test_server_reports_kubernetes_1_37(kubeconfig: Path) -> None:
    version = json.loads(cluster.kubectl(kubeconfig, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.37.")


def test_simulated_nodes_advertise_gpus(kube: client.ApiClient) -> None:
    nodes = {n.metadata.name: n for n in client.CoreV1Api(kube).list_node().items}
    for name in cluster.GPU_NODES:
        assert nodes[name].status.allocatable["nvidia.com/gpu"] == "8"
        assert nodes[name].metadata.labels["nvidia.com/gpu.product"]
    for name in cluster.CPU_NODES:
        assert "nvidia.com/gpu" not in nodes[name].status.allocatable


def _pods(core: client.CoreV1Api, namespace: str, app: str) -> list[client.V1Pod]:
    return core.list_namespaced_pod(namespace, label_selector=f"app={app}").items


def test_gpu_deployment_becomes_ready_on_a_gpu_node(kube: client.ApiClient, namespace: str) -> None:
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.create_namespaced_deployment(namespace, deployment("one-gpu", gpus=1, replicas=2))

    def ready() -> bool:
        status = apps.read_namespaced_deployment_status("one-gpu", namespace).status
        return status.ready_replicas == 2

    eventually(ready, "deployment one-gpu to have 2 ready replicas")
    pods = _pods(core, namespace, "one-gpu")
    assert {p.status.phase for p in pods} == {"Running"}
    assert {p.spec.node_name for p in pods} <= set(cluster.GPU_NODES)


def test_deployment_asking_for_more_gpus_than_a_node_has_stays_pending(kube: client.ApiClient, namespace: str) -> None:
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.create_namespaced_deployment(namespace, deployment("nine-gpus", gpus=9))
    pod = eventually(lambda: _pods(core, namespace, "nine-gpus"), "the pod of nine-gpus")[0]

    def scheduling_event() -> list[client.CoreV1Event]:
        events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod.metadata.name}")
        return [e for e in events.items if e.reason == "FailedScheduling"]

    event = eventually(scheduling_event, "a FailedScheduling event")[0]
    assert "Insufficient nvidia.com/gpu" in event.message
    assert core.read_namespaced_pod(pod.metadata.name, namespace).status.phase == "Pending"


def test_deleting_an_owner_garbage_collects_what_it_owns(kube: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(kube)
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "child", "ownerReferences": [reference]}})
    core.delete_namespaced_config_map("owner", namespace)

    def child_gone() -> bool:
        try:
            core.read_namespaced_config_map("child", namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(child_gone, "the garbage collector to delete the owned ConfigMap")


def test_restricted_namespace_rejects_a_privileged_pod(kube: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(kube)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    pod = {
        "metadata": {"name": "privileged"},
        "spec": {
            "containers": [{"name": "main", "image": "example.invalid/app:1", "securityContext": {"privileged": True}}]
        },
    }
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod(namespace, pod)
    assert caught.value.status == 403
    message = json.loads(caught.value.body)["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "privileged" in message
