"""The demo's code path on real pods with the real CPU model: examples/04-cpu.yaml (llama.cpp serving
Qwen2.5-Coder-1.5B for both roles, constrained action decoding, Python's documentation served inside the cluster)
answers a question whose answer is in the corpus, through the in-cluster API. The model's wording is not asserted:
its structure, its tool calls and its sources are."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from localcluster import demo, node
from localcluster.tools import kubectl, port_forward

QUESTION = demo.QUESTION
# A 1.5B model on two shared cores: starting the stack and a deep-research run take minutes, not seconds.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def cpu_stack(kubeconfig: Path, real_node: str, node_images: None) -> Iterator[str]:
    namespace = f"rn-cpu-{uuid.uuid4().hex[:6]}"
    demo.deploy(kubeconfig, namespace=namespace, release="fathom-cpu")
    yield namespace
    demo.uninstall_operator(kubeconfig, namespace, release="fathom-cpu")
    kubectl(kubeconfig, "delete", "namespace", namespace, "--timeout=180s", check=False)


def test_the_cpu_stack_answers_from_the_corpus_with_verified_citations(
    kubeconfig: Path, cpu_stack: str, tmp_path: Path
) -> None:
    pods = json.loads(kubectl(kubeconfig, "-n", cpu_stack, "get", "pods", "-o", "json"))["items"]
    # Every pod, the corpus site included, runs on the real node: nothing of the demo is simulated.
    assert {p["spec"].get("nodeName") for p in pods} == {node.NODE_NAME}, [p["metadata"]["name"] for p in pods]
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert any("fathom-stack/llamacpp" in image for image in images)
    report = tmp_path / "report.md"
    with port_forward(kubeconfig, cpu_stack, "svc/cpu-orchestrator", 8900) as url:
        assert demo.ask(url, QUESTION, report) == 0  # `fathom research`, as the demo runs it
        listed = httpx.get(f"{url}/v1/research", params={"limit": 1}, timeout=30).json()["items"][0]
        record = httpx.get(f"{url}/v1/research/{listed['id']}", timeout=30).json()
    assert record["status"] == "succeeded" and record["question"] == QUESTION, record.get("error")
    assert report.read_text().strip() == record["report"].strip()
    calls = record["tool_calls"]
    # Constrained decoding: every action is a well-formed call of a known tool (pages the model recalls from the
    # internet cannot be fetched here, so those calls fail; that is the agent's business, not a malformed call).
    assert calls and all(c["name"] in ("search_urls", "query_url") for c in calls), calls
    corpus_host = f"http://cpu-corpus.{cpu_stack}.svc:8000/"
    assert any(c["ok"] and corpus_host in c["result"] for c in calls)  # the corpus inside the cluster answered
    # Whether a 1.5B model's boxed answer is right is the model's business (it once answered "list"); that it gives
    # one, and that the report cites only pages it read, is the stack's.
    assert record["answer"], record["stop_reason"]
    # The grammar guarantees that whatever is cited was seen; whether the 1.5B model cites at all is its business.
    assert record["report"].strip() and record["citations"]["unverified"] == [], record["report"]
    assert all(url.startswith(corpus_host) for url in record["citations"]["verified"])
