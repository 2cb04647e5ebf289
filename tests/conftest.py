"""Suite-wide settings: markers by folder, UTC clock, and the shared local cluster fixtures."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcluster import cluster, controlplane, network, node, tools

os.environ["TZ"] = "UTC"
time.tzset()

TEST_CLUSTER = "fathom-test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for marker in ("unit", "integration", "e2e", "realnode"):
            if f"{os.sep}{marker}{os.sep}" in str(item.path):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """A running control plane: the one KUBECONFIG points at if it answers, else our own for the session."""
    given = os.environ.get("KUBECONFIG")
    if given and tools.is_reachable(Path(given)):
        yield Path(given)
        return
    already_up = tools.is_reachable(controlplane.kubeconfig_path(TEST_CLUSTER))
    try:
        path = cluster.up(TEST_CLUSTER)
    except Exception:  # half started: leave nothing running behind the failure
        if not already_up:
            cluster.down(TEST_CLUSTER)
        raise
    yield path
    if not already_up and os.environ.get("FATHOM_KEEP_CLUSTER") != "1":
        cluster.down(TEST_CLUSTER)


@pytest.fixture(scope="session")
def real_node(kubeconfig: Path) -> str:
    """The name of the cluster's real kubelet node. Skipped where it cannot run (not root, containerd missing), unless
    FATHOM_REQUIRE_REAL_NODE=1 (CI), where its absence is an error."""
    if not node.is_running():
        reason = node.unavailable_reason() or "the cluster was started without the real node"
        if os.environ.get("FATHOM_REQUIRE_REAL_NODE") == "1":
            pytest.fail(f"the real node is required but not running: {reason}")
        pytest.skip(f"no real node: {reason}")
    # node.up() checks this before containerd starts; every test that starts pods checks it again first.
    assert network.guard_problems() == []
    return node.NODE_NAME


@pytest.fixture
def kube(kubeconfig: Path) -> Iterator[object]:
    """A kubernetes ApiClient for the test cluster."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(kubeconfig))
    yield client
    client.close()


@pytest.fixture
def namespace(kube: object) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting for finalization)."""
    from kubernetes import client

    core = client.CoreV1Api(kube)
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"fathom.dev/test": "true"}}})
    yield name
    core.delete_namespace(name, propagation_policy="Background")
