"""The whole stack as real containers on the real node: images built here, the operator installed by its chart,
restricted pods that become Ready through their real probes, and a research question answered through the
orchestrator's Service with real tool calls against a corpus served inside the cluster."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from localcluster.tools import kubectl, port_forward
from tests.realnode.conftest import AUTH, QUESTION, STACK
from tests.support import realnode


def test_the_operator_runs_from_its_chart_as_a_restricted_pod(kubeconfig: Path, stack: str) -> None:
    pods = realnode.pods_of(kubeconfig, stack, "app.kubernetes.io/name=fathom-operator")
    assert len(pods) == 1
    pod = pods[0]
    assert pod["spec"]["nodeName"] == "real-node-0"
    assert pod["spec"]["serviceAccountName"] == "fathom-operator"
    statuses = pod["status"]["containerStatuses"]
    assert statuses[0]["ready"] is True and statuses[0]["restartCount"] == 0


def test_every_pod_runs_on_the_real_node_under_restricted_pod_security(kubeconfig: Path, stack: str) -> None:
    pods = json.loads(kubectl(kubeconfig, "-n", stack, "get", "pods", "-o", "json"))["items"]
    components = {p["metadata"]["labels"].get("app.kubernetes.io/component") for p in pods}
    assert {"search", "synthesizer", "tools", "orchestrator", "operator"} <= components
    for pod in pods:
        assert pod["spec"]["nodeName"] == "real-node-0", pod["metadata"]["name"]
        assert pod["status"]["phase"] == "Running"
    labels = json.loads(kubectl(kubeconfig, "get", "namespace", stack, "-o", "json"))["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"  # admission let every pod in


def test_a_question_is_answered_through_the_orchestrator_service(kubeconfig: Path, stack: str) -> None:
    with port_forward(kubeconfig, stack, f"svc/{STACK}-orchestrator", 8900) as url:
        assert httpx.get(f"{url}/v1/research", timeout=30).status_code == 401  # keys are required
        response = httpx.post(
            f"{url}/v1/research", params={"wait": "true"}, json={"question": QUESTION, "mode": "deepresearch"},
            headers=AUTH, timeout=120,
        )  # fmt: skip
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["status"] == "succeeded", record.get("error")
    assert record["answer"] == "1931"
    search, visit = record["tool_calls"]
    page = f"http://docs.{stack}.svc:8000/aurora-falls.html"
    assert search["ok"] and search["name"] == "search_urls" and page in search["result"]
    assert visit["ok"] and visit["arguments"]["url"] == page
    # The synthesizer's model server extracted the evidence (query_url's default), from the page the site served.
    assert (
        visit["result"].startswith(f"The useful information in {page}")
        and "opened to astronomers in 1931" in visit["result"]
    )
    assert record["citations"]["verified"] == [page]
