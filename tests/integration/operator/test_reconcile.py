"""The operator against a real API server: children, readiness, updates, deletion, restarts, GPU shortage."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fathom_operator import constants as c
from kubernetes import client
from kubernetes.client.rest import ApiException

from localcluster import controlplane as cluster
from tests.support import stacks
from tests.support.kube import eventually
from tests.support.operator import OperatorProcess

READY_TIMEOUT = 90


def _wait_ready(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict:
    return eventually(
        lambda: (s := stacks.get(custom, namespace, name)) and stacks.is_ready(s) and s,
        f"stack {name} to be Ready",
        timeout=READY_TIMEOUT,
    )


def test_example_stack_becomes_ready_with_every_child(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
    stack = _wait_ready(custom, namespace, "research")
    assert stack["status"]["phase"] == "Ready"
    assert stack["status"]["endpoint"] == f"http://research-orchestrator.{namespace}.svc:8900"
    assert all(component["ready"] for component in stack["status"]["components"].values())

    objects = stacks.children(kube, namespace, "research")
    expected = {
        ("Deployment", "research-search"), ("Deployment", "research-synthesizer"), ("Deployment", "research-tools"),
        ("Deployment", "research-orchestrator"), ("Service", "research-search"), ("Service", "research-tools"),
        ("Service", "research-orchestrator"), ("ConfigMap", "research-tools"),
        ("PodDisruptionBudget", "research-tools"), ("NetworkPolicy", "research-tools"),
        ("ServiceAccount", "research-runtime"), ("PersistentVolumeClaim", "research-orchestrator-data"),
    }  # fmt: skip
    assert expected <= set(objects)
    for obj in objects.values():
        owner = obj["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"]) == (c.KIND, stack["metadata"]["uid"])
        assert obj["metadata"]["labels"][c.LABEL_INSTANCE] == "research"

    search = objects[("Deployment", "research-search")]["spec"]["template"]["spec"]["containers"][0]
    assert search["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "--enable-metrics" in search["args"] and "Fathom-Search-4B" in search["args"]
    assert search["startupProbe"]["httpGet"]["path"] == "/health_generate"

    core = client.CoreV1Api(kube)
    for component in ("search", "synthesizer"):
        pods = core.list_namespaced_pod(namespace, label_selector=f"{c.LABEL_COMPONENT}={component}").items
        assert pods and {p.spec.node_name for p in pods} <= set(cluster.GPU_NODES)


def test_stack_asking_for_more_gpus_than_exist_explains_why(
    operator: OperatorProcess, custom: client.CustomObjectsApi, namespace: str
) -> None:
    body = stacks.stack_body("greedy", {"models": {"search": {"gpu": {"count": 16}}}})
    stacks.create(custom, namespace, body)

    def insufficient_gpu() -> dict | None:
        cond = stacks.condition(stacks.get(custom, namespace, "greedy"), "ModelsReady")
        return cond if cond.get("reason") == "InsufficientGPU" else None

    cond = eventually(insufficient_gpu, "ModelsReady=False with reason InsufficientGPU", timeout=READY_TIMEOUT)
    assert cond["status"] == "False"
    assert "search: 0/1 replicas ready" in cond["message"]
    assert "Insufficient nvidia.com/gpu" in cond["message"]
    assert "each replica needs 16 nvidia.com/gpu on one node" in cond["message"]
    stack = stacks.get(custom, namespace, "greedy")
    assert stacks.condition(stack, "Ready")["status"] == "False"
    assert stack["status"]["phase"] in ("Pending", "Progressing")  # never Ready: not Degraded


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"models": {"search": {"engine": "external"}}}, "spec.models.search.endpoint", "endpoint is required"),
        ({"models": {"search": {"tensorParallel": 4}}}, "spec.models.search.tensorParallel", "must not exceed"),
        (
            {"models": {"synthesizer": {"contextLength": 131072}}},
            "spec.models.synthesizer.contextLength",
            "ropeScaling",
        ),
        ({"models": {"search": {"replicas": -1}}}, "spec.models.search.replicas", "greater than or equal to 0"),
        ({"models": {"search": {"engine": "vllm"}}}, "spec.models.search.engine", "Unsupported value"),
        ({"toolServer": {"search": {"provider": "bing"}}}, "spec.toolServer.search.provider", "Unsupported value"),
        ({"toolServer": {"cache": {"type": "redis"}}}, "spec.toolServer.cache.url", "url is required"),
        ({"orchestrator": {"storage": {"type": "postgres"}}}, "spec.orchestrator.storage.dsnSecretRef", "dsnSecretRef"),
        ({"orchestrator": {"temperature": 3}}, "spec.orchestrator.temperature", "less than or equal to 2"),
        (
            {"models": {"synthesizer": {"contextLength": 8192}}, "orchestrator": {"reportMaxTokens": 5000}},
            "spec.orchestrator.reportMaxTokens",
            "at most half of models.synthesizer.contextLength",
        ),
        ({"orchestrator": {"reportMaxTokens": 50_000}}, "spec.orchestrator.reportMaxTokens", "at most half"),
        (
            {"toolServer": {"resources": {"requests": {"cpu": "lots"}}}},
            "spec.toolServer.resources.requests",
            "must be quantities such as 500m",
        ),
        # The operator would probe these: never link-local or a cloud metadata service (data only: never reached).
        (
            {"models": {"search": {"engine": "external", "endpoint": "http://169.254.169.254/latest/meta-data"}}},
            "spec.models.search.endpoint",
            "must not be a link-local or cloud metadata address",
        ),
        (
            {
                "models": {
                    "queryLLM": {"enabled": True, "engine": "external", "endpoint": "http://metadata.google.internal"}
                }
            },
            "spec.models.queryLLM.endpoint",
            "must not be a link-local or cloud metadata address",
        ),
        (
            {"models": {"search": {"engine": "external", "endpoint": "http://[fe80::1]:8000"}}},
            "spec.models.search.endpoint",
            "must not be a link-local or cloud metadata address",
        ),
        (
            {"toolServer": {"egress": {"allowHosts": ["docs.internal", "10.0.0.0/33"]}}},
            "spec.toolServer.egress.allowHosts",
            "must be CIDRs",
        ),
    ],
)
def test_invalid_specs_are_rejected_by_the_api_server(
    crd: None, custom: client.CustomObjectsApi, namespace: str, spec: dict, field: str, message: str
) -> None:
    with pytest.raises(ApiException) as caught:
        stacks.create(custom, namespace, stacks.stack_body("bad", spec))
    assert caught.value.status == 422
    assert field in caught.value.body and message in caught.value.body


@pytest.mark.parametrize("name", ["research.v2", "a" * 51, "Research", "7research"])
def test_stack_names_whose_children_cannot_exist_are_rejected(
    crd: None, custom: client.CustomObjectsApi, namespace: str, name: str
) -> None:
    with pytest.raises(ApiException) as caught:
        stacks.create(custom, namespace, stacks.stack_body(name))
    assert caught.value.status == 422 and "at most 50 characters" in caught.value.body


def test_missing_search_configuration_is_rejected(crd: None, custom: client.CustomObjectsApi, namespace: str) -> None:
    body = {"apiVersion": f"{c.GROUP}/{c.VERSION}", "kind": c.KIND, "metadata": {"name": "bare"}, "spec": {}}
    with pytest.raises(ApiException) as caught:
        stacks.create(custom, namespace, body)
    assert "spec.toolServer: Required value" in caught.value.body


def test_updating_search_changes_only_the_search_deployment(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
    _wait_ready(custom, namespace, "research")
    before = stacks.versions(stacks.children(kube, namespace, "research"))
    stacks.patch_spec(custom, namespace, "research", {"models": {"search": {"replicas": 2, "extraArgs": ["--x", "1"]}}})

    def settled() -> dict | None:  # Ready all along (one replica serves); Progressing until both run the new args
        stack = stacks.get(custom, namespace, "research")
        done = stacks.condition(stack, "Progressing").get("status") == "False"
        return stack if done and stack["status"]["components"]["search"]["readyReplicas"] == 2 else None

    stack = eventually(settled, "the scale-up and the new arguments to roll out", timeout=READY_TIMEOUT)
    assert stacks.condition(stack, "Ready")["status"] == "True"

    after = stacks.children(kube, namespace, "research")
    search = after[("Deployment", "research-search")]
    assert search["spec"]["replicas"] == 2 and search["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "--x",
        "1",
    ]
    changed = {key for key, version in stacks.versions(after).items() if before.get(key) != version}
    assert changed == {("Deployment", "research-search")}


def test_a_child_deleted_by_hand_comes_back_and_deleting_the_stack_removes_all(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
    _wait_ready(custom, namespace, "research")
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    old_uid = apps.read_namespaced_deployment("research-tools", namespace).metadata.uid
    apps.delete_namespaced_deployment("research-tools", namespace)
    core.delete_namespaced_service("research-orchestrator", namespace)

    def recreated() -> bool:
        try:
            uid = apps.read_namespaced_deployment("research-tools", namespace).metadata.uid
            core.read_namespaced_service("research-orchestrator", namespace)
        except ApiException:
            return False
        return uid != old_uid

    eventually(recreated, "the deleted Deployment and Service to be recreated")
    _wait_ready(custom, namespace, "research")
    ready = f'namespace="{namespace}",stack="research"'
    eventually(lambda: operator.metric("fathom_stack_ready", f'condition="Ready",{ready}') == 1, "fathom_stack_ready 1")
    assert operator.metric("fathom_build_info", 'component="operator"') == 1

    custom.delete_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, "research")
    eventually(lambda: not stacks.children(kube, namespace, "research"), "garbage collection of every child")
    eventually(lambda: f"fathom_stack_ready{{{ready}" not in operator.metrics_text(), "the stack's series to go")


def test_pod_fields_reach_the_pods_and_the_stack_still_becomes_ready(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "tools"}}}]  # fmt: skip
    fields = {"topologySpreadConstraints": spread, "imagePullSecrets": ["registry"], "podLabels": {"team": "r"},
              "podAnnotations": {"owner": "research"}, "imagePullPolicy": "IfNotPresent"}  # fmt: skip
    body = stacks.example("01-minimal.yaml")
    body["spec"]["toolServer"] |= fields
    stacks.create(custom, namespace, body)
    _wait_ready(custom, namespace, "research")
    pods = client.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector="app.kubernetes.io/component=tools")
    pod = pods.items[0]
    assert pod.metadata.labels["team"] == "r" and pod.metadata.annotations["owner"] == "research"
    assert pod.spec.image_pull_secrets[0].name == "registry"
    assert pod.spec.topology_spread_constraints[0].topology_key == "kubernetes.io/hostname"


def test_fields_added_to_children_by_hand_are_removed(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
    _wait_ready(custom, namespace, "research")
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    # An attacker (or a well-meaning colleague) opens the tool server's egress and adds a sidecar.
    tools = apps.read_namespaced_deployment("research-tools", namespace)
    container = tools.spec.template.spec.containers[0].name
    extra = {"spec": {"template": {"spec": {"containers": [
        {"name": container, "env": [{"name": "FATHOM_EGRESS_ALLOW", "value": "0.0.0.0/0"}]},
        {"name": "sidecar", "image": "busybox:1", "command": ["sleep", "3600"]},
    ]}}}}  # fmt: skip
    apps.patch_namespaced_deployment("research-tools", namespace, extra, field_manager="kubectl-patch")
    redirect = {"data": {"FATHOM_SEARXNG_URL": "http://127.0.0.1:9/"}}  # loopback: never contacted (kwok pods)
    core.patch_namespaced_config_map("research-tools", namespace, redirect, field_manager="kubectl-edit")

    def healed() -> bool:
        spec = apps.read_namespaced_deployment("research-tools", namespace).spec.template.spec
        env = {e.name for c in spec.containers for e in (c.env or [])}
        data = core.read_namespaced_config_map("research-tools", namespace).data
        return (
            [c.name for c in spec.containers] == [container]
            and "FATHOM_EGRESS_ALLOW" not in env
            and ("FATHOM_SEARXNG_URL" not in data)
        )

    eventually(healed, "the added env var, sidecar and ConfigMap key to be removed")
    assert "removing fields the operator does not set" in operator.log_path.read_text()
    _wait_ready(custom, namespace, "research")


def test_a_stack_whose_network_policy_is_refused_is_never_ready(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    quota = {"metadata": {"name": "no-policies"}, "spec": {"hard": {"count/networkpolicies.networking.k8s.io": "0"}}}
    core.create_namespaced_resource_quota(namespace, quota)
    eventually(lambda: core.read_namespaced_resource_quota("no-policies", namespace).status.hard is not None,
               "the quota to be counted")  # fmt: skip
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))

    def refused() -> dict | None:
        stack = custom.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, "research")
        ready = next((x for x in stack.get("status", {}).get("conditions", []) if x["type"] == "Ready"), None)
        return stack if ready and ready["reason"] == "ApplyFailed" else None

    stack = eventually(refused, "Ready=False with reason ApplyFailed", timeout=READY_TIMEOUT)
    assert stack["status"]["phase"] == "Degraded"
    assert "networkpolicies" in next(x for x in stack["status"]["conditions"] if x["type"] == "Ready")["message"]

    def event(reason: str) -> bool:
        found = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name=research,reason={reason}")
        return bool(found.items)

    eventually(lambda: event("ApplyFailed"), "a Warning event ApplyFailed on the stack")
    core.delete_namespaced_resource_quota("no-policies", namespace)
    _wait_ready(custom, namespace, "research")  # the next attempt applies everything
    eventually(lambda: event("Ready"), "the Ready event once the stack becomes ready")


def test_operator_restart_converges_without_writes(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> None:
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
    _wait_ready(custom, namespace, "research")
    time.sleep(2)  # let the last pod events settle before taking the snapshot
    before = stacks.versions(stacks.children(kube, namespace, "research"))
    stack_version = stacks.get(custom, namespace, "research")["metadata"]["resourceVersion"]

    operator.restart()
    eventually(lambda: operator.metric("fathom_operator_reconciles_total", 'result="ok"') >= 1, "a resumed reconcile")
    # A restarted operator knows nothing of its last applies: it re-applies each child once. The API server
    # finds nothing to change, so no object is written, and after that pass the operator stays quiet.
    first_pass = operator.metric("fathom_operator_write_requests_total", 'verb="apply"')
    assert first_pass <= len(before)
    time.sleep(3)

    assert stacks.versions(stacks.children(kube, namespace, "research")) == before
    assert stacks.get(custom, namespace, "research")["metadata"]["resourceVersion"] == stack_version
    assert operator.metric("fathom_operator_write_requests_total", 'verb="apply"') == first_pass


def test_operator_log_never_shows_secret_values(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    client.CoreV1Api(kube).create_namespaced_secret(
        namespace, {"metadata": {"name": "serper"}, "stringData": {"api-key": "sk-very-secret-value"}}
    )
    stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
    _wait_ready(custom, namespace, "research")
    assert "sk-very-secret-value" not in operator.log_path.read_text()


def test_two_replicas_with_peering_elect_one_leader(
    crd: None, kubeconfig: Path, custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    replicas = [OperatorProcess(kubeconfig, namespace, tmp_path / f"op{i}.log", peering="fathom-operator")
                for i in range(2)]  # fmt: skip
    for replica in replicas:
        replica.start()
    try:
        time.sleep(5)  # peers announce themselves; the lower priority one pauses
        stacks.create(custom, namespace, stacks.example("01-minimal.yaml"))
        _wait_ready(custom, namespace, "research")
        counts = [r.metric("fathom_operator_reconciles_total") for r in replicas]
        assert sorted(c > 0 for c in counts) == [False, True], counts
    finally:
        for replica in replicas:
            replica.stop()


@pytest.mark.parametrize("example", sorted(p.name for p in (stacks.REPO / "examples").glob("*.yaml")))
def test_every_example_is_admitted_and_reconciled(
    operator: OperatorProcess, kube: client.ApiClient, custom: client.CustomObjectsApi, namespace: str, example: str
) -> None:
    body = stacks.example(example)
    created = stacks.create(custom, namespace, body)
    name = created["metadata"]["name"]

    def reconciled() -> dict | None:
        stack = stacks.get(custom, namespace, name)
        return stack if stack.get("status", {}).get("observedGeneration") == stack["metadata"]["generation"] else None

    stack = eventually(reconciled, f"{example} to be reconciled", timeout=READY_TIMEOUT)
    assert stack["status"]["phase"] != "Failed"
    deployments = {n for kind, n in stacks.children(kube, namespace, name) if kind == "Deployment"}
    assert {f"{name}-tools", f"{name}-orchestrator"} <= deployments
