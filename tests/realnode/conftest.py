"""One namespace per module on the real node (Pod Security "restricted" enforced): the operator installed by the Helm
chart as a real pod, the corpus site, and a DeepResearchStack whose model roles run the SGLang stub image and whose
tool server and orchestrator run the runtime image."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fathom_runtime.orchestrator import auth
from localcluster import demo
from localcluster.tools import kubectl
from tests.support import realnode
from tests.support.kube import eventually

STACK = "research"
QUESTION = "When did the Aurora Falls Observatory open?"
SEARCH_REPLIES = [
    '<think>I should search for the observatory.</think>\n<tool_call>\n{"name": "search_urls", "arguments": '
    '{"query": "Aurora Falls Observatory opened"}}\n</tool_call>',
    '<think>The first hit looks right; read it.</think>\n<tool_call>\n{"name": "query_url", "arguments": '
    '{"url": "{url}", "goal": "the year the observatory opened"}}\n</tool_call>',
    "<think>The page says 1931.</think> It opened in \\[ \\boxed{1931} \\].",
]
EXTRACTION = 'Rational: the page dates the opening.\nEvidence:\n- "opened to astronomers in 1931"\nSummary: 1931.'
REPORT = "<think>S1: opening.</think># Executive Summary\n- The observatory opened in 1931. [{url}]"
# Fixed, not random: test modules import this file again under another name than pytest's conftest, and every copy
# must agree with the Secret the fixture created.
API_KEY = "fathom_realnode-tests-" + "k" * 43
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def node_images(real_node: str) -> None:
    realnode.ensure_images()


@pytest.fixture(scope="module")
def rn_namespace(kubeconfig: Path, real_node: str, node_images: None) -> Iterator[str]:
    name = f"rn-{uuid.uuid4().hex[:8]}"
    labels = {"fathom.dev/test": "true", "pod-security.kubernetes.io/enforce": "restricted"}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(namespace))
    yield name
    demo.uninstall_operator(kubeconfig, name)
    # Waited for: the next module needs the CPU its pods requested.
    kubectl(kubeconfig, "delete", "namespace", name, "--timeout=180s", check=False)


def stack_body(namespace: str, **tool_server: Any) -> dict[str, Any]:
    placement = realnode.ON_REAL_NODE
    stub = realnode.STUB.name

    def model(replies: list[str]) -> dict[str, Any]:
        env = [{"name": "FATHOM_STUB_REPLIES", "value": json.dumps(replies)},
               {"name": "FATHOM_STUB_CHAT", "value": EXTRACTION}]  # fmt: skip
        return {"image": stub, "gpu": {"count": 0}, "resources": realnode.SMALL, "env": env, **placement}

    corpus = {"configMap": "docs-pages", "baseUrl": f"http://docs.{namespace}.svc:8000"}
    return {
        "apiVersion": "fathom.dev/v1alpha1",
        "kind": "DeepResearchStack",
        "metadata": {"name": STACK, "namespace": namespace},
        "spec": {
            "models": {
                "search": model(SEARCH_REPLIES),
                "synthesizer": model([REPORT]) | {"ropeScaling": None, "contextLength": 40960},
            },
            "toolServer": {
                "replicas": 2,
                "search": {"provider": "local", "corpus": corpus},
                "resources": realnode.SMALL,
                **placement,
                **tool_server,
            },
            "orchestrator": {
                "resources": realnode.SMALL,
                "apiKeysSecretRef": {"name": "research-keys", "key": "keys"},
                "allowFrom": [{"podSelector": {"app": "docs"}}],  # the corpus site stands in for a client app
                **placement,
            },
        },
    }


def api_keys_secret() -> dict[str, Any]:
    """The key file the orchestrator reads: only the digest of API_KEY, as `fathom api-key` writes it."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "research-keys"},
            "stringData": {"keys": auth.key_line("tests", "admin", API_KEY) + "\n"}}  # fmt: skip


def stack_phase(kubeconfig: Path, namespace: str) -> str:
    out = kubectl(kubeconfig, "-n", namespace, "get", "drs", STACK, "-o", "jsonpath={.status.phase}", check=False)
    return out.strip()


@pytest.fixture(scope="module")
def stack(kubeconfig: Path, rn_namespace: str) -> str:
    """The namespace of a Ready stack on real pods."""
    demo.install_operator(kubeconfig, rn_namespace)
    realnode.apply(kubeconfig, rn_namespace, *realnode.corpus_site(rn_namespace), api_keys_secret())
    realnode.apply(kubeconfig, rn_namespace, stack_body(rn_namespace, fetch={"browser": {"enabled": True}}))
    eventually(lambda: stack_phase(kubeconfig, rn_namespace) == "Ready", "the stack to be Ready on real pods",
               timeout=300, interval=2)  # fmt: skip
    realnode.wait_rollout(kubeconfig, rn_namespace, "docs")
    return rn_namespace
