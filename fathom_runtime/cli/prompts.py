"""`fathom prompts import-reference`: the reference's exact prompt wording, for users who want it, without it ever
being part of this repository. The source files are downloaded at a pinned commit (or read from a checkout), checked
against pinned sha256 digests, and the prompt strings are lifted out with `ast` (nothing is imported or executed).
The result is written as prompt files or as a ConfigMap that a stack's `orchestrator.prompts.configMapName` names."""

from __future__ import annotations

import argparse
import ast
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
import yaml

REFERENCE_REPO = "FractalAIResearchLabs/Fathom-DeepResearch"
REFERENCE_COMMIT = "cdc2010be8b9b7627f82e6492148d1dc9964e0b1"
DEFAULT_SOURCE = f"https://raw.githubusercontent.com/{REFERENCE_REPO}/{REFERENCE_COMMIT}"
# The file names the orchestrator's prompt settings and the operator's ConfigMap mount agree on.
SEARCH_FILE = "search_system.md"
SYNTHESIS_FILE = "synthesis_system.md"
MAX_SOURCE_BYTES = 1_000_000


@dataclass(frozen=True)
class PromptSource:
    file: str  # written as this prompt file
    path: str  # in the reference repository
    sha256: str  # of the file at REFERENCE_COMMIT
    owner: str | None  # class whose body holds the assignment; None for module level
    name: str  # the assigned name


SOURCES = (
    PromptSource(
        SEARCH_FILE,
        "agents/inference/re_call.py",
        "815f730557bc0c0a748b0c09a0b029042f7fe4034d5f8bacb2b1c5034b56b1d3",
        "ReCall",
        "sys_prompt",
    ),
    PromptSource(
        SYNTHESIS_FILE,
        "prompts.py",
        "2ca3d9acf3cf88769224982a3a6e0fec406fd09abfdd538a0a9ef9fe106cefe6",
        None,
        "DEEPRESEARCH_SYS_PROMPT",
    ),
)
# The reference formats its tool list into `{func_schemas}`; ours is named `{tools}`.
REFERENCE_TOOLS_FIELD = "{func_schemas}"
OUR_TOOLS_FIELD = "{tools}"


class ImportFailed(Exception):
    """The reference could not be read, did not match its pinned digest, or did not hold the expected string."""


def extract_string(source: str, owner: str | None, name: str) -> str:
    """The string literal assigned to `name` at module level, or in the body of class `owner`. Pure: the source is
    parsed, never run."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ImportFailed(f"not valid Python: {exc.msg} (line {exc.lineno})") from exc
    body: list[ast.stmt] = tree.body
    if owner is not None:
        classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == owner]
        if not classes:
            raise ImportFailed(f"no class {owner}")
        body = classes[0].body
    for node in body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
            raise ImportFailed(f"{name} is not a plain string literal")
    raise ImportFailed(f"no assignment to {name}" + (f" in class {owner}" if owner else ""))


def to_search_template(text: str) -> str:
    """The reference's search prompt as our template: same bytes, its tool-list field renamed."""
    if text.count(REFERENCE_TOOLS_FIELD) != 1:
        raise ImportFailed(f"the search prompt must hold {REFERENCE_TOOLS_FIELD} exactly once")
    return text.replace(REFERENCE_TOOLS_FIELD, OUR_TOOLS_FIELD)


def build_configmap(name: str, namespace: str | None, prompts: dict[str, str]) -> str:
    metadata: dict[str, object] = {"name": name, "labels": {"app.kubernetes.io/part-of": "fathom"}}
    if namespace:
        metadata["namespace"] = namespace
    document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": prompts}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000)


def _read(base: str, path: str) -> bytes:
    if base.startswith(("http://", "https://")):
        try:
            response = httpx.get(f"{base.rstrip('/')}/{path}", timeout=30, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ImportFailed(f"cannot download {path}: {exc}") from exc
        content = response.content
    else:
        try:
            content = (Path(base) / path).read_bytes()
        except OSError as exc:
            raise ImportFailed(f"cannot read {path}: {exc.strerror}") from exc
    if len(content) > MAX_SOURCE_BYTES:
        raise ImportFailed(f"{path} is larger than {MAX_SOURCE_BYTES} bytes")
    return content


def import_reference(base: str, digests: dict[str, str]) -> dict[str, str]:
    """{prompt file name: text} from the reference at `base` (URL or directory), each source file checked against
    its digest (`digests` overrides the pinned ones by repository path)."""
    prompts = {}
    for source in SOURCES:
        content = _read(base, source.path)
        expected = digests.get(source.path, source.sha256)
        actual = hashlib.sha256(content).hexdigest()
        if actual != expected:
            raise ImportFailed(
                f"{source.path} has sha256 {actual}, expected {expected} (the pinned commit {REFERENCE_COMMIT[:12]}); "
                "refusing it. Review the file and pass --sha256 PATH=DIGEST to accept another version."
            )
        text = extract_string(content.decode("utf-8"), source.owner, source.name)
        prompts[source.file] = to_search_template(text) if source.file == SEARCH_FILE else text
    return prompts


def _digests(pairs: list[str]) -> dict[str, str]:
    digests = {}
    for pair in pairs:
        path, sep, digest = pair.partition("=")
        if not sep or len(digest) != 64:
            raise ImportFailed(f"--sha256 takes PATH=HEX (64 hex digits), not {pair!r}")
        digests[path] = digest.lower()
    return digests


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        prompts = import_reference(args.source or DEFAULT_SOURCE, _digests(args.sha256))
    except ImportFailed as exc:
        err.write(f"fathom prompts import-reference: {exc}\n")
        return 1
    if args.configmap:
        out.write(build_configmap(args.configmap, args.namespace, prompts))
        return 0
    directory = Path(args.out)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in prompts.items():
        (directory / name).write_text(text, encoding="utf-8")
        err.write(f"wrote {directory / name}\n")
    err.write(
        f"use them with FATHOM_SEARCH_PROMPT_FILE={directory / SEARCH_FILE} "
        f"FATHOM_SYNTHESIS_PROMPT_FILE={directory / SYNTHESIS_FILE}\n"
    )
    return 0
