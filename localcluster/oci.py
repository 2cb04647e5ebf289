"""Packs files into a single-layer OCI image archive that `ctr images import` accepts: how the local node gets its
pause and CoreDNS images without a registry or Docker. Deterministic: the same files give the same digests."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def _layer(files: Mapping[str, Path]) -> bytes:
    """A tar of {path in image: file on disk}, owned by root, mtime 0, executable bits kept."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for target in sorted(files):
            source = files[target]
            info = tarfile.TarInfo(target.lstrip("/"))
            data = source.read_bytes()
            info.size, info.mode, info.mtime = len(data), source.stat().st_mode & 0o777, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size, info.mtime = len(data), 0
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}"


def write_image(out: Path, name: str, files: Mapping[str, Path], config: Mapping[str, Any]) -> None:
    """An OCI archive at `out` holding one image called `name` (e.g. docker.io/fathom-stack/pause:local) with the
    given files and image config (Entrypoint, User, Env, ...)."""
    layer = _layer(files)
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": dict(config),
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]},
    }
    with tarfile.open(out, "w") as tar:
        layer_digest = _blob(tar, layer)
        config_bytes = json.dumps(image_config, sort_keys=True).encode()
        config_digest = _blob(tar, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config_bytes)},
            "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": len(layer)}],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_digest = _blob(tar, manifest_bytes)
        annotations = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": MANIFEST_TYPE,
                    "digest": manifest_digest,
                    "size": len(manifest_bytes),
                    "annotations": annotations,
                }
            ],
        }
        for member, data in (
            ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
            ("index.json", json.dumps(index).encode()),
        ):
            info = tarfile.TarInfo(member)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
