"""The Helm chart as a platform team uses it: strict lint, values typos and footguns refused with a reason, two
releases side by side, an upgrade, and uninstalls that leave nothing cluster-wide behind."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcluster.tools import REPO, bin_dir, kubectl

CHART = REPO / "charts" / "fathom"


def _helm(*args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    config = [f"--kubeconfig={kubeconfig}"] if kubeconfig else []
    return subprocess.run([str(bin_dir() / "helm"), *config, *args], capture_output=True, text=True, timeout=300)


def test_the_chart_lints_strictly_and_refuses_typos_and_footguns() -> None:
    assert _helm("lint", "--strict", str(CHART)).returncode == 0
    typo = _helm("lint", "--strict", str(CHART), "--set", "replicaz=2")
    assert typo.returncode != 0 and "additional properties 'replicaz' not allowed" in typo.stdout + typo.stderr
    wrong_type = _helm("template", "x", str(CHART), "--set", "admissionPolicy.enabled=yes please")
    assert wrong_type.returncode != 0
    unelected = _helm("template", "x", str(CHART), "--set", "replicas=2", "--set", "peering.enabled=false")
    assert "replicas > 1 needs peering.enabled=true" in unelected.stderr
    unwatched = _helm("template", "x", str(CHART), "-n", "a", "--set", "exampleStack.enabled=true",
                      "--set", "watchNamespaces={b}")  # fmt: skip
    assert "which watchNamespaces does not include" in unwatched.stderr


def test_the_service_monitor_is_rendered_only_where_its_api_exists() -> None:
    wanted = ("--set", "metrics.serviceMonitor.enabled=true")
    assert "kind: ServiceMonitor" not in _helm("template", "x", str(CHART), *wanted).stdout
    served = _helm("template", "x", str(CHART), *wanted, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor")
    assert "kind: ServiceMonitor" in served.stdout


def test_the_plain_manifests_do_not_claim_helm() -> None:
    text = (REPO / "deploy" / "install.yaml").read_text()
    assert "managed-by: Helm" not in text and "helm.sh/chart" not in text


@pytest.fixture
def two_namespaces(kubeconfig: Path) -> Iterator[list[str]]:
    names = [f"chart-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    yield names
    for name in names:
        kubectl(kubeconfig, "delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)


def _cluster_objects(kubeconfig: Path, release: str, namespace: str) -> list[str]:
    kinds = "clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings"
    found = json.loads(kubectl(kubeconfig, "get", kinds, "-o", "json"))["items"]
    prefix = f"{namespace}-{release}-operator"
    return [item["metadata"]["name"] for item in found if item["metadata"]["name"].startswith(prefix)]


def test_two_releases_coexist_upgrade_and_uninstall_cleanly(kubeconfig: Path, two_namespaces: list[str]) -> None:
    first = two_namespaces[0]
    for namespace in two_namespaces:  # the same release name in two namespaces
        done = _helm("install", "fathom", str(CHART), "-n", namespace, "--create-namespace",
                     "--set", f"watchNamespaces={{{namespace}}}", kubeconfig=kubeconfig)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert _cluster_objects(kubeconfig, "fathom", namespace), namespace
    upgraded = _helm("upgrade", "fathom", str(CHART), "-n", first, "--reuse-values", "--set", "replicas=2",
                     kubeconfig=kubeconfig)  # fmt: skip
    assert upgraded.returncode == 0, upgraded.stderr
    deployment = json.loads(kubectl(kubeconfig, "-n", first, "get", "deploy", "fathom-operator", "-o", "json"))
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["labels"]["helm.sh/chart"] == "fathom-0.1.0"
    for namespace in two_namespaces:
        assert _helm("uninstall", "fathom", "-n", namespace, "--wait", kubeconfig=kubeconfig).returncode == 0
        assert _cluster_objects(kubeconfig, "fathom", namespace) == []
