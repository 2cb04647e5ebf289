"""Every example and every case renders exactly as its golden file says (deterministic, sorted YAML)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fathom_operator.api import yamlio
from fathom_operator.reconcile import parse_spec
from fathom_operator.render.stack import render_stack

from tests.support.golden import check_golden
from tests.unit.operator.render.factories import render_config, stack_ref

HERE = Path(__file__).parent
REPO = HERE.parents[3]
CASES = sorted((REPO / "examples").glob("*.yaml")) + sorted((HERE / "cases").glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_rendering_matches_golden(case: Path, request: pytest.FixtureRequest) -> None:
    body = yaml.safe_load(case.read_text())
    objects = render_stack(stack_ref(body), parse_spec(body["spec"]), render_config(), monitoring_available=True)
    ordered = sorted(objects, key=lambda o: (o["kind"], o["metadata"]["name"]))
    check_golden(request, HERE / "golden" / f"{case.stem}.yaml", yamlio.dump_all(ordered, sort_keys=True))
