"""Server-side apply of desired children and pruning of the ones no longer desired.

Fields other managers added to a child (an env var, a sidecar) are deleted after the apply (k8s/drift.py).
Applies are skipped when neither the desired object nor the live object changed since the last apply, so a
steady state costs reads only. Pruning deletes only objects that carry the stack's labels *and* its
ownerReference."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from fathom_operator import constants as c
from fathom_operator import metrics
from fathom_operator.k8s import drift, resources
from fathom_operator.k8s.client import JSON, Kube
from fathom_operator.render import Manifest, meta
from fathom_operator.render.meta import StackRef

logger = logging.getLogger(__name__)

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
STRATEGIC_MERGE_CONTENT_TYPE = "application/strategic-merge-patch+json"
Key = tuple[str, str, str]  # kind, namespace, name


def key_of(manifest: Manifest) -> Key:
    return manifest["kind"], manifest["metadata"]["namespace"], manifest["metadata"]["name"]


def digest(manifest: Manifest) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


@dataclass
class AppliedCache:
    """What we last applied per object: (digest of our manifest, the live object's version then).

    The version is metadata.generation where the kind has one (it moves only when the spec changes, not on every
    status update), else resourceVersion."""

    entries: dict[Key, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def is_current(self, manifest: Manifest, live_version: str | None) -> bool:
        with self.lock:
            entry = self.entries.get(key_of(manifest))
        return entry is not None and entry == (digest(manifest), live_version)

    def remember(self, manifest: Manifest, version: str) -> None:
        with self.lock:
            self.entries[key_of(manifest)] = (digest(manifest), version)

    def forget(self, key: Key) -> None:
        with self.lock:
            self.entries.pop(key, None)


@dataclass(frozen=True)
class ApplyResult:
    applied: list[Key]
    skipped: list[Key]
    pruned: list[Key]


def live_version(item: JSON) -> str:
    md = item["metadata"]
    return f"g{md['generation']}" if "generation" in md else f"r{md['resourceVersion']}"


def list_children(kube: Kube, stack: StackRef, kind: resources.Kind) -> list[JSON]:
    selector = ",".join(f"{k}={v}" for k, v in meta.stack_labels(stack).items())
    items: list[JSON] = kube.get(kind.collection(stack.namespace), labelSelector=selector).get("items", [])
    return [item for item in items if _owned_by(item, stack)]


def _owned_by(item: JSON, stack: StackRef) -> bool:
    return any(ref.get("uid") == stack.uid for ref in item.get("metadata", {}).get("ownerReferences", []))


def _patch(kube: Kube, manifest: Manifest, body: JSON, *, content_type: str, write: str) -> JSON:
    kind = resources.kind_of(manifest)
    md = manifest["metadata"]
    metrics.WRITES.labels(write, kind.kind).inc()
    query = [("fieldManager", c.FIELD_MANAGER)] + ([("force", "true")] if write == "apply" else [])
    return kube.request("PATCH", kind.item(md["namespace"], md["name"]), body=body, query=query,
                        content_type=content_type)  # fmt: skip


def apply_one(kube: Kube, manifest: Manifest) -> JSON:
    return _patch(kube, manifest, manifest, content_type=APPLY_CONTENT_TYPE, write="apply")


def remove_foreign(kube: Kube, manifest: Manifest, patch: JSON) -> JSON:
    """Deletes what other managers added (a strategic merge patch from drift.foreign_additions)."""
    return _patch(kube, manifest, patch, content_type=STRATEGIC_MERGE_CONTENT_TYPE, write="heal")


def apply_stack(
    kube: Kube,
    stack: StackRef,
    desired: list[Manifest],
    kinds: Iterable[resources.Kind],
    cache: AppliedCache,
) -> ApplyResult:
    """Make the cluster hold exactly `desired` among the stack's children of `kinds`."""
    live: dict[Key, tuple[resources.Kind, JSON]] = {}
    for kind in kinds:
        for item in list_children(kube, stack, kind):
            md = item["metadata"]
            live[(kind.kind, md["namespace"], md["name"])] = (kind, item)
    applied, skipped = [], []
    for manifest in desired:
        key = key_of(manifest)
        current = live.get(key)
        version = live_version(current[1]) if current else None
        if cache.is_current(manifest, version):
            skipped.append(key)
            continue
        result = apply_one(kube, manifest)
        tampered = drift.foreign_additions(result, c.FIELD_MANAGER)
        if tampered is not None:  # apply keeps what other managers added: delete it
            logger.warning("%s %s/%s: removing fields the operator does not set: %s",
                           key[0], key[1], key[2], json.dumps(tampered))  # fmt: skip
            result = remove_foreign(kube, manifest, tampered)
        cache.remember(manifest, live_version(result))
        applied.append(key)
    wanted = {key_of(m) for m in desired}
    pruned = []
    for key, (kind, _) in live.items():
        if key in wanted:
            continue
        metrics.WRITES.labels("delete", kind.kind).inc()
        kube.request("DELETE", kind.item(key[1], key[2]), query=[("propagationPolicy", "Background")])
        cache.forget(key)
        pruned.append(key)
    return ApplyResult(applied, skipped, pruned)
