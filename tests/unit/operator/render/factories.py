"""Builders shared by the rendering tests: fixed identity and configuration, so output never depends on env."""

from __future__ import annotations

from typing import Any

from fathom_operator.config import DEFAULT_RUNTIME_IMAGE, DEFAULT_SGLANG_IMAGE, RenderConfig
from fathom_operator.reconcile import parse_spec
from fathom_operator.render import Manifest
from fathom_operator.render.meta import StackRef
from fathom_operator.render.stack import render_stack

UID = "00000000-0000-0000-0000-000000000001"
MINIMAL_SPEC: dict[str, Any] = {"toolServer": {"search": {"provider": "serper", "apiKeySecretRef": {"name": "s"}}}}


def stack_ref(body: dict[str, Any]) -> StackRef:
    md = body["metadata"]
    return StackRef(name=md["name"], namespace=md.get("namespace", "default"), uid=UID)


def render_config() -> RenderConfig:
    return RenderConfig(sglang_image=DEFAULT_SGLANG_IMAGE, runtime_image=DEFAULT_RUNTIME_IMAGE)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def render(spec_overrides: dict[str, Any] | None = None, *, monitoring: bool = True) -> list[Manifest]:
    spec = parse_spec(deep_merge(MINIMAL_SPEC, spec_overrides or {}))
    return render_stack(StackRef("demo", "ns", UID), spec, render_config(), monitoring_available=monitoring)


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert matches, f"no {kind} {name} among {[(o['kind'], o['metadata']['name']) for o in objects]}"
    return matches[0]
