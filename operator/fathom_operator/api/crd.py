"""Builds the DeepResearchStack CustomResourceDefinition from the spec and status models. Pure.

Pydantic emits JSON Schema 2020-12 with $refs; Kubernetes wants a structural OpenAPI v3 schema. This module
inlines references, turns `X | None` into an optional X, gives sub-objects built by a default_factory their full
default value (the API server validates defaults, CEL rules included, exactly as written), and maps int-or-string
and exclusive bounds to the OpenAPI v3.0 spelling.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from fathom_operator import constants
from fathom_operator.api.spec import NAME_RULE, DeepResearchStackSpec
from fathom_operator.api.status import StackStatus

Schema = dict[str, Any]

_DROPPED = {"title", "additionalProperties", "$defs"}


class _FactoryDefaults(GenerateJsonSchema):
    """Writes the value of a default_factory as the default, without null fields (CRD defaults cannot be null)."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> Schema:
        factory = schema.get("default_factory")
        if "default" not in schema and factory is not None and not schema.get("default_factory_takes_data"):
            value = factory()  # type: ignore[call-arg]  # takes no data, checked above
            if isinstance(value, BaseModel):
                value = value.model_dump(by_alias=True, mode="json", exclude_none=True)
            schema = {**schema, "default": value}
        return super().default_schema(schema)


def _resolve(schema: Schema, defs: dict[str, Schema]) -> Schema:
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return schema


def _optional_of(schema: Schema) -> Schema | None:
    """The non-null branch of `anyOf: [X, {type: null}]`, or None when the schema is not an Optional."""
    branches = schema.get("anyOf")
    if not branches or not any(b.get("type") == "null" for b in branches):
        return None
    rest = [b for b in branches if b.get("type") != "null"]
    return rest[0] if len(rest) == 1 else {"anyOf": rest}


def to_structural(schema: Schema, defs: dict[str, Schema]) -> Schema:
    """Convert one pydantic JSON schema node (and its children) to a structural OpenAPI v3 schema."""
    schema = _resolve(schema, defs)
    inner = _optional_of(schema)
    if inner is not None:
        outer = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
        return to_structural({**_resolve(inner, defs), **outer}, defs)
    if schema.get("x-kubernetes-int-or-string") or _is_int_or_string(schema):
        out: Schema = {"x-kubernetes-int-or-string": True}
        if "description" in schema:
            out["description"] = schema["description"]
        return out
    out = {k: v for k, v in schema.items() if k not in _DROPPED}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "exclusiveMinimum" in out:
        out["minimum"], out["exclusiveMinimum"] = out["exclusiveMinimum"], True
    if "exclusiveMaximum" in out:
        out["maximum"], out["exclusiveMaximum"] = out["exclusiveMaximum"], True
    if "properties" in out:
        out["properties"] = {name: to_structural(child, defs) for name, child in out["properties"].items()}
    elif out.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = to_structural(schema["additionalProperties"], defs)
    if "items" in out:
        out["items"] = to_structural(out["items"], defs)
    return out


def _is_int_or_string(schema: Schema) -> bool:
    types = {b.get("type") for b in schema.get("anyOf", [])}
    return types == {"integer", "string"}


def build_schema(model: type[Any]) -> Schema:
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_FactoryDefaults)
    return to_structural(raw, raw.get("$defs", {}))


def _ready_field(field: str) -> str:
    return f'.status.conditions[?(@.type=="Ready")].{field}'


def build_crd() -> dict[str, Any]:
    """The complete CustomResourceDefinition document."""
    spec_schema = build_schema(DeepResearchStackSpec)
    status_schema = build_schema(StackStatus)
    status_schema.pop("required", None)
    root: Schema = {
        "type": "object",
        "description": "A Fathom DeepResearch stack: model servers, tool server and research API.",
        "required": ["spec"],
        "x-kubernetes-validations": [NAME_RULE.to_validation()],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
    }
    ready = _ready_field("status")
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": constants.CRD_NAME},
        "spec": {
            "group": constants.GROUP,
            "names": {
                "kind": constants.KIND,
                "listKind": f"{constants.KIND}List",
                "plural": constants.PLURAL,
                "singular": constants.SINGULAR,
                "shortNames": constants.SHORT_NAMES,
                "categories": constants.CATEGORIES,
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": constants.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Ready", "type": "string", "jsonPath": ready},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                        {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpoint", "priority": 0},
                        {"name": "GPUs", "type": "integer", "jsonPath": ".status.gpus", "priority": 1},
                        {"name": "Reason", "type": "string", "jsonPath": _ready_field("reason"), "priority": 1},
                        {"name": "Message", "type": "string", "jsonPath": _ready_field("message"), "priority": 1},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }
