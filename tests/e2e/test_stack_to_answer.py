"""CR → operator → runtime → research API. A stack whose models are external (scripted servers on loopback) is
reconciled by the operator; the tool server and orchestrator then run as real `fathom` processes with exactly the
command and environment the operator rendered (cluster DNS names swapped for loopback addresses, which is what
pods would resolve them to), and a question goes through the research API to an answer."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from tests.support import stacks
from tests.support.kube import eventually
from tests.support.operator import OperatorProcess, free_port
from tests.support.processes import start_fathom
from tests.support.scripted_model import ScriptedModel, tool_call
from tests.support.services import ServedApp
from tests.support.web import Site, html_page

ANSWERED = "</tool_response>\n<|im_end|>"


def _agent(prompt: str, index: int) -> str:
    if ANSWERED not in prompt:
        return tool_call("search_urls", query="fathom stack operator")
    if prompt.count(ANSWERED) == 1:
        url = prompt.split("**URL**: ", 1)[1].split("\n", 1)[0]
        return tool_call("query_url", url=url, goal="what does the operator reconcile")
    return "<think>The page says it.</think>\n\\boxed{DeepResearchStack}"


@pytest.fixture
def model() -> Iterator[str]:
    with ServedApp(ScriptedModel(_agent).app()) as served:
        yield served.url


def _container(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    deployment = client.AppsV1Api(kube).read_namespaced_deployment(name, namespace)
    return kube.sanitize_for_serialization(deployment.spec.template.spec.containers[0])


def _start(command: list[str], args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """The rendered container command, rebound to loopback."""
    rest = [a for a in args if a not in ("--host", "0.0.0.0", "--port") and not a.isdigit()]
    return start_fathom([*command[1:], *rest], env=env, port=port, log=log)


def test_a_stack_answers_a_question(
    operator: OperatorProcess,
    kube: client.ApiClient,
    custom: client.CustomObjectsApi,
    namespace: str,
    model: str,
    tmp_path: Path,
) -> None:
    with Site() as site:
        site.route(
            "GET",
            "/operator",
            lambda h: h.send(
                200,
                html_page(
                    "Fathom Stack", "The operator reconciles a DeepResearchStack custom resource into the whole stack."
                ),
            ),
        )
        corpus = tmp_path / "corpus.jsonl"
        corpus.write_text(
            json.dumps(
                {
                    "url": f"{site.url}/operator",
                    "title": "Fathom Stack operator",
                    "text": "The fathom stack operator reconciles stacks.",
                }
            )
            + "\n"
        )
        spec = {
            "models": {
                "search": {"engine": "external", "endpoint": model},
                "synthesizer": {"engine": "external", "endpoint": model},
            },
            "toolServer": {
                # A JSONL corpus carries its own URLs: no baseUrl.
                "search": {"provider": "local", "corpus": {"configMap": "e2e-corpus", "path": "/corpus.jsonl"}},
                "egress": {"allowHosts": ["127.0.0.1"]},
                "replicas": 1,
            },
        }
        body = stacks.stack_body("e2e", spec)
        body["spec"]["toolServer"]["search"].pop("apiKeySecretRef", None)
        stacks.create(custom, namespace, body)
        stack = eventually(
            lambda: (s := stacks.get(custom, namespace, "e2e")) and stacks.is_ready(s) and s,
            "the stack to be Ready",
            timeout=90,
        )
        assert stack["status"]["components"]["search"]["endpoint"] == model

        tools_port, orchestrator_port = free_port(), free_port()
        tools = _container(kube, namespace, "e2e-tools")
        config = client.CoreV1Api(kube).read_namespaced_config_map("e2e-tools", namespace).data
        # The file inside the ConfigMap's mount in the pod; here, the file itself.
        assert config["FATHOM_LOCAL_CORPUS"] == "/corpus/corpus.jsonl"
        tools_env = dict(config) | {"FATHOM_JINA_ENABLED": "false", "FATHOM_LOCAL_CORPUS": str(corpus)}
        orchestrator = _container(kube, namespace, "e2e-orchestrator")
        in_cluster_tools = f"http://e2e-tools.{namespace}.svc:8904"
        orchestrator_env = {e["name"]: e["value"] for e in orchestrator["env"]}
        assert orchestrator_env["FATHOM_TOOLSERVER_URLS"] == in_cluster_tools
        orchestrator_env |= {
            "FATHOM_TOOLSERVER_URLS": f"http://127.0.0.1:{tools_port}",
            "FATHOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fathom.db",
        }
        processes = [
            _start(tools["command"], tools["args"], tools_env, tools_port, tmp_path / "tools.log"),
            _start(
                orchestrator["command"],
                orchestrator["args"],
                orchestrator_env,
                orchestrator_port,
                tmp_path / "orchestrator.log",
            ),
        ]
        try:
            with httpx.Client(
                base_url=stack["status"]["endpoint"].replace(
                    f"e2e-orchestrator.{namespace}.svc:8900", f"127.0.0.1:{orchestrator_port}"
                ),
                timeout=60,
            ) as api:
                record = api.post(
                    "/v1/research",
                    params={"wait": "true"},
                    json={"question": "What does the Fathom operator reconcile?"},
                ).json()
        finally:
            for process in processes:
                process.terminate()
                process.wait()
    assert record["status"] == "succeeded", record.get("error")
    assert record["answer"] == "DeepResearchStack"
    assert [c["name"] for c in record["tool_calls"]] == ["search_urls", "query_url"]
    assert all(c["ok"] for c in record["tool_calls"])
    assert f"{site.url}/operator" in record["sources"]
