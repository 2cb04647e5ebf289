"""Runs the operator: Kopf with our registry and settings, plus an HTTP server with /healthz and /metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import kopf
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fathom_operator import constants as c
from fathom_operator import handlers
from fathom_operator.config import OperatorConfig
from fathom_operator.errors import KubeError
from fathom_operator.k8s.client import Kube, load_api_client
from fathom_operator.reconcile import Reconciler

logger = logging.getLogger(__name__)


def _health_app(operator_task: asyncio.Task[None], ready: asyncio.Event) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        if operator_task.done() or not ready.is_set():
            return web.json_response({"status": "starting" if not operator_task.done() else "stopped"}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def probe_external_endpoints(reconciler: Reconciler, namespaces: Sequence[str], interval: float) -> None:
    """External model endpoints cannot be watched: re-probe them every `interval` seconds. Status is written only
    when it changed, so a healthy endpoint costs one read per stack per interval."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        try:
            stacks = await loop.run_in_executor(None, reconciler.stacks_with_external_models, list(namespaces))
            for namespace, name in stacks:
                await loop.run_in_executor(None, reconciler.refresh_status, namespace, name)
        except KubeError as exc:
            logger.warning("probing external model endpoints failed: %s", exc)


def ensure_peering(kube: Kube, name: str, namespaces: Sequence[str]) -> None:
    """Create the Kopf peering object(s) leader election needs, unless they exist (so one apply installs all)."""
    targets: list[tuple[str, str, str | None]] = [
        (f"/apis/kopf.dev/v1/namespaces/{ns}/kopfpeerings", "KopfPeering", ns) for ns in namespaces
    ] or [("/apis/kopf.dev/v1/clusterkopfpeerings", "ClusterKopfPeering", None)]
    for path, kind, namespace in targets:
        metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
        try:
            kube.request("POST", path, body={"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": metadata})
        except KubeError as exc:
            if exc.status != 409:
                raise


async def run(
    *,
    namespaces: Sequence[str] = (),
    all_namespaces: bool = False,
    peering_name: str | None = None,
    host: str = "0.0.0.0",
    port: int = c.OPERATOR_PORT,
    kubeconfig: str | None = None,
    config: OperatorConfig | None = None,
) -> None:
    config = config or OperatorConfig()
    logger.info(
        "starting fathom-operator: namespaces=%s all_namespaces=%s peering=%s sglang_image=%s runtime_image=%s",
        list(namespaces) or None, all_namespaces, peering_name or "standalone", config.sglang_image,
        config.runtime_image,
    )  # fmt: skip
    registry = kopf.OperatorRegistry()
    handlers.register(registry)
    kube = Kube(load_api_client(kubeconfig))
    if peering_name:
        ensure_peering(kube, peering_name, namespaces)
    reconciler = Reconciler(kube, config)
    ready = asyncio.Event()
    operator = asyncio.create_task(
        kopf.operator(
            registry=registry,
            settings=handlers.build_settings(peering_name=peering_name),
            standalone=peering_name is None,
            peering_name=peering_name,
            clusterwide=all_namespaces,
            namespaces=list(namespaces),
            memo=kopf.Memo(reconciler=reconciler),
            ready_flag=ready,
        )
    )
    prober = asyncio.create_task(probe_external_endpoints(reconciler, namespaces, config.status_resync_seconds))
    runner = web.AppRunner(_health_app(operator, ready), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await operator
    finally:
        prober.cancel()
        await runner.cleanup()
