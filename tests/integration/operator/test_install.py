"""deploy/install.yaml installs cleanly, and the operator works with nothing but the RBAC it grants."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from kubernetes import client

from localcluster import controlplane as cluster
from localcluster.tools import kubectl_binary
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


def _deployment(name: str, owner: dict, *, account: str = "research-runtime", **pod: object) -> dict:
    labels = {"app.kubernetes.io/instance": "research", "app.kubernetes.io/managed-by": "fathom-operator"}
    spec = {"serviceAccountName": account, "containers": [{"name": "c", "image": "fathom-stack/runtime:0.1.0"}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
        "spec": {"selector": {"matchLabels": {"x": name}},
                 "template": {"metadata": {"labels": {"x": name}}, "spec": spec | pod}},
    }  # fmt: skip


def test_the_admission_policy_limits_what_the_operator_identity_may_write(
    kubeconfig: Path, kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    cluster.kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "deploy/install.yaml"))
    as_operator = _service_account_kubeconfig(kubeconfig, tmp_path / "sa.kubeconfig")

    def write(body: dict, ns: str = namespace) -> str:
        """Server-side dry run under the operator's identity: admission runs, nothing is stored."""
        path = tmp_path / "body.json"
        path.write_text(json.dumps(body))
        done = subprocess.run([kubectl_binary(), f"--kubeconfig={as_operator}", "-n", ns, "create", "--dry-run=server",
                               "-f", str(path)], capture_output=True, text=True, timeout=60)  # fmt: skip
        return "allowed" if done.returncode == 0 else done.stderr

    orphan = {"apiVersion": "fathom.dev/v1alpha1", "kind": "DeepResearchStack", "name": "research",
              "uid": "00000000-0000-0000-0000-000000000000", "controller": True}  # fmt: skip
    # No stack in the namespace (nor in kube-system): nothing may be written there.
    assert "allowed" != write(_deployment("early", orphan))
    assert "allowed" != write(_deployment("system", orphan), ns="kube-system")

    custom = client.CustomObjectsApi(kube)
    body = stacks.example("01-minimal.yaml")  # names the Secret "serper" for the search API key
    stack = stacks.create(custom, namespace, body)
    owner = orphan | {"uid": stack["metadata"]["uid"]}
    secret_env = [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "serper", "key": "api-key"}}}]
    assert write(_deployment("proper", owner, containers=[{"name": "c", "image": "i", "env": secret_env}])) == "allowed"

    refusals = {
        "must run as the stack's runtime ServiceAccount": _deployment("sa", owner, account="default"),
        "may only use the Secrets its spec names": _deployment("steal", owner, volumes=[
            {"name": "s", "secret": {"secretName": "someone-elses-db"}}]),
        "may not use the host": _deployment("host", owner, volumes=[{"name": "h", "hostPath": {"path": "/"}}]),
        "owned (controller ownerReference) by the stack": _deployment("fake-owner", orphan),
        "labelled as children": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "loose"}},
        "the only ServiceAccount": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
            "name": "admin", "labels": _deployment("x", owner)["metadata"]["labels"], "ownerReferences": [owner]}},
    }  # fmt: skip
    for message, refused in refusals.items():
        outcome = write(refused)
        assert outcome != "allowed" and message in outcome, (message, outcome)
