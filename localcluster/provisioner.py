"""A local-path volume provisioner for the local cluster: every pending claim of the `standard` StorageClass gets a
world-writable directory on this machine and a hostPath PersistentVolume bound to it; released volumes and their
directories are deleted. (kube-controller-manager's own host-path provisioner makes directories only root can
write, which pods running as a non-root user cannot use.)

    python -m localcluster.provisioner --kubeconfig K --root DIR   (cluster.py starts it in the background)
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

PROVISIONER = "fathom.dev/local-path"
STORAGE_CLASS = "standard"
ANNOTATION = "fathom.dev/local-path"
logger = logging.getLogger("localcluster.provisioner")


def storage_class() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def build_volume(claim: dict[str, Any], path: Path) -> dict[str, Any]:
    """The PersistentVolume for one claim (as the API returns it), pre-bound to it. Pure."""
    meta, spec = claim["metadata"], claim["spec"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"pvc-{meta['uid']}", "annotations": {ANNOTATION: str(path)}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": list(spec["accessModes"]),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STORAGE_CLASS,
            "hostPath": {"path": str(path), "type": "Directory"},
            "claimRef": {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
        },
    }


def _items(response: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(response.data)["items"]
    return items


def sync(core: Any, root: Path) -> None:
    """One pass: provision pending claims, delete released volumes. `core` is a CoreV1Api; lists are read as raw
    JSON so that this module works with plain dicts."""
    for claim in _items(core.list_persistent_volume_claim_for_all_namespaces(_preload_content=False)):
        meta, spec = claim["metadata"], claim["spec"]
        wanted = spec.get("storageClassName") in (None, STORAGE_CLASS)
        if not wanted or spec.get("volumeName") or claim.get("status", {}).get("phase") != "Pending":
            continue
        path = root / f"{meta['namespace']}-{meta['name']}-{meta['uid']}"
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)  # pods run as non-root users of any id
        try:
            core.create_persistent_volume(build_volume(claim, path))
            logger.info("provisioned %s for %s/%s", path, meta["namespace"], meta["name"])
        except client.ApiException as exc:
            if exc.status != 409:  # 409: an earlier pass made it
                raise
    for volume in _items(core.list_persistent_volume(_preload_content=False)):
        annotations = volume["metadata"].get("annotations") or {}
        if ANNOTATION in annotations and volume.get("status", {}).get("phase") in ("Released", "Failed"):
            shutil.rmtree(annotations[ANNOTATION], ignore_errors=True)
            core.delete_persistent_volume(volume["metadata"]["name"])
            logger.info("deleted %s", volume["metadata"]["name"])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m localcluster.provisioner")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--root", required=True, help="directory for the volumes")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    core = client.CoreV1Api(config.new_client_from_config(config_file=args.kubeconfig))  # type: ignore[no-untyped-call]  # untyped in kubernetes
    root = Path(args.root)
    while True:
        try:
            sync(core, root)
        except Exception:  # the API server restarting, say: log it and try again next pass
            logger.exception("sync failed")
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
