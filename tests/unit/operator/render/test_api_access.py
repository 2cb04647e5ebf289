"""Who reaches the research API: the orchestrator's NetworkPolicy (the stack's namespace by default, the spec's
clients otherwise, Prometheus always) and the API key file mounted from the Secret the stack names."""

from __future__ import annotations

from tests.unit.operator.render.factories import find, render

PROMETHEUS = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}


def _ingress(objects: list) -> list:  # type: ignore[type-arg]
    policy = find(objects, "NetworkPolicy", "demo-orchestrator")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "orchestrator"
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8900}]
    return rule["from"]  # type: ignore[no-any-return]


def test_by_default_only_pods_of_the_stacks_namespace_and_prometheus_reach_the_api() -> None:
    assert _ingress(render()) == [{"podSelector": {}}, PROMETHEUS]


def test_the_spec_names_the_clients() -> None:
    clients = [{"podSelector": {"app": "web"}}, {"namespaceSelector": {"team": "research"}, "podSelector": {}}]
    assert _ingress(render({"orchestrator": {"allowFrom": clients}})) == [
        {"podSelector": {"matchLabels": {"app": "web"}}},
        {"podSelector": {}, "namespaceSelector": {"matchLabels": {"team": "research"}}},
        PROMETHEUS,
    ]


def test_api_keys_come_from_the_named_secret_as_a_read_only_file() -> None:
    objects = render({"orchestrator": {"apiKeysSecretRef": {"name": "research-keys", "key": "keys.txt"}}})
    pod = find(objects, "Deployment", "demo-orchestrator")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "api-keys"]
    assert volume["secret"] == {"secretName": "research-keys", "items": [{"key": "keys.txt", "path": "keys"}],
                                "defaultMode": 0o440}  # fmt: skip
    container = pod["containers"][0]
    assert {"name": "api-keys", "mountPath": "/etc/fathom/api-keys", "readOnly": True} in container["volumeMounts"]
    assert {"name": "FATHOM_API_KEYS_FILE", "value": "/etc/fathom/api-keys/keys"} in container["env"]
    # Without a Secret there is no key file and the API is open (the status says so).
    plain = find(render(), "Deployment", "demo-orchestrator")["spec"]["template"]["spec"]["containers"][0]
    assert "FATHOM_API_KEYS_FILE" not in {e["name"] for e in plain["env"]}


def test_the_scrapers_are_configurable_and_admitted_by_every_policy() -> None:
    scrapers = [{"namespaceSelector": {"name": "monitoring"}, "podSelector": {"app": "vmagent"}}]
    objects = render({"monitoring": {"scrapers": scrapers}})
    expected = {
        "podSelector": {"matchLabels": {"app": "vmagent"}},
        "namespaceSelector": {"matchLabels": {"name": "monitoring"}},
    }
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert policies and all(expected in p["spec"]["ingress"][0]["from"] for p in policies)
    assert all(PROMETHEUS not in p["spec"]["ingress"][0]["from"] for p in policies)
