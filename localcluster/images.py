"""Builds this project's images without Docker or a registry, from the Dockerfiles in images/ as they are.

The Dockerfiles start `FROM python:3.11-slim`, which cannot be pulled here. A stand-in with the same contract (a
Debian bookworm root filesystem with Python 3.11 and pip on PATH, pip allowed to install system-wide) is made once
with debootstrap from the machine's Debian mirror and stored under that name in buildah's local storage; buildah
then builds each Dockerfile unchanged (--pull=never, chroot isolation), with its layers cached under ~/.cache.
The results are saved as OCI archives that the local node's containerd imports."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from localcluster.tools import REPO, cache_root, log, run

BASE_NAME = "docker.io/library/python:3.11-slim"
BASE_PACKAGES = ("python3", "python3-pip", "python-is-python3", "ca-certificates", "passwd")
LOCK = REPO / "requirements.lock"


def pinned(package: str) -> str:
    """The version requirements.lock pins for `package`."""
    match = re.search(rf"^{re.escape(package)}==(\S+)", LOCK.read_text(), re.M)
    if match is None:
        raise RuntimeError(f"{LOCK.name} does not pin {package}")
    return match.group(1)


SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What debootstrap leaves that an image does not need.
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "var/cache/apt", "var/lib/apt/lists", "var/log")


@dataclass(frozen=True)
class Image:
    name: str  # as pods reference it (docker.io/ is what a bare name means)
    dockerfile: str  # relative to the repository
    context: str = "."  # build context, relative to the repository


def project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    if match is None:
        raise RuntimeError("pyproject.toml has no version")
    return match.group(1)


def project_images() -> list[Image]:
    """The images the chart and the operator name by default (fathom-stack/<name>:<version>)."""
    version = project_version()
    return [
        Image(f"docker.io/fathom-stack/{name}:{version}", f"images/{name}.Dockerfile")
        for name in ("operator", "runtime", "llamacpp", "python-docs")
    ]


def project_image(name: str) -> Image:
    return next(image for image in project_images() if image.dockerfile == f"images/{name}.Dockerfile")


def images_dir() -> Path:
    return cache_root() / "images"


def archive_path(image: Image) -> Path:
    return images_dir() / (image.name.rsplit("/", 1)[1].replace(":", "_") + ".oci.tar")


def _buildah(*args: str | Path) -> subprocess.CompletedProcess[str]:
    storage = cache_root() / "buildah"
    return run("buildah", "--root", storage / "root", "--runroot", storage / "run", "--storage-driver", "overlay",
               *args)  # fmt: skip


def debian_mirror() -> str:
    """The mirror apt on this machine uses (deb822 or one-line sources), else Debian's own."""
    sources = [*Path("/etc/apt/sources.list.d").glob("*.sources"), *Path("/etc/apt/sources.list.d").glob("*.list")]
    sources.append(Path("/etc/apt/sources.list"))
    for path in sources:
        if not path.exists():
            continue
        text = path.read_text()
        for pattern in (r"^URIs:\s*(\S+/debian)\s*$", r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian)\s+"):
            match = re.search(pattern, text, re.M)
            if match:
                return match.group(1)
    return DEFAULT_MIRROR


def _base_key(mirror: str) -> str:
    recipe = f"{SUITE}|{mirror}|{','.join(BASE_PACKAGES)}|pip=={pinned('pip')}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _has_image(name: str) -> bool:
    storage = cache_root() / "buildah"
    check = ["buildah", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
             "--storage-driver", "overlay", "inspect", "--type", "image", name]  # fmt: skip
    return subprocess.run(check, capture_output=True).returncode == 0


def ensure_base() -> None:
    """The python:3.11-slim stand-in in buildah's storage (built once per mirror and package list)."""
    mirror = debian_mirror()
    key = _base_key(mirror)
    marker = images_dir() / f"base-{key}.done"
    if marker.exists() and _has_image(BASE_NAME):
        return
    started = time.monotonic()
    rootfs = images_dir() / f"base-{key}"
    shutil.rmtree(rootfs, ignore_errors=True)
    log(f"debootstrap {SUITE} from {mirror} (once) ...")
    run("debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, rootfs, mirror)
    for path in TRIM:
        shutil.rmtree(rootfs / path, ignore_errors=True)
        (rootfs / path).mkdir(parents=True, exist_ok=True)
    # The official image's pip installs into the system, and it is a current pip (Debian's 23.0 mishandles
    # normalised extra names such as lxml[html-clean]); Debian also marks its Python as externally managed.
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    wheels = rootfs / "tmp/pip-wheel"
    pip = f"pip=={pinned('pip')}"
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", wheels, pip)
    run(
        "chroot",
        rootfs,
        "python3",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        "/tmp/pip-wheel",
        pip,
    )
    shutil.rmtree(wheels)
    container = _buildah("from", "scratch").stdout.strip()
    try:
        _buildah("copy", container, f"{rootfs}/", "/")
        _buildah("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 "--env", "LANG=C.UTF-8", "--cmd", "python3", container)  # fmt: skip
        _buildah("commit", "--rm", container, BASE_NAME)
    except Exception:
        _buildah("rm", container)
        raise
    shutil.rmtree(rootfs, ignore_errors=True)
    marker.write_text(mirror + "\n")
    log(f"base image {BASE_NAME} ready in {time.monotonic() - started:.0f}s")


def _trust_args() -> list[str]:
    """The machine's CA bundle, mounted into RUN steps only (never into the image): where registries are reached
    through a TLS-inspecting proxy, its CA is in that bundle, not in the base image's."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    return ["--volume", f"{bundle}:{bundle}:ro"] if bundle.exists() else []


def copied_sources(dockerfile: str) -> list[str]:
    """What a Dockerfile copies from its build context (COPY/ADD without --from), in order. Pure."""
    sources: list[str] = []
    for line in dockerfile.splitlines():
        words = line.split()
        if len(words) < 3 or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        sources += args[:-1]
    return sources


def base_images(dockerfile: str) -> list[str]:
    """The images a Dockerfile starts its stages from (not its own earlier stages). Pure."""
    stages: set[str] = set()
    bases: list[str] = []
    for line in dockerfile.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM":
            if words[1] not in stages and words[1] not in bases:
                bases.append(words[1])
            if len(words) >= 4 and words[2].upper() == "AS":
                stages.add(words[3])
    return bases


def _image_id(name: str) -> str:
    return _buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", name).stdout.strip()


def inputs_digest(image: Image) -> str:
    """A digest of everything the build reads: the Dockerfile, the files it copies and its base images."""
    dockerfile = (REPO / image.dockerfile).read_text()
    digest = hashlib.sha256(dockerfile.encode())
    for base in base_images(dockerfile):
        digest.update(base.encode() + b"=" + (_image_id(base) if _has_image(base) else "").encode())
    context = REPO / image.context
    for source in copied_sources(dockerfile):
        root = context / source
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_if_changed(image: Image) -> Path:
    """The image's archive, rebuilt when what it is built from changed since (a cached archive of older sources
    would otherwise run in tests)."""
    archive = archive_path(image)
    stamp = archive.with_suffix(".inputs")
    wanted = inputs_digest(image)
    if archive.exists() and stamp.exists() and stamp.read_text() == wanted:
        return archive
    build(image)
    stamp.write_text(wanted)
    return archive


def build(image: Image) -> Path:
    """Build one Dockerfile with buildah (layers cached) and save it as an OCI archive; returns the archive."""
    started = time.monotonic()
    log(f"building {image.name} from {image.dockerfile} ...")
    _buildah("bud", "--pull=never", "--layers", "--isolation=chroot", "--network=host", *_trust_args(),
             "-f", REPO / image.dockerfile, "-t", image.name, REPO / image.context)  # fmt: skip
    archive = archive_path(image)
    archive.unlink(missing_ok=True)
    _buildah("push", image.name, f"oci-archive:{archive}:{image.name}")
    log(f"{image.name} built in {time.monotonic() - started:.0f}s ({archive.stat().st_size / 2**20:.0f} MiB)")
    return archive


def build_all() -> list[Path]:
    """Every project image, rebuilt where its inputs changed."""
    images_dir().mkdir(parents=True, exist_ok=True)
    ensure_base()
    return [build_if_changed(image) for image in project_images()]
