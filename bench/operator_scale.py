"""Operator benchmark on the local control plane (simulated nodes; kwok runs the pods).

Measures, for 1 and for N stacks created at once in one namespace: time from create to every child existing,
time to every stack Ready; then API writes over a steady-state window (operator write requests and
resourceVersion changes of stacks and children; target 0), and the operator's resident memory.

    .venv/bin/python -m bench.operator_scale --stacks 1 50 --steady-seconds 300
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from localcluster import controlplane as cluster
from tests.support import stacks
from tests.support.operator import OperatorProcess

CHILDREN_PER_STACK = 15  # 01-minimal: SA, 4 Deployments, 4 Services, ConfigMap, PDB, PVC, 3 NetworkPolicies
EXTRA_GPU_NODES = 14  # 16 GPU nodes x 8 GPUs: room for 50 stacks of two single-GPU models


def _rss_kib(pid: int) -> dict[str, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


def _versions(kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str) -> dict[Any, str]:
    out: dict[Any, str] = dict(stacks.versions(stacks.children(kube, namespace, None)))
    for item in custom.list_namespaced_custom_object("fathom.dev", "v1alpha1", namespace, "deepresearchstacks")[
        "items"
    ]:
        out[("stack", item["metadata"]["name"])] = item["metadata"]["resourceVersion"]
    return out


def _wait(predicate: Any, timeout: float, poll: float = 0.2) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError
        time.sleep(poll)
    return time.monotonic() - start


def run_round(kube: client.ApiClient, kubeconfig: Path, count: int, steady: float, workdir: Path) -> dict[str, Any]:
    core, custom = client.CoreV1Api(kube), client.CustomObjectsApi(kube)
    namespace = f"bench-{count}-{int(time.time())}"
    core.create_namespace({"metadata": {"name": namespace}})
    operator = OperatorProcess(kubeconfig, namespace, workdir / f"operator-{count}.log")
    operator.start()
    names = [f"stack-{i:03d}" for i in range(count)]
    try:
        start = time.monotonic()
        for name in names:
            stacks.create(custom, namespace, stacks.stack_body(name))
        _wait(lambda: len(stacks.children(kube, namespace, None)) >= count * CHILDREN_PER_STACK, 600)
        created_at = time.monotonic() - start
        ready_at = created_at + _wait(
            lambda: all(
                stacks.is_ready(s)
                for s in custom.list_namespaced_custom_object(
                    "fathom.dev", "v1alpha1", namespace, "deepresearchstacks"
                )["items"]
            ),
            900,
        )
        time.sleep(5)  # let the last pod and status events drain before the steady window opens
        writes_before = operator.metric("fathom_operator_write_requests_total")
        versions_before = _versions(kube, custom, namespace)
        time.sleep(steady)
        versions_after = _versions(kube, custom, namespace)
        writes = operator.metric("fathom_operator_write_requests_total") - writes_before
        changed = sum(1 for key, v in versions_after.items() if versions_before.get(key) != v)
        assert operator.process is not None
        memory = _rss_kib(operator.process.pid)
        return {
            "stacks": count,
            "seconds_to_all_children_created": round(created_at, 2),
            "seconds_to_all_ready": round(ready_at, 2),
            "steady_window_seconds": steady,
            "steady_write_requests": writes,
            "steady_write_requests_per_stack": writes / count,
            "steady_objects_changed": changed,
            "operator_rss_mib": round(memory["VmRSS"] / 1024, 1),
            "operator_peak_rss_mib": round(memory["VmHWM"] / 1024, 1),
        }
    finally:
        operator.stop()
        core.delete_namespace(namespace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", type=int, nargs="+", default=[1, 50], help="stack counts, one round each")
    parser.add_argument("--steady-seconds", type=float, default=300, help="steady-state window per round")
    parser.add_argument("--cluster", default="fathom-bench", help="local cluster name (started if needed)")
    args = parser.parse_args(argv)

    kubeconfig = cluster.up(args.cluster)
    extra = [cluster.build_node(f"gpu-node-{i}", cluster.GPUS_PER_NODE) for i in range(2, 2 + EXTRA_GPU_NODES)]
    cluster.kubectl(
        kubeconfig, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": extra})
    )
    repo = Path(__file__).resolve().parents[1]
    cluster.kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(repo / "crds"))
    cluster.kubectl(kubeconfig, "wait", "--for=condition=Established", "crd/deepresearchstacks.fathom.dev")
    kube = config.new_client_from_config(config_file=str(kubeconfig))
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for count in args.stacks:
            result = run_round(kube, kubeconfig, count, args.steady_seconds, Path(workdir))
            results.append(result)
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
