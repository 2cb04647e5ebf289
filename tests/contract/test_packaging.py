"""Install artefacts agree with their sources: chart CRDs, the plain-manifest install, least-privilege RBAC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from localcluster import controlplane as cluster

REPO = Path(__file__).resolve().parents[2]


def _helm() -> str:
    return str(cluster.bin_dir() / "helm")


def test_chart_carries_the_same_crds() -> None:
    ours = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (REPO / "charts" / "fathom" / "crds").glob("*.yaml")}
    assert ours == chart


def test_install_manifest_is_rendered_from_the_chart() -> None:
    env = {"HELM": _helm(), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(REPO / "hack" / "gen-install.sh"), "--check"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_chart_lints() -> None:
    result = subprocess.run([_helm(), "lint", str(REPO / "charts" / "fathom")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _rendered(*args: str) -> list[dict]:
    out = subprocess.run(
        [_helm(), "template", "fathom", str(REPO / "charts" / "fathom"), "--namespace", "ops", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_rbac_names_every_verb_and_resource_and_never_secrets() -> None:
    for docs in (_rendered(), _rendered("--set", "watchNamespaces={a,b}")):
        roles = [d for d in docs if d["kind"] in ("ClusterRole", "Role")]
        assert roles
        for role in roles:
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
                assert "secrets" not in rule["resources"]


def test_namespaced_install_uses_roles() -> None:
    docs = _rendered("--set", "watchNamespaces={team-a}")
    kinds = {(d["kind"], d["metadata"].get("namespace")) for d in docs}
    assert ("Role", "team-a") in kinds and ("RoleBinding", "team-a") in kinds
    cluster_roles = [d for d in docs if d["kind"] == "ClusterRole"]
    # Only the read-only discovery role is cluster-wide.
    assert [r["metadata"]["name"] for r in cluster_roles] == ["ops-fathom-operator-discovery"]
    assert {tuple(rule["verbs"]) for rule in cluster_roles[0]["rules"]} == {("get", "list", "watch")}
    operator = next(d for d in docs if d["kind"] == "Deployment")
    assert "--namespace=team-a" in operator["spec"]["template"]["spec"]["containers"][0]["args"]


def test_operator_pod_is_restricted() -> None:
    operator = next(d for d in _rendered() if d["kind"] == "Deployment")
    pod = operator["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert (
        pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    )
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["args"][:2] == ["--all-namespaces", "--peering=fathom-operator"]
