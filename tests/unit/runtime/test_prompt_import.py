"""`fathom prompts import-reference`, on stand-in source files with the reference's Python shapes: the strings are
lifted out by parsing alone, digests are enforced, and the result is a working prompt template and ConfigMap."""

from __future__ import annotations

import hashlib
import io
from argparse import Namespace
from pathlib import Path

import pytest
import yaml

from fathom_runtime.cli import prompts
from fathom_runtime.orchestrator.agent.loop import search_system_prompt
from fathom_runtime.orchestrator.settings import OrchestratorSettings

FIXTURE = Path(__file__).parents[2] / "fixtures" / "reference"
PATHS = ("agents/inference/re_call.py", "prompts.py")


def _digests() -> list[str]:
    return [f"{path}={hashlib.sha256((FIXTURE / path).read_bytes()).hexdigest()}" for path in PATHS]


def _run(tmp_path: Path, *, sha256: list[str], **target: str | None) -> tuple[int, str, str]:
    args = Namespace(source=str(FIXTURE), sha256=sha256, out=None, configmap=None, namespace=None)
    for key, value in target.items():
        setattr(args, key, value)
    out, err = io.StringIO(), io.StringIO()
    return prompts.run(args, out, err), out.getvalue(), err.getvalue()


def test_the_prompt_strings_are_extracted_without_running_anything(tmp_path: Path, monkeypatch) -> None:
    trap = tmp_path / "trap"
    monkeypatch.setenv("FATHOM_TRAP_FILE", str(trap))
    code, _, err = _run(tmp_path, sha256=_digests(), out=str(tmp_path / "prompts"))
    assert code == 0, err
    assert not trap.exists()  # the fixture writes this file if it is ever executed
    search = (tmp_path / "prompts" / "search_system.md").read_text()
    synthesis = (tmp_path / "prompts" / "synthesis_system.md").read_text()
    assert search.startswith("\n    You are a stand-in search agent prompt") and search.endswith("</tool_call>\n    ")
    assert "{tools}" in search and "{func_schemas}" not in search
    assert synthesis == (
        "\nYou are a stand-in report writer prompt used by Fathom Stack's tests.\n"
        "STRICT OUTPUT FORMAT: <think>[Plan here]</think>[Report here]\nA backslash stays as written: \\boxed{x}\n"
    )
    rendered = search_system_prompt(search)  # the same bytes as the reference's .format(func_schemas=…)
    assert "```json\n[{'name': 'search_urls'" in rendered and "\\[ \\boxed{42} \\]" in rendered


def test_a_source_that_does_not_match_its_digest_is_refused(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, sha256=[], out=str(tmp_path / "prompts"))
    assert code == 1 and "agents/inference/re_call.py has sha256" in err and "refusing it" in err
    assert not (tmp_path / "prompts").exists()


def test_the_configmap_holds_both_prompts(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, sha256=_digests(), configmap="reference-prompts", namespace="research")
    document = yaml.safe_load(out)
    assert code == 0 and document["kind"] == "ConfigMap"
    assert document["metadata"] == {
        "name": "reference-prompts",
        "namespace": "research",
        "labels": {"app.kubernetes.io/part-of": "fathom"},
    }
    assert set(document["data"]) == {"search_system.md", "synthesis_system.md"}
    assert document["data"]["synthesis_system.md"].endswith("\\boxed{x}\n")


@pytest.mark.parametrize(
    ("source", "owner", "name", "problem"),
    [
        ("X = 1\n", None, "X", "not a plain string literal"),
        ('X = f"{y}"\n', None, "X", "not a plain string literal"),
        ("class A:\n    pass\n", "B", "x", "no class B"),
        ("class A:\n    y = 'v'\n", "A", "x", "no assignment to x in class A"),
        ("def broken(:\n", None, "X", "not valid Python"),
    ],
)
def test_unexpected_sources_are_refused_with_a_reason(source: str, owner: str | None, name: str, problem: str) -> None:
    with pytest.raises(prompts.ImportFailed, match=problem):
        prompts.extract_string(source, owner, name)


def test_a_search_prompt_without_its_tool_field_is_refused() -> None:
    with pytest.raises(prompts.ImportFailed, match="exactly once"):
        prompts.to_search_template("no tools here")


@pytest.mark.parametrize(
    ("template", "problem"),
    [("no field here", "must hold {tools}"), ("{tools} and {other}", "KeyError"), ("{tools} {", "ValueError")],
)
def test_a_search_prompt_file_that_cannot_take_the_tools_fails_at_start(
    tmp_path: Path, template: str, problem: str
) -> None:
    path = tmp_path / "search.md"
    path.write_text(template)
    with pytest.raises(ValueError, match=problem):
        OrchestratorSettings(search_prompt_file=str(path))
    with pytest.raises(ValueError, match="no such file"):
        OrchestratorSettings(synthesis_prompt_file=str(tmp_path / "missing.md"))
