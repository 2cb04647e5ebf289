"""The web tool server: ConfigMap, Deployment, Service, optional HorizontalPodAutoscaler, PodDisruptionBudget. Pure."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fathom_operator import constants as c
from fathom_operator.api.spec import DeepResearchStackSpec, ResourceRequirements, ToolServerSpec
from fathom_operator.config import RenderConfig
from fathom_operator.render import Manifest, corpus, meta, models, network, pods
from fathom_operator.render.meta import StackRef

CACHE_DIR = "/var/cache/fathom"
DEFAULT_RESOURCES = ResourceRequirements(limits={"memory": "2Gi"}, requests={"cpu": "500m", "memory": "512Mi"})


def extraction_endpoint(stack: StackRef, spec: DeepResearchStackSpec) -> tuple[str, str] | None:
    """(OpenAI-compatible base URL ending in /v1, served model name) of the extraction LLM, or None."""
    role = spec.extraction_role()
    if role is None:
        return None
    model = spec.models.enabled()[role]
    url = models.model_url(stack, role, model)
    return (url if url.endswith("/v1") else f"{url}/v1"), model.served_name


def build_config(stack: StackRef, spec: DeepResearchStackSpec) -> dict[str, str]:
    """Non-secret settings of the tool server, as FATHOM_* variables."""
    tools = spec.tool_server
    allow = list(tools.egress.allow_hosts)
    if tools.egress.allow_private_networks:
        allow += [net for net in network.PRIVATE_NETWORKS if net not in allow]
    pages = corpus.corpus_url(
        stack, tools.search.corpus
    )  # the agent fetches the corpus pages: the guard lets their in-cluster host through
    peer = network.in_cluster_peer(pages, stack.namespace) if pages else None
    if peer is not None and peer[0] not in allow:
        allow.append(peer[0])
    config = {
        c.ENV_SEARCH_PROVIDER: tools.search.provider,
        c.ENV_CACHE: tools.cache.type,
        c.ENV_EGRESS_ALLOW: ",".join(allow),
        "FATHOM_BROWSER_ENABLED": str(tools.fetch.browser.enabled).lower(),
    }
    if tools.search.url:
        config[c.ENV_SEARXNG_URL] = tools.search.url
    config |= corpus.render_corpus(stack, tools.search.corpus).env
    if tools.cache.type == "disk":
        config[c.ENV_CACHE_URL] = tools.cache.url or CACHE_DIR
    elif tools.cache.url:
        config[c.ENV_CACHE_URL] = tools.cache.url
    endpoint = extraction_endpoint(stack, spec)
    if endpoint is not None:
        config[c.ENV_QUERY_LLM_URL], config[c.ENV_QUERY_LLM_MODEL] = endpoint
    return dict(sorted(config.items()))


def config_hash(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _secret_env(tools: ToolServerSpec) -> list[dict[str, Any]]:
    env = []
    if tools.search.api_key_secret_ref is not None:
        env.append(pods.env_secret(c.ENV_SERPER_API_KEY, tools.search.api_key_secret_ref))
    if tools.fetch.jina_api_key_secret_ref is not None:
        env.append(pods.env_secret(c.ENV_JINA_API_KEY, tools.fetch.jina_api_key_secret_ref))
    return env


def _volumes(tools: ToolServerSpec, files: corpus.CorpusMount) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes = [pods.empty_dir("tmp", size_limit="1Gi"), *files.volumes]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, *files.mounts]
    if tools.cache.type == "disk":
        volumes.append(pods.empty_dir("cache", size_limit="10Gi"))
        mounts.append({"name": "cache", "mountPath": CACHE_DIR})
    if tools.fetch.browser.enabled:  # Chromium renders through shared memory
        volumes.append(pods.empty_dir("dshm", memory=True, size_limit="1Gi"))
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    return volumes, mounts


def render_toolserver(stack: StackRef, spec: DeepResearchStackSpec, config: RenderConfig) -> list[Manifest]:
    tools = spec.tool_server
    name = meta.child_name(stack, c.TOOL_SERVER)
    data = build_config(stack, spec)
    files = corpus.render_corpus(stack, tools.search.corpus)
    volumes, mounts = _volumes(tools, files)
    container = pods.runtime_container(
        "toolserver",
        tools.image or config.runtime_image,
        c.TOOLSERVER_PORT,
        env=_secret_env(tools),
        env_from=[{"configMapRef": {"name": name}}],
        requested=tools.resources,
        default_resources=DEFAULT_RESOURCES,
        mounts=mounts,
    )
    template = pods.pod_template(
        meta.labels(stack, c.TOOL_SERVER),
        [container],
        volumes,
        service_account=meta.child_name(stack, c.RUNTIME),
        placement=tools,
        affinity=pods.avoid_gpu_nodes(),
        init_containers=files.init_containers,
        # Changing the ConfigMap alone would not restart pods; the hash in the template does.
        annotations={c.ANNOTATION_CONFIG_HASH: config_hash(data)},
    )
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": meta.selector(stack, c.TOOL_SERVER)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": template,
    }
    if not tools.autoscaling.enabled:  # with an HPA, replicas belong to the HPA's field manager
        deployment_spec["replicas"] = tools.replicas
    objects: list[Manifest] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta.metadata(stack, c.TOOL_SERVER), "data": data},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta.metadata(stack, c.TOOL_SERVER),
            "spec": deployment_spec,
        },
        meta.service(stack, c.TOOL_SERVER, c.TOOLSERVER_PORT),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta.metadata(stack, c.TOOL_SERVER),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": meta.selector(stack, c.TOOL_SERVER)}},
        },
    ]
    if tools.autoscaling.enabled:
        objects.append(_hpa(stack, tools))
    objects += corpus.render_corpus_site(
        stack, tools.search.corpus, runtime_service_account=meta.child_name(stack, c.RUNTIME), placement=tools
    )
    return objects


def _hpa(stack: StackRef, tools: ToolServerSpec) -> Manifest:
    scaling = tools.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta.metadata(stack, c.TOOL_SERVER),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": meta.child_name(stack, c.TOOL_SERVER),
            },
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }
