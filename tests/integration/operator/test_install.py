"""deploy/install.yaml installs cleanly, and the operator works with nothing but the RBAC it grants."""

from __future__ import annotations

from pathlib import Path

import yaml
from kubernetes import client

from localcluster import controlplane as cluster
from tests.support import stacks
from tests.support.kube import eventually
from tests.support.operator import OperatorProcess

REPO = Path(__file__).resolve().parents[3]
SA = "system:serviceaccount:fathom-system:fathom-operator"


def _service_account_kubeconfig(admin: Path, path: Path) -> Path:
    """A kubeconfig that authenticates as the operator's ServiceAccount (a short-lived token)."""
    token = cluster.kubectl(admin, "-n", "fathom-system", "create", "token", "fathom-operator").strip()
    config = yaml.safe_load(admin.read_text())
    config["users"] = [{"name": "operator", "user": {"token": token}}]
    for ctx in config["contexts"]:
        ctx["context"]["user"] = "operator"
    path.write_text(yaml.safe_dump(config))
    return path


def test_operator_reconciles_with_only_its_own_rbac(
    kubeconfig: Path, kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    cluster.kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "deploy/install.yaml"))
    cluster.kubectl(kubeconfig, "wait", "--for=condition=Established", "crd/deepresearchstacks.fathom.dev")

    def can(verb: str, resource: str) -> bool:
        out = cluster.kubectl(kubeconfig, "auth", "can-i", verb, resource, "--as", SA, "-n", namespace, check=False)
        return out.strip().startswith("yes")

    assert can("patch", "deployments.apps") and can("patch", "deepresearchstacks.fathom.dev/status")
    assert not can("get", "secrets") and not can("create", "pods") and not can("delete", "deepresearchstacks")

    operator = OperatorProcess(_service_account_kubeconfig(kubeconfig, tmp_path / "sa.kubeconfig"), namespace,
                               tmp_path / "operator.log")  # fmt: skip
    operator.start()
    try:
        custom = client.CustomObjectsApi(kube)
        stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
        eventually(lambda: stacks.is_ready(stacks.get(custom, namespace, "research")), "Ready under operator RBAC",
                   timeout=90)  # fmt: skip
        assert "Forbidden" not in operator.log_tail(400)
    finally:
        operator.stop()


def test_install_manifest_runs_the_operator_pod_restricted(kubeconfig: Path, kube: client.ApiClient) -> None:
    cluster.kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "deploy/install.yaml"))
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    core.patch_namespace(
        "fathom-system", {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )
    # A new rollout makes the ReplicaSet create a pod under the restricted policy; a refused pod never gets ready.
    rollout = {"spec": {"template": {"metadata": {"annotations": {"fathom.dev/test-rollout": "1"}}}}}
    apps.patch_namespaced_deployment("fathom-operator", "fathom-system", rollout)

    def rolled_out() -> bool:
        status = apps.read_namespaced_deployment("fathom-operator", "fathom-system").status
        return status.updated_replicas == 1 and status.ready_replicas == 1 and status.replicas == 1

    eventually(rolled_out, "the operator pod to run in a restricted namespace")
