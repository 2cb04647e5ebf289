"""What must hold for every rendered object of every case, whatever the golden files say."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from fathom_operator import constants as c
from fathom_operator.reconcile import parse_spec
from fathom_operator.render import Manifest
from fathom_operator.render.stack import render_stack

from tests.unit.operator.render.factories import UID, find, render, render_config, stack_ref
from tests.unit.operator.render.test_golden import CASES

FIXED_SELECTOR_KEYS = {c.LABEL_NAME, c.LABEL_INSTANCE, c.LABEL_COMPONENT}
SECRET_WORDS = {"KEY", "TOKEN", "DSN", "PASSWORD"}


def _looks_secret(name: str) -> bool:
    return bool(SECRET_WORDS & set(name.split("_"))) or name.endswith("DATABASE_URL")


def _all_objects() -> list[tuple[str, Manifest]]:
    out = []
    for case in CASES:
        body = yaml.safe_load(case.read_text())
        objects = render_stack(stack_ref(body), parse_spec(body["spec"]), render_config(), monitoring_available=True)
        out += [(f"{case.stem}:{o['kind']}/{o['metadata']['name']}", o) for o in objects]
    return out


OBJECTS = _all_objects()
PODS = [(i, o) for i, o in OBJECTS if o["kind"] == "Deployment"]


@pytest.mark.parametrize(("ident", "obj"), OBJECTS, ids=[i for i, _ in OBJECTS])
def test_every_child_is_owned_and_labelled(ident: str, obj: Manifest) -> None:
    md = obj["metadata"]
    owner = md["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (c.KIND, UID, True)
    assert md["labels"][c.LABEL_MANAGED_BY] == c.FIELD_MANAGER
    assert md["labels"][c.LABEL_PART_OF] == c.PART_OF
    assert md["name"].startswith(owner["name"] + "-")


@pytest.mark.parametrize(("ident", "obj"), PODS, ids=[i for i, _ in PODS])
def test_pods_meet_pod_security_restricted(ident: str, obj: Manifest) -> None:
    pod = obj["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
    allowed_volumes = {"emptyDir", "persistentVolumeClaim", "configMap", "secret", "projected"}
    for volume in pod["volumes"]:
        assert set(volume) - {"name"} <= allowed_volumes


@pytest.mark.parametrize(("ident", "obj"), PODS, ids=[i for i, _ in PODS])
def test_selectors_use_fixed_keys_only(ident: str, obj: Manifest) -> None:
    selector = obj["spec"]["selector"]["matchLabels"]
    assert set(selector) == FIXED_SELECTOR_KEYS
    assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize(("ident", "obj"), PODS, ids=[i for i, _ in PODS])
def test_secrets_only_come_from_secret_refs(ident: str, obj: Manifest) -> None:
    for container in obj["spec"]["template"]["spec"]["containers"]:
        for env in container.get("env", []):
            if _looks_secret(env["name"]) and "sqlite" not in env.get("value", ""):
                assert "value" not in env and "secretKeyRef" in env["valueFrom"], env


def test_configmaps_hold_no_secrets() -> None:
    for ident, obj in OBJECTS:
        if obj["kind"] == "ConfigMap":
            assert not [k for k in obj["data"] if _looks_secret(k)], ident


def _container(objects: list[Manifest], name: str) -> dict[str, Any]:
    container: dict[str, Any] = find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    return container


def test_search_server_gets_the_protocol_flags() -> None:
    container = _container(render({"models": {"search": {"tensorParallel": 2, "gpu": {"count": 2}}}}), "demo-search")
    args = container["args"]
    assert container["command"] == ["python3", "-m", "sglang.launch_server"]
    pairs = dict(zip(args[::2], args[1::2], strict=False))
    assert pairs["--model-path"] == "FractalAIResearch/Fathom-Search-4B"
    assert pairs["--served-model-name"] == "Fathom-Search-4B"
    assert pairs["--context-length"] == "40960"
    assert pairs["--tp"] == "2"
    assert pairs["--host"] == "0.0.0.0" and pairs["--port"] == str(c.SGLANG_PORT)
    assert "--enable-metrics" in args and "--trust-remote-code" in args
    assert "--json-model-override-args" not in args
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_synthesizer_gets_yarn_override() -> None:
    args = _container(render(), "demo-synthesizer")["args"]
    override = json.loads(args[args.index("--json-model-override-args") + 1])
    assert override == {"rope_scaling": {"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 40960}}


def test_extra_args_come_last() -> None:
    args = _container(render({"models": {"search": {"extraArgs": ["--mem-fraction-static", "0.8"]}}}), "demo-search")[
        "args"
    ]
    assert args[-2:] == ["--mem-fraction-static", "0.8"]


def test_model_servers_roll_out_without_a_second_set_of_gpus() -> None:
    objects = render()
    for name in ("demo-search", "demo-synthesizer"):
        assert find(objects, "Deployment", name)["spec"]["strategy"] == {"type": "Recreate"}


def test_model_server_probes_allow_fifteen_minutes_of_loading() -> None:
    container = _container(render(), "demo-search")
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/health_generate"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 15 * 60
    assert container["readinessProbe"]["httpGet"]["path"] == "/health_generate"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_model_servers_get_shared_memory_and_the_cache_volume() -> None:
    objects = render({"modelCache": {"pvc": {"size": "50Gi"}, "hfTokenSecretRef": {"name": "hf"}}})
    pod = find(objects, "Deployment", "demo-search")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == "demo-model-cache"
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf", "key": "token"}
    assert find(objects, "PersistentVolumeClaim", "demo-model-cache")["spec"]["resources"]["requests"] == {
        "storage": "50Gi"
    }


def test_without_a_cache_pvc_models_use_an_empty_dir() -> None:
    pod = find(render(), "Deployment", "demo-search")["spec"]["template"]["spec"]
    assert {"name": "model-cache", "emptyDir": {}} in pod["volumes"]


def test_external_engine_deploys_nothing_and_points_the_orchestrator_at_the_endpoint() -> None:
    objects = render({"models": {"search": {"engine": "external", "endpoint": "http://models.example:8902/"}}})
    assert not [o for o in objects if o["metadata"]["name"] == "demo-search"]
    env = {e["name"]: e.get("value") for e in _container(objects, "demo-orchestrator")["env"]}
    assert env[c.ENV_SEARCH_MODEL_URL] == "http://models.example:8902"


def test_query_llm_is_rendered_only_when_enabled() -> None:
    assert not [o for o in render() if "query-llm" in o["metadata"]["name"]]
    objects = render({"models": {"queryLLM": {"enabled": True}}})
    assert find(objects, "Deployment", "demo-query-llm")
    config = find(objects, "ConfigMap", "demo-tools")["data"]
    assert config[c.ENV_QUERY_LLM_URL] == "http://demo-query-llm.ns.svc:30000/v1"
    assert config[c.ENV_QUERY_LLM_MODEL] == "Query-LLM"


def test_autoscaling_hands_replicas_to_the_hpa() -> None:
    objects = render({"toolServer": {"autoscaling": {"enabled": True, "maxReplicas": 7}}})
    assert "replicas" not in find(objects, "Deployment", "demo-tools")["spec"]
    hpa = find(objects, "HorizontalPodAutoscaler", "demo-tools")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 7)
    assert find(render(), "Deployment", "demo-tools")["spec"]["replicas"] == 2


def test_tool_server_config_change_rolls_its_pods() -> None:
    def config_hash(objects: list[Manifest]) -> str:
        pod_md = find(objects, "Deployment", "demo-tools")["spec"]["template"]["metadata"]
        return str(pod_md["annotations"][c.ANNOTATION_CONFIG_HASH])

    assert config_hash(render()) != config_hash(render({"toolServer": {"cache": {"type": "disk"}}}))


def test_orchestrator_wiring_and_sqlite_volume() -> None:
    objects = render()
    env = {e["name"]: e.get("value") for e in _container(objects, "demo-orchestrator")["env"]}
    assert env[c.ENV_TOOLSERVER_URLS] == "http://demo-tools.ns.svc:8904"
    assert env[c.ENV_SYNTHESIZER_MODEL_URL] == "http://demo-synthesizer.ns.svc:30000"
    assert env[c.ENV_DATABASE_URL].startswith("sqlite+aiosqlite:///")
    assert find(objects, "PersistentVolumeClaim", "demo-orchestrator-data")
    assert find(objects, "Deployment", "demo-orchestrator")["spec"]["strategy"] == {"type": "Recreate"}


def test_tool_server_egress_blocks_metadata_and_cluster_ranges() -> None:
    policy = find(render(), "NetworkPolicy", "demo-tools")["spec"]
    internet = policy["egress"][1]["to"][0]["ipBlock"]
    assert internet["cidr"] == "0.0.0.0/0"
    assert {"169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(internet["except"])
    dns = policy["egress"][0]
    assert {p["port"] for p in dns["ports"]} == {53}


def test_only_the_orchestrator_reaches_the_model_servers() -> None:
    policy = find(render(), "NetworkPolicy", "demo-search")["spec"]
    peers = policy["ingress"][0]["from"]
    pod_peers = [p for p in peers if "namespaceSelector" not in p]
    assert [p["podSelector"]["matchLabels"][c.LABEL_COMPONENT] for p in pod_peers] == ["orchestrator"]


def test_monitoring_objects_only_when_the_api_exists() -> None:
    kinds = {o["kind"] for o in render(monitoring=True)}
    assert {"ServiceMonitor", "PodMonitor"} <= kinds
    assert not {"ServiceMonitor", "PodMonitor", "PrometheusRule"} & {o["kind"] for o in render(monitoring=False)}


def test_rendering_is_deterministic() -> None:
    assert render() == render()


def test_model_roles_roll_without_needing_a_second_set_of_gpus() -> None:
    one = find(render(), "Deployment", "demo-search")["spec"]["strategy"]
    several = find(render({"models": {"search": {"replicas": 3}}}), "Deployment", "demo-search")["spec"]["strategy"]
    assert one == {"type": "Recreate"}
    assert several == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_every_component_takes_the_pod_fields_real_clusters_need() -> None:
    placement = {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["research"]}]}]}}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
        "priorityClassName": "research-high",
        "runtimeClassName": "nvidia",
        "imagePullSecrets": ["registry"],
        "imagePullPolicy": "Always",
        "podAnnotations": {"team": "research"},
        "podLabels": {"cost-center": "42", "app.kubernetes.io/component": "hijack"},
    }  # fmt: skip
    corpus = {"image": "docs:1", "serve": True}
    objects = render({"models": {"search": placement, "synthesizer": placement}, "orchestrator": placement,
                      "toolServer": {**placement, "search": {"provider": "local", "corpus": corpus}}})  # fmt: skip
    for name in ("demo-search", "demo-synthesizer", "demo-tools", "demo-orchestrator", "demo-corpus"):
        template = find(objects, "Deployment", name)["spec"]["template"]
        pod = template["spec"]
        assert pod["affinity"] == placement["affinity"], name
        assert pod["topologySpreadConstraints"] == placement["topologySpreadConstraints"], name
        assert (pod["priorityClassName"], pod["runtimeClassName"]) == ("research-high", "nvidia"), name
        assert pod["imagePullSecrets"] == [{"name": "registry"}], name
        assert {c["imagePullPolicy"] for c in pod["containers"] + pod.get("initContainers", [])} == {"Always"}, name
        assert template["metadata"]["annotations"]["team"] == "research", name
        labels = template["metadata"]["labels"]
        assert labels["cost-center"] == "42" and labels["app.kubernetes.io/component"] != "hijack", name
