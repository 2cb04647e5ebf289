"""Fields someone else added to a child: an extra env var, a sidecar container, a ConfigMap key. Server-side apply
overwrites the values the operator sets but leaves fields other managers own, so these are found in the object's
managedFields (owned by another manager, not by ours) and deleted with a strategic merge patch. Pure.

Only the spec (and a ConfigMap's data) is healed: labels and annotations belong to everyone (`kubectl rollout
restart` writes one), and fields the control plane writes (a PVC's bound volume, replicas through the scale
subresource) are left alone."""

from __future__ import annotations

import json
from typing import Any

from fathom_operator.k8s.client import JSON

HEALED_ROOTS = ("f:spec", "f:data", "f:binaryData")
# The control plane writes some spec fields itself (the PV binder sets a claim's volumeName).
CONTROL_PLANE_MANAGERS = frozenset({"kube-controller-manager", "kube-scheduler"})

FieldSet = dict[str, Any]


def _owned(item: JSON, manager: str, *, ours: bool) -> list[FieldSet]:
    sets = []
    for entry in item.get("metadata", {}).get("managedFields") or []:
        if entry.get("subresource") or "fieldsV1" not in entry:
            continue  # status and scale writes are not tampering
        name = entry.get("manager", "")
        if (name == manager) == ours and (ours or name not in CONTROL_PLANE_MANAGERS):
            sets.append(entry["fieldsV1"])
    return sets


def _merge(sets: list[FieldSet]) -> FieldSet:
    merged: FieldSet = {}
    for fields in sets:
        for key, sub in fields.items():
            merged[key] = _merge([merged.get(key) or {}, sub]) if sub else merged.get(key, {})
    return merged


def _deletions(foreign: FieldSet, ours: FieldSet) -> Any:
    """A strategic-merge-patch fragment deleting what `foreign` has and `ours` lacks, or None for nothing."""
    patch: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    for key, sub in foreign.items():
        if key == "." or key == "f:metadata":
            continue
        if key.startswith("f:"):
            name = key[2:]
            if key not in ours:
                patch[name] = None
            elif sub and ours[key]:
                inner = _deletions(sub, ours[key])
                if inner is not None:
                    patch[name] = inner
        elif key.startswith("k:"):
            item_key = json.loads(key[2:])
            if key not in ours:
                items.append({**item_key, "$patch": "delete"})
            elif sub and ours[key]:
                inner = _deletions(sub, ours[key])
                if inner is not None:
                    items.append({**item_key, **inner})
    if items:
        return items
    return patch or None


def foreign_additions(item: JSON, manager: str) -> dict[str, Any] | None:
    """The strategic merge patch removing what other managers added to `item`'s spec or data, or None."""
    foreign, ours = _merge(_owned(item, manager, ours=False)), _merge(_owned(item, manager, ours=True))
    patch: dict[str, Any] = {}
    for root in HEALED_ROOTS:
        if root in foreign:
            if root not in ours:
                patch[root[2:]] = None
                continue
            inner = _deletions(foreign[root], ours[root])
            if inner is not None:
                patch[root[2:]] = inner
    return patch or None
