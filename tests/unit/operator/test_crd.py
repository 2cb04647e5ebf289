"""The committed CRD is generated from the models, the chart carries an identical copy, and every field explains
itself to `kubectl explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fathom_operator.api import crd

REPO = Path(__file__).resolve().parents[3]
CRD_FILE = REPO / "crds" / "fathom.dev_deepresearchstacks.yaml"
CHART_COPY = REPO / "charts" / "fathom" / "crds" / "fathom.dev_deepresearchstacks.yaml"


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        nodes += _walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        nodes += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        nodes += _walk(schema["additionalProperties"], f"{path}{{}}")
    return nodes


def _spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = crd.build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def test_committed_crd_is_not_stale() -> None:
    committed = yaml.safe_load(CRD_FILE.read_text())
    assert committed == crd.build_crd(), "crds/ is stale: run .venv/bin/python hack/gen-crd.py"


def test_chart_copy_is_identical() -> None:
    assert CHART_COPY.read_bytes() == CRD_FILE.read_bytes()


def test_every_spec_field_has_a_description() -> None:
    spec = _spec_schema()["properties"]["spec"]
    # Scalar list items and map values are described by their parent field.
    fields = [
        (p, n) for p, n in _walk(spec, "spec")[1:] if not (p.endswith(("[]", "{}")) and n.get("type") != "object")
    ]
    assert [path for path, node in fields if not node.get("description")] == []


def test_schema_is_structural() -> None:
    for path, node in _walk(_spec_schema()):
        assert not {"$ref", "anyOf", "allOf", "oneOf", "title", "const"} & set(node), path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path


def test_identity_and_printer_columns() -> None:
    doc = crd.build_crd()
    names = doc["spec"]["names"]
    assert (doc["metadata"]["name"], names["kind"], names["shortNames"]) == (
        "deepresearchstacks.fathom.dev",
        "DeepResearchStack",
        ["drs"],
    )
    version = doc["spec"]["versions"][0]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = {col["name"]: col.get("priority", 0) for col in version["additionalPrinterColumns"]}
    assert columns == {"Ready": 0, "Phase": 0, "Endpoint": 0, "GPUs": 1, "Reason": 1, "Message": 1, "Age": 0}


def test_defaults_of_sub_objects_are_complete() -> None:
    # The API server validates defaults as written (CEL included), so they must be whole objects.
    search = _spec_schema()["properties"]["spec"]["properties"]["models"]["properties"]["search"]
    assert search["default"]["engine"] == "sglang"
    assert search["default"]["gpu"] == {"count": 1, "resourceName": "nvidia.com/gpu"}
