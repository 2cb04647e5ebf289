"""What only real pods show: NetworkPolicies enforced by kube-router, DNS through CoreDNS, Chromium under a
read-only root filesystem, and the stack riding through tool-server pods going away. Every connection attempted here
is to a pod or Service of the test namespace (inside the node's network namespace)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from localcluster.tools import kubectl, port_forward
from tests.realnode.conftest import AUTH, QUESTION, STACK
from tests.support import realnode

CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4).close()
    print("connected")
except OSError as exc:
    print("refused:", type(exc).__name__)
"""


def _connect(kubeconfig: Path, namespace: str, source: str, host: str, port: int) -> str:
    code = CONNECT.replace("sys.argv[1]", repr(host)).replace("int(sys.argv[2])", str(port))
    result = realnode.exec_python(kubeconfig, namespace, source, code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _pod_ip(kubeconfig: Path, namespace: str, component: str) -> str:
    pods = realnode.pods_of(kubeconfig, namespace, f"app.kubernetes.io/component={component}")
    return str(pods[0]["status"]["podIP"])


def test_the_orchestrator_reaches_models_and_tools_and_an_unrelated_pod_does_not(kubeconfig: Path, stack: str) -> None:
    search_ip = _pod_ip(kubeconfig, stack, "search")
    orchestrator = f"deploy/{STACK}-orchestrator"
    assert _connect(kubeconfig, stack, orchestrator, search_ip, 30000) == "connected"
    assert _connect(kubeconfig, stack, orchestrator, f"{STACK}-tools", 8904) == "connected"
    # The corpus site has no business with the model servers: their policy admits only the orchestrator.
    assert _connect(kubeconfig, stack, "deploy/docs", search_ip, 30000).startswith("refused")
    assert _connect(kubeconfig, stack, "deploy/docs", f"{STACK}-tools", 8904).startswith("refused")


def test_only_the_clients_the_stack_names_reach_the_research_api(kubeconfig: Path, stack: str) -> None:
    api = f"{STACK}-orchestrator"
    assert _connect(kubeconfig, stack, "deploy/docs", api, 8900) == "connected"  # allowFrom: app=docs
    operator = realnode.pods_of(kubeconfig, stack, "app.kubernetes.io/component=operator")[0]["metadata"]["name"]
    assert _connect(kubeconfig, stack, f"pod/{operator}", api, 8900).startswith("refused")
    # A named client still needs a key: the policy decides who connects, the key who is answered.
    ask = f"import urllib.request as u\ntry:\n    u.urlopen('http://{api}:8900/v1/research', timeout=5)\n" \
          "except Exception as e:\n    print(getattr(e, 'code', e))"  # fmt: skip
    assert realnode.exec_python(kubeconfig, stack, "deploy/docs", ask).stdout.strip() == "401"


def test_the_tool_server_reaches_only_what_its_stack_names_inside_the_cluster(kubeconfig: Path, stack: str) -> None:
    tools = f"deploy/{STACK}-tools"
    # DNS works, and the corpus site the stack names is reachable ...
    resolved = realnode.exec_python(
        kubeconfig, stack, tools, f"import socket; print(socket.gethostbyname('docs.{stack}.svc.cluster.local'))"
    )
    assert resolved.returncode == 0 and resolved.stdout.strip().startswith("10.96."), resolved.stderr
    assert _connect(kubeconfig, stack, tools, f"docs.{stack}.svc", 8000) == "connected"
    # ... but other cluster-internal addresses are not, even below the application's own guard.
    assert _connect(kubeconfig, stack, tools, _pod_ip(kubeconfig, stack, "orchestrator"), 8900).startswith("refused")
    assert _connect(kubeconfig, stack, tools, _pod_ip(kubeconfig, stack, "operator"), 8080).startswith("refused")


def test_the_browser_renders_javascript_under_a_read_only_root_filesystem(kubeconfig: Path, stack: str) -> None:
    deployment = json.loads(kubectl(kubeconfig, "-n", stack, "get", "deploy", f"{STACK}-tools", "-o", "json"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    page = f"http://docs.{stack}.svc:8000/rendered.html"
    with port_forward(kubeconfig, stack, f"svc/{STACK}-tools", 8904) as url:
        body = httpx.post(f"{url}/v1/tools/web_visit", json={"url": page}, timeout=90).json()
    assert body.get("source") == "browser", body
    assert "kept in green ink from 1902" in body["result"]  # written by the page's script, seen only by a browser


def _ask(url: str) -> dict:  # type: ignore[type-arg]
    response = httpx.post(
        f"{url}/v1/research", params={"wait": "true"}, json={"question": QUESTION}, headers=AUTH, timeout=120
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_run_survives_a_tool_server_pod_being_deleted(kubeconfig: Path, stack: str) -> None:
    victim = realnode.pods_of(kubeconfig, stack, "app.kubernetes.io/component=tools")[0]["metadata"]["name"]
    with port_forward(kubeconfig, stack, f"svc/{STACK}-orchestrator", 8900) as url:
        results: list[dict] = []  # type: ignore[type-arg]
        runs = [threading.Thread(target=lambda: results.append(_ask(url))) for _ in range(4)]
        for run in runs:
            run.start()
        kubectl(kubeconfig, "-n", stack, "delete", "pod", victim, "--wait=false")
        for run in runs:
            run.join(timeout=180)
    assert [r["status"] for r in results] == ["succeeded"] * 4
    assert all(r["answer"] == "1931" and all(c["ok"] for c in r["tool_calls"]) for r in results)


def test_a_rolling_update_of_the_tool_server_loses_no_request(kubeconfig: Path, stack: str) -> None:
    failures: list[str] = []
    done = threading.Event()
    sent = 0
    with port_forward(kubeconfig, stack, f"svc/{STACK}-orchestrator", 8900) as url:

        def load() -> None:
            nonlocal sent
            while not done.is_set():
                record = _ask(url)
                sent += 1
                if record["status"] != "succeeded" or not all(c["ok"] for c in record["tool_calls"]):
                    failures.append(json.dumps(record["tool_calls"])[:500])

        worker = threading.Thread(target=load)
        worker.start()
        started = time.monotonic()
        restart = {"spec": {"template": {"metadata": {"annotations": {"fathom.dev/test-restart": str(started)}}}}}
        kubectl(kubeconfig, "-n", stack, "patch", "deploy", f"{STACK}-tools", "--type=merge", "-p", json.dumps(restart))
        realnode.wait_rollout(kubeconfig, stack, f"{STACK}-tools")
        done.set()
        worker.join(timeout=180)
    assert sent >= 3 and failures == []
