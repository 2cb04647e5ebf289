"""Client certificates for the real node's components, signed by the local cluster's CA (kwokctl made it), and the
kubeconfigs that carry them. openssl does the cryptography."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from localcluster.tools import run


def issue_client_cert(ca_dir: Path, out_dir: Path, name: str, *, common_name: str, organization: str) -> None:
    """out_dir/name.crt and name.key for CN=common_name, O=organization (the identity the API server sees)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key, csr, crt = (out_dir / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    if crt.exists() and key.exists():
        return
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-subj", f"/O={organization}/CN={common_name}", "-out", csr)  # fmt: skip
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_dir / "ca.crt", "-CAkey", ca_dir / "ca.key",
        "-set_serial", f"0x{secrets.randbits(63):x}", "-days", "365", "-out", crt)  # fmt: skip
    csr.unlink()
    key.chmod(0o600)


def write_kubeconfig(path: Path, *, server: str, ca: Path, cert: Path, key: Path, user: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }
    text = yaml.safe_dump(config, sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        path.chmod(0o600)
