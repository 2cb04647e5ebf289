"""engine: llamacpp and the served corpus, rendered: the CPU demo's pieces (examples/04-cpu.yaml is their golden)."""

from __future__ import annotations

from typing import Any

from fathom_operator.reconcile import parse_spec
from fathom_operator.render.stack import render_stack

from tests.unit.operator.render.factories import MINIMAL_SPEC, deep_merge, render_config, stack_ref

GGUF = "/opt/models/small.gguf"


def _objects(overrides: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    body = {"metadata": {"name": "cpu", "namespace": "lab"}, "spec": deep_merge(MINIMAL_SPEC, overrides)}
    rendered = render_stack(stack_ref(body), parse_spec(body["spec"]), render_config(), monitoring_available=True)
    return {(o["kind"], o["metadata"]["name"]): o for o in rendered}


def test_a_llamacpp_role_runs_the_cpu_server_with_its_flags_and_no_gpu() -> None:
    search = {"engine": "llamacpp", "model": GGUF, "servedName": "small", "contextLength": 8192,
              "resources": {"limits": {"cpu": "1500m", "memory": "3Gi"}}}  # fmt: skip
    objects = _objects({"models": {"search": search}})
    pod = objects[("Deployment", "cpu-search")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python3", "-m", "llama_cpp.server"]
    assert container["args"] == ["--model", GGUF, "--model_alias", "small", "--host", "0.0.0.0", "--port", "30000",
                                 "--n_ctx", "8192", "--n_threads", "1"]  # fmt: skip
    assert container["image"] == render_config().llamacpp_image
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    assert not [t for t in pod.get("tolerations", []) if t["key"] == "nvidia.com/gpu"]
    assert container["startupProbe"]["httpGet"]["path"] == "/v1/models"  # the model is loaded
    # Busy generating, the server answers nothing but its socket: it stays ready and alive meanwhile.
    assert container["readinessProbe"]["tcpSocket"] == container["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # llama.cpp has no SGLang metrics: no PodMonitor for it.
    monitor = objects[("PodMonitor", "cpu-monitoring")]
    assert "search" not in monitor["spec"]["selector"]["matchExpressions"][0]["values"]


def test_the_orchestrator_talks_completions_to_llamacpp_roles_only() -> None:
    objects = _objects({"models": {"synthesizer": {"engine": "llamacpp", "model": GGUF, "contextLength": 8192,
                                                   "ropeScaling": None}},
                        "orchestrator": {"constrainedActions": True, "maxTurnTokens": 256}})  # fmt: skip
    container = objects[("Deployment", "cpu-orchestrator")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FATHOM_SYNTHESIZER_MODEL_API"] == "completions" and "FATHOM_SEARCH_MODEL_API" not in env
    assert (env["FATHOM_SYNTHESIS_CONTEXT_TOKENS"], env["FATHOM_SYNTHESIS_MAX_NEW_TOKENS"]) == ("8192", "2048")
    assert (env["FATHOM_CONSTRAINED_ACTIONS"], env["FATHOM_MAX_TURN_TOKENS"]) == ("true", "256")


def test_the_report_length_can_be_set_for_slow_servers() -> None:
    objects = _objects({"models": {"synthesizer": {"engine": "llamacpp", "model": GGUF, "contextLength": 8192,
                                                   "ropeScaling": None}},
                        "orchestrator": {"reportMaxTokens": 768}})  # fmt: skip
    container = objects[("Deployment", "cpu-orchestrator")]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "FATHOM_SYNTHESIS_MAX_NEW_TOKENS", "value": "768"} in container["env"]


def test_a_served_corpus_gets_its_site_and_the_tool_server_reads_and_reaches_it() -> None:
    corpus = {"image": "docs:1", "path": "/srv/html", "serve": True}
    placement = {"nodeSelector": {"pool": "cpu"}, "tolerations": [{"key": "dedicated", "operator": "Exists"}]}
    objects = _objects({"toolServer": {"search": {"provider": "local", "corpus": corpus}, **placement}})
    pod = objects[("Deployment", "cpu-corpus")]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "cpu"} and pod["tolerations"] == placement["tolerations"]  # as the tools
    site = pod["containers"][0]
    assert site["image"] == "docs:1" and site["ports"][0]["containerPort"] == 8000
    assert ("Service", "cpu-corpus") in objects
    config = objects[("ConfigMap", "cpu-tools")]["data"]
    assert config["FATHOM_LOCAL_CORPUS"] == "/corpus/html"
    assert config["FATHOM_LOCAL_CORPUS_BASE_URL"] == "http://cpu-corpus.lab.svc:8000"
    assert "cpu-corpus.lab.svc" in config["FATHOM_EGRESS_ALLOW"].split(",")
    tools = objects[("Deployment", "cpu-tools")]["spec"]["template"]["spec"]
    assert tools["initContainers"][0]["command"] == ["cp", "-R", "-L", "/srv/html", "/corpus/"]
    egress = objects[("NetworkPolicy", "cpu-tools")]["spec"]["egress"]
    assert {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "lab"}}}],
            "ports": [{"protocol": "TCP", "port": 8000}]} in egress  # fmt: skip
