"""`make demo`: the product doing its job on this machine. The local cluster with its real node, the images built
here, the operator installed by its Helm chart as a real pod, examples/04-cpu.yaml (a 1.5B CPU model for both
roles, Python's documentation as the corpus) on the real node, and one research question through the orchestrator's
Service: live progress, a cited answer, a report file. The tests run the same functions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from localcluster import cluster, node
from localcluster.tools import REPO, bin_dir, kubectl, log, port_forward, run, wait_for

NAMESPACE = "fathom-demo"
RELEASE = "fathom"
EXAMPLE = REPO / "examples" / "04-cpu.yaml"
QUESTION = "Which function of Python's asyncio module runs several awaitables concurrently and collects their results?"


def out(message: str = "") -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def placed_stack(path: Path = EXAMPLE, namespace: str = NAMESPACE) -> dict[str, Any]:
    """The example stack with every component's pods asking for the real node (which is tainted). Pure."""
    body: dict[str, Any] = yaml.safe_load(path.read_text())
    body["metadata"]["namespace"] = namespace
    spec = body["spec"]
    for role in spec.get("models", {}).values():
        role.update(node.POD_PLACEMENT)
    for component in ("toolServer", "orchestrator"):
        spec.setdefault(component, {}).update(node.POD_PLACEMENT)
    return body


def install_operator(kubeconfig: Path, namespace: str, release: str = RELEASE) -> None:
    """The chart as a user installs it, watching `namespace`, the operator pod on the real node. Helm installs CRDs
    but never upgrades them, so they are applied first, as docs/operator.md tells users to."""
    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    values = Path(f"/tmp/fathom-{release}-{namespace}-values.json")
    values.write_text(json.dumps({"watchNamespaces": [namespace], **node.POD_PLACEMENT}))
    run(bin_dir() / "helm", "--kubeconfig", kubeconfig, "upgrade", "--install", release, REPO / "charts/fathom",
        "--namespace", namespace, "--create-namespace", "--values", values, "--wait", "--timeout", "300s")  # fmt: skip


def uninstall_operator(kubeconfig: Path, namespace: str, release: str = RELEASE) -> None:
    """The chart's cluster-wide objects (RBAC, admission policies) go with the release, not with its namespace."""
    run(bin_dir() / "helm", "--kubeconfig", kubeconfig, "uninstall", release, "--namespace", namespace,
        "--ignore-not-found", "--wait", check=False)  # fmt: skip


def deploy(kubeconfig: Path, namespace: str = NAMESPACE, release: str = RELEASE) -> None:
    """Namespace (Pod Security "restricted"), operator, stack; returns when the stack is Ready."""
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=json.dumps(ns))
    started = time.monotonic()
    install_operator(kubeconfig, namespace, release)
    out(f"operator running as a pod ({time.monotonic() - started:.0f}s)")
    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-",
            stdin=json.dumps(placed_stack(namespace=namespace)))  # fmt: skip
    last = ""

    def ready() -> bool:
        nonlocal last
        path = "jsonpath={.status.phase} {.status.conditions[?(@.type=='Ready')].message}"
        phase = kubectl(kubeconfig, "-n", namespace, "get", "drs", "cpu", "-o", path, check=False)
        if phase != last:
            out(f"  [{time.monotonic() - started:5.0f}s] {phase.strip() or 'created'}")
            last = phase
        return phase.startswith("Ready")

    wait_for(ready, "the CPU stack to be Ready", timeout=900, interval=2)


def ask(url: str, question: str, report: Path) -> int:
    """`fathom research` as a user runs it: live progress, the cited answer, the report written."""
    command = [sys.executable, "-m", "fathom_runtime.cli.main", "research", question, "--url", url,
               "--mode", "deepresearch", "-o", str(report)]  # fmt: skip
    return subprocess.run(command, timeout=1800).returncode


def main() -> int:
    reason = node.unavailable_reason()
    if reason:
        out(f"make demo runs real pods on this machine and {reason}.")
        return 1
    started = time.monotonic()
    out("== local cluster: control plane, simulated GPU nodes, real node")
    kubeconfig = cluster.up()
    out("== images (built from images/*.Dockerfile, cached)")
    for archive in cluster.build_images():
        log(f"loaded {archive.name}")
    out(f"== operator (Helm chart) and the CPU stack in namespace {NAMESPACE}")
    deploy(kubeconfig)
    out(f"== research (stack Ready after {time.monotonic() - started:.0f}s)")
    report = Path("demo-report.md").resolve()
    with port_forward(kubeconfig, NAMESPACE, "svc/cpu-orchestrator", 8900) as url:
        code = ask(url, QUESTION, report)
    out(f"\nDone in {time.monotonic() - started:.0f}s. The report is in {report}.")
    out(DISCLAIMER)
    out(NEXT_STEPS.format(kubeconfig=kubeconfig, ns=NAMESPACE))
    return code


DISCLAIMER = """
This demo runs on CPUs: a 1.5B model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, through llama.cpp) stands in for BOTH
Fathom models, Fathom-Search-4B and Fathom-Synthesizer-4B, which need GPUs (examples/01-minimal.yaml: 2 GPUs). Its
answers and reports are far weaker; with GPUs the same stack runs the real models on SGLang."""

NEXT_STEPS = """
Where things are:
  export KUBECONFIG={kubeconfig}
  kubectl -n {ns} get drs,pods          # the stack and its pods (all on real-node-0)
  kubectl -n {ns} logs deploy/cpu-orchestrator

Ask another question:
  kubectl -n {ns} port-forward svc/cpu-orchestrator 8900 &
  .venv/bin/fathom research "What does functools.lru_cache do?" --url http://127.0.0.1:8900
  curl -s -X POST 'http://127.0.0.1:8900/v1/research?wait=true' -H 'content-type: application/json' \\
       -d '{{"question": "How do I read a file line by line?"}}'
  python -c "from openai import OpenAI; c = OpenAI(base_url='http://127.0.0.1:8900/v1', api_key='none'); \\
m = [{{'role': 'user', 'content': 'What is a coroutine?'}}]; \\
print(c.chat.completions.create(model='fathom-search', messages=m).choices[0].message.content)"
  open http://127.0.0.1:8900/docs       # the API's Swagger UI

Tear down: make cluster-down   (the operator keeps running until then; images stay cached for the next run)"""


if __name__ == "__main__":
    sys.exit(main())
