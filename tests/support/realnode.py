"""Real pods on the cluster's real node: loading images, installing the chart, an in-cluster site serving a small
corpus, port-forwards and exec. Every address involved lives inside the node's network namespace."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from localcluster import images, node
from localcluster.tools import kubectl, kubectl_binary, wait_for

STUB = images.Image("docker.io/fathom-test/sglang-stub:dev", "tests/images/sglang-stub/Dockerfile", context="tests")
RUNTIME_IMAGE = f"fathom-stack/runtime:{images.project_version()}"
ON_REAL_NODE = node.POD_PLACEMENT
SMALL = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "768Mi"}}
CORPUS = Path(__file__).parents[1] / "fixtures" / "cluster-corpus"


def ensure_images() -> None:
    """The project's images (built by `make images` when missing) and the SGLang stub, loaded into the node."""
    for archive in [*images.build_all(), images.build_if_changed(STUB)]:
        node.import_if_changed(archive)


def apply(kubeconfig: Path, namespace: str, *objects: dict[str, Any]) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    kubectl(kubeconfig, "-n", namespace, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=body)


def corpus_site(namespace: str) -> list[dict[str, Any]]:
    """A ConfigMap with the corpus pages and a web server (the runtime image's Python) serving them as `docs`."""
    pages = {path.name: path.read_text() for path in sorted(CORPUS.iterdir())}
    labels = {"app": "docs"}
    container = {
        "name": "web",
        "image": RUNTIME_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["python3", "-m", "http.server", "8000", "--directory", "/srv"],
        "ports": [{"containerPort": 8000}],
        "readinessProbe": {"tcpSocket": {"port": 8000}, "periodSeconds": 1},
        "resources": SMALL,
        "volumeMounts": [{"name": "pages", "mountPath": "/srv"}],
        "securityContext": restricted_container(),
    }
    pod = {"containers": [container], "volumes": [{"name": "pages", "configMap": {"name": "docs-pages"}}]}
    pod |= ON_REAL_NODE | {"securityContext": restricted_pod()}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "docs-pages", "namespace": namespace},
         "data": pages},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "docs", "namespace": namespace},
         "spec": {"selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "docs", "namespace": namespace},
         "spec": {"selector": labels, "ports": [{"port": 8000, "targetPort": 8000}]}},
    ]  # fmt: skip


def restricted_pod() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}


def restricted_container() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}


def wait_rollout(kubeconfig: Path, namespace: str, deployment: str, timeout: int = 180) -> None:
    kubectl(kubeconfig, "-n", namespace, "rollout", "status", f"deployment/{deployment}", f"--timeout={timeout}s")


def exec_python(kubeconfig: Path, namespace: str, target: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in a container of TARGET (pod/NAME or deploy/NAME)."""
    return subprocess.run(
        [kubectl_binary(), f"--kubeconfig={kubeconfig}", "-n", namespace, "exec", target, "--", "python3", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )


def pods_of(kubeconfig: Path, namespace: str, selector: str) -> list[dict[str, Any]]:
    out = kubectl(kubeconfig, "-n", namespace, "get", "pods", "-l", selector, "-o", "json")
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def wait_ready_pods(kubeconfig: Path, namespace: str, selector: str, count: int, timeout: float = 180) -> None:
    def ready() -> bool:
        pods = [p for p in pods_of(kubeconfig, namespace, selector) if not p["metadata"].get("deletionTimestamp")]
        ok = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                     for c in p.get("status", {}).get("conditions", []))]  # fmt: skip
        return len(ok) >= count

    wait_for(ready, f"{count} ready pod(s) for {selector} in {namespace}", timeout=timeout, interval=1)


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f}s"
