"""Fixtures for operator tests: the CRD installed once, one operator subprocess per test namespace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from localcluster import controlplane as cluster
from tests.support.operator import OperatorProcess

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def crd(kubeconfig: Path) -> None:
    cluster.kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    cluster.kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
                    "crd/deepresearchstacks.fathom.dev")  # fmt: skip


@pytest.fixture
def operator(crd: None, kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(kubeconfig, namespace, tmp_path / "operator.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def custom(kube: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube)
