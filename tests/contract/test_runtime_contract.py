"""The operator and the runtime agree without importing each other: every FATHOM_* variable the operator injects
is a setting the runtime reads, and the commands and ports it runs are the CLI's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fathom_operator.reconcile import parse_spec
from fathom_operator.render import Manifest
from fathom_operator.render.stack import render_stack
from pydantic_settings import BaseSettings

from fathom_runtime.cli.main import build_parser
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from fathom_runtime.toolserver.settings import ToolServerSettings
from tests.unit.operator.render.factories import render_config, stack_ref

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def _env_names(settings: type[BaseSettings]) -> set[str]:
    names = set()
    for name, field in settings.model_fields.items():
        names.add(f"FATHOM_{name.upper()}")
        choices = getattr(field.validation_alias, "choices", None) or []
        names.update(str(c) for c in choices)
    return names


def _rendered(example: Path) -> list[Manifest]:
    body = yaml.safe_load(example.read_text())
    return render_stack(stack_ref(body), parse_spec(body["spec"]), render_config(), monitoring_available=False)


def _container(objects: list[Manifest], component: str) -> dict:
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith(component))
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_injected_variables_are_runtime_settings(example: Path) -> None:
    objects = _rendered(example)
    orchestrator = {e["name"] for e in _container(objects, "-orchestrator")["env"]}
    assert orchestrator <= _env_names(OrchestratorSettings)
    tools = {e["name"] for e in _container(objects, "-tools").get("env", [])}
    config = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-tools"))
    assert tools | set(config["data"]) <= _env_names(ToolServerSettings)


@pytest.mark.parametrize(
    ("component", "command", "port"), [("-orchestrator", "orchestrator", 8900), ("-tools", "toolserver", 8904)]
)
def test_commands_and_ports_are_the_cli_s(component: str, command: str, port: int) -> None:
    container = _container(_rendered(EXAMPLES[0]), component)
    assert container["command"] == ["fathom", command]
    args = build_parser().parse_args([command, *container["args"]])
    assert (args.host, args.port) == ("0.0.0.0", port) and container["ports"][0]["containerPort"] == port
    assert build_parser().parse_args([command]).port == port
