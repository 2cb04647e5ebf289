"""The control plane: kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
the kwok controller as local processes, from the binaries hack/k8s-bins.sh built. kwok simulates two GPU nodes
(8 x nvidia.com/gpu each) and two CPU nodes, and manages only those (their kwok.x-k8s.io/node annotation), so a
real kubelet node can join beside them.

Every component binds to 127.0.0.1. With a real node, the node link forwards the API server's port from its host
address (network.py), so that pods reach the API server through the `kubernetes` Service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from localcluster import daemons, network, provisioner
from localcluster.tools import bin_dir, cache_root, is_reachable, kubectl, log, wait_for

DEFAULT_NAME = "fathom"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODES = ("gpu-node-0", "gpu-node-1")
CPU_NODES = ("cpu-node-0", "cpu-node-1")
GPUS_PER_NODE = 8
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


def workdir() -> Path:
    return cache_root() / "kwok"


def kubeconfig_path(name: str = DEFAULT_NAME) -> Path:
    return workdir() / f"{name}.kubeconfig"


def pki_dir(name: str = DEFAULT_NAME) -> Path:
    return workdir() / "clusters" / name / "pki"


def build_node(name: str, gpus: int) -> dict[str, Any]:
    """A kwok-managed Node; GPU nodes carry the labels NVIDIA's GPU feature discovery would set."""
    labels = {
        "type": "kwok",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
    }
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}
    if gpus:
        labels |= {
            "node.kubernetes.io/instance-type": "gpu-8x-h100",
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.count": str(gpus),
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/gpu.memory": "81559",
        }
        resources |= {"cpu": "96", "memory": "1000Gi", GPU_RESOURCE: str(gpus)}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "status": {"allocatable": resources, "capacity": resources},
    }
    if gpus:  # like managed GPU node pools: only pods that tolerate the taint land here
        node["spec"] = {"taints": [GPU_TAINT]}
    return node


def build_nodes() -> list[dict[str, Any]]:
    return [build_node(n, GPUS_PER_NODE) for n in GPU_NODES] + [build_node(n, 0) for n in CPU_NODES]


def _kwokctl(bins: Path, *args: str) -> None:
    env = os.environ | {"KWOK_WORKDIR": str(workdir()), "PATH": f"{bins}:{os.environ.get('PATH', '')}"}
    subprocess.run([str(bins / "kwokctl"), *args], check=True, env=env)


def build_kwokctl_config(version: str, *, real_node: bool, pki: Path) -> dict[str, Any]:
    """kwokctl's configuration. kwok manages only the simulated nodes. With a real node the API server listens on a
    fixed port that the node link forwards to, advertises the node link's host address (the `kubernetes` Service's
    endpoint), has a certificate naming that address and the Service IP, and authenticates to kubelets with the
    admin certificate. Pure."""
    options: dict[str, Any] = {"bindAddress": "127.0.0.1", "kubeVersion": version}
    patches: list[dict[str, Any]] = [
        {
            "name": "kwok-controller",
            "extraArgs": [
                {"key": "manage-all-nodes", "value": "false", "override": True},
                {"key": "manage-nodes-with-annotation-selector", "value": f"{KWOK_NODE_ANNOTATION}=fake"},
            ],
        },
        {
            "name": "kube-controller-manager",
            "extraArgs": [{"key": "service-cluster-ip-range", "value": network.SERVICE_CIDR}],
        },
    ]
    apiserver = [{"key": "service-cluster-ip-range", "value": network.SERVICE_CIDR}]
    if real_node:
        options["kubeApiserverCertSANs"] = [network.HOST_IP, network.KUBERNETES_SERVICE_IP]
        options["kubeApiserverPort"] = network.API_SERVER_PORT
        apiserver += [
            {"key": "advertise-address", "value": network.HOST_IP},
            {"key": "kubelet-preferred-address-types", "value": "InternalIP,Hostname"},
            {"key": "kubelet-client-certificate", "value": str(pki / "admin.crt")},
            {"key": "kubelet-client-key", "value": str(pki / "admin.key")},
        ]
    patches.append({"name": "kube-apiserver", "extraArgs": apiserver})
    return {
        "kind": "KwokctlConfiguration",
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "options": options,
        "componentsPatches": patches,
    }


def _nodes_ready(kubeconfig: Path) -> bool:
    out = kubectl(kubeconfig, "get", "nodes", "-o", "json", check=False)
    try:
        items = json.loads(out)["items"]
    except (ValueError, KeyError):
        return False
    ready = {
        item["metadata"]["name"]
        for item in items
        for cond in item.get("status", {}).get("conditions", [])
        if cond["type"] == "Ready" and cond["status"] == "True"
    }
    return ready >= set(GPU_NODES + CPU_NODES)


def up(name: str = DEFAULT_NAME, *, real_node: bool = False) -> Path:
    """Start the control plane, or reuse it when it answers with the same shape; return its kubeconfig path."""
    kubeconfig = kubeconfig_path(name)
    if is_reachable(kubeconfig) and _shape(name) == real_node:
        log(f"cluster {name!r} already running")
    else:
        _start(name, kubeconfig, real_node=real_node)
    _ensure_nodes(kubeconfig)
    _ensure_provisioner(name, kubeconfig)
    return kubeconfig


def _shape_file(name: str) -> Path:
    return workdir() / f"{name}.real-node"


def _shape(name: str) -> bool:
    """Whether the running control plane was started for a real node."""
    return _shape_file(name).exists()


def _ensure_nodes(kubeconfig: Path) -> None:
    classes = json.loads(kubectl(kubeconfig, "get", "storageclass", "-o", "json"))["items"]
    for found in classes:  # a cluster from before may have the class with another provisioner (an immutable field)
        if found["metadata"]["name"] == provisioner.STORAGE_CLASS and found["provisioner"] != provisioner.PROVISIONER:
            kubectl(kubeconfig, "delete", "storageclass", provisioner.STORAGE_CLASS)
    node_list = {"apiVersion": "v1", "kind": "List", "items": [*build_nodes(), provisioner.storage_class()]}
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(node_list))
    wait_for(lambda: _nodes_ready(kubeconfig), "simulated nodes to be Ready")


def _rundir(name: str) -> Path:
    return workdir() / name


def _ensure_provisioner(name: str, kubeconfig: Path) -> None:
    """Dynamic volumes for the default StorageClass: directories under the cache (provisioner.py)."""
    volumes = cache_root() / "volumes" / name
    daemons.start(_rundir(name), "provisioner", sys.executable, "-m", "localcluster.provisioner",
                  "--kubeconfig", kubeconfig, "--root", volumes)  # fmt: skip


def _start(name: str, kubeconfig: Path, *, real_node: bool) -> None:
    bins = bin_dir()
    workdir().mkdir(parents=True, exist_ok=True)
    version = bins.parent.name.removeprefix("k8s-")
    config = workdir() / f"{name}.kwokctl.yaml"
    config.write_text(yaml.safe_dump(build_kwokctl_config(version, real_node=real_node, pki=pki_dir(name))))
    started = time.monotonic()
    _kwokctl(bins, "delete", "cluster", "--name", name)  # leftovers of a crashed run; no-op otherwise
    kubeconfig.unlink(missing_ok=True)
    _shape_file(name).unlink(missing_ok=True)
    _kwokctl(
        bins,
        "--config", str(config),
        "create", "cluster",
        "--name", name,
        "--runtime", "binary",
        # Many objects at once (benchmarks, parallel rollouts): the default client QPS limits only slow things down.
        "--disable-qps-limits",
        "--kubeconfig", str(kubeconfig),
        "--etcd-binary", str(bins / "etcd"),
        "--kube-apiserver-binary", str(bins / "kube-apiserver"),
        "--kube-controller-manager-binary", str(bins / "kube-controller-manager"),
        "--kube-scheduler-binary", str(bins / "kube-scheduler"),
        "--kwok-controller-binary", str(bins / "kwok"),
        "--wait", "120s",
    )  # fmt: skip
    wait_for(lambda: is_reachable(kubeconfig), "kube-apiserver /readyz")
    if real_node:
        _shape_file(name).write_text("real node\n")
    log(f"cluster {name!r} started in {time.monotonic() - started:.1f}s")


def down(name: str = DEFAULT_NAME) -> None:
    daemons.stop(_rundir(name), "provisioner")
    bins = bin_dir()
    _kwokctl(bins, "delete", "cluster", "--name", name)
    kubeconfig_path(name).unlink(missing_ok=True)
    _shape_file(name).unlink(missing_ok=True)
