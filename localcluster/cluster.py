"""The whole local cluster: the control plane with its simulated nodes, and the real node when this machine can run
one (root, containerd and friends; FATHOM_REAL_NODE=0 turns it off)."""

from __future__ import annotations

import os
from pathlib import Path

from localcluster import controlplane, images, network, node
from localcluster.tools import bin_dir, log

DEFAULT_NAME = controlplane.DEFAULT_NAME


def real_node_wanted() -> bool:
    if os.environ.get("FATHOM_REAL_NODE", "1") == "0":
        return False
    reason = node.unavailable_reason()
    if reason:
        log(f"no real node: {reason}")
    return reason is None


def up(name: str = DEFAULT_NAME, *, real_node: bool | None = None) -> Path:
    """Start (or reuse) the cluster; return the admin kubeconfig."""
    real = real_node_wanted() if real_node is None else real_node
    if real and node.owner() not in (None, name):
        raise RuntimeError(
            f"the real node belongs to the running cluster {node.owner()!r} (one per machine): stop it with "
            f"`python -m localcluster down --name {node.owner()}`, or use it (KUBECONFIG)"
        )
    kubeconfig = controlplane.up(name, real_node=real)
    if real:
        server = f"https://{network.HOST_IP}:{network.API_SERVER_PORT}"
        node.up(cluster=name, admin=kubeconfig, pki_dir=controlplane.pki_dir(name), server=server, bins=bin_dir())
    return kubeconfig


def down(name: str = DEFAULT_NAME) -> None:
    if node.owner() in (None, name):
        node.down()
    controlplane.down(name)


def load_images(archives: list[Path]) -> None:
    """Import image archives into the real node (a no-op for an image it already holds at the same digest)."""
    for archive in archives:
        node.import_if_changed(archive)


def build_images() -> list[Path]:
    archives = images.build_all()
    if node.is_running():
        load_images(archives)
    return archives
