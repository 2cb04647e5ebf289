"""The orchestrator (research API): Deployment, Service and, for SQLite, its data volume. Pure."""

from __future__ import annotations

from typing import Any

from fathom_operator import constants as c
from fathom_operator.api.spec import DeepResearchStackSpec, ResourceRequirements
from fathom_operator.config import RenderConfig
from fathom_operator.render import Manifest, meta, models, pods
from fathom_operator.render.meta import StackRef

DATA_DIR = "/var/lib/fathom"
PROMPTS_DIR = "/etc/fathom/prompts"
API_KEYS_DIR = "/etc/fathom/api-keys"
SQLITE_URL = f"sqlite+aiosqlite:///{DATA_DIR}/fathom.db"
DEFAULT_RESOURCES = ResourceRequirements(limits={"memory": "1Gi"}, requests={"cpu": "250m", "memory": "256Mi"})


def report_max_tokens(spec: DeepResearchStackSpec) -> int:
    """The report's room: as configured, else at most 10,000 new tokens and at most a quarter of the context."""
    context = spec.models.synthesizer.context_length
    return spec.orchestrator.report_max_tokens or min(10_000, context // 4)


def data_claim_name(stack: StackRef) -> str:
    return f"{meta.child_name(stack, c.ORCHESTRATOR)}-data"


def build_env(stack: StackRef, spec: DeepResearchStackSpec) -> list[dict[str, Any]]:
    """Everything the orchestrator needs to find its models, tool servers and database."""
    roles, orch = spec.models, spec.orchestrator
    env = [
        pods.env_value(c.ENV_SEARCH_MODEL_URL, models.model_url(stack, c.SEARCH, roles.search)),
        pods.env_value(c.ENV_SYNTHESIZER_MODEL_URL, models.model_url(stack, c.SYNTHESIZER, roles.synthesizer)),
        pods.env_value(c.ENV_MODEL_API, orch.model_api),
        pods.env_value(c.ENV_TOOLSERVER_URLS, meta.service_url(stack, c.TOOL_SERVER, c.TOOLSERVER_PORT)),
        pods.env_value(c.ENV_MAX_TURNS, orch.max_turns),
        pods.env_value(c.ENV_MAX_CONTEXT_TOKENS, orch.max_context_tokens),
        pods.env_value(c.ENV_TEMPERATURE, orch.temperature),
        pods.env_value(c.ENV_SEARCH_MODEL_NAME, roles.search.served_name),
        pods.env_value(c.ENV_SYNTHESIZER_MODEL_NAME, roles.synthesizer.served_name),
        pods.env_value(c.ENV_SYNTHESIS_CONTEXT_TOKENS, roles.synthesizer.context_length),
        pods.env_value(c.ENV_SYNTHESIS_MAX_NEW_TOKENS, report_max_tokens(spec)),
    ]
    for variable, model in ((c.ENV_SEARCH_MODEL_API, roles.search), (c.ENV_SYNTHESIZER_MODEL_API, roles.synthesizer)):
        if model.engine == "llamacpp":  # llama.cpp speaks only the OpenAI-compatible API
            env.append(pods.env_value(variable, "completions"))
    if orch.constrained_actions:
        env.append(pods.env_value(c.ENV_CONSTRAINED_ACTIONS, "true"))
    if orch.constrained_citations:
        env.append(pods.env_value(c.ENV_CONSTRAINED_CITATIONS, "true"))
    if orch.max_turn_tokens:
        env.append(pods.env_value(c.ENV_MAX_TURN_TOKENS, orch.max_turn_tokens))
    if orch.api_keys_secret_ref is not None:
        env.append(pods.env_value(c.ENV_API_KEYS_FILE, f"{API_KEYS_DIR}/keys"))
    if orch.prompts.config_map_name:
        env.append(pods.env_value(c.ENV_SEARCH_PROMPT_FILE, f"{PROMPTS_DIR}/{c.PROMPT_KEY_SEARCH}"))
        env.append(pods.env_value(c.ENV_SYNTHESIS_PROMPT_FILE, f"{PROMPTS_DIR}/{c.PROMPT_KEY_SYNTHESIS}"))
    if orch.storage.type == "postgres" and orch.storage.dsn_secret_ref is not None:
        env.append(pods.env_secret(c.ENV_DATABASE_URL, orch.storage.dsn_secret_ref))
    else:
        env.append(pods.env_value(c.ENV_DATABASE_URL, SQLITE_URL))
    return env


def render_orchestrator(stack: StackRef, spec: DeepResearchStackSpec, config: RenderConfig) -> list[Manifest]:
    orch = spec.orchestrator
    sqlite = orch.storage.type == "sqlite"
    volumes = [pods.empty_dir("tmp", size_limit="1Gi")]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    objects: list[Manifest] = []
    if sqlite:
        pvc = orch.storage.pvc
        claim: dict[str, Any] = {
            "accessModes": list(pvc.access_modes),
            "resources": {"requests": {"storage": pvc.size}},
        }
        if pvc.storage_class_name:
            claim["storageClassName"] = pvc.storage_class_name
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta.metadata(stack, c.ORCHESTRATOR, data_claim_name(stack)),
                "spec": claim,
            }
        )
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": data_claim_name(stack)}})
        mounts.append({"name": "data", "mountPath": DATA_DIR})
    if orch.api_keys_secret_ref is not None:  # a file, so a rotated Secret reaches the running pod
        ref = orch.api_keys_secret_ref
        secret = {"secretName": ref.name, "items": [{"key": ref.key, "path": "keys"}], "defaultMode": 0o440}
        volumes.append({"name": "api-keys", "secret": secret})
        mounts.append({"name": "api-keys", "mountPath": API_KEYS_DIR, "readOnly": True})
    if orch.prompts.config_map_name:
        volumes.append({"name": "prompts", "configMap": {"name": orch.prompts.config_map_name}})
        mounts.append({"name": "prompts", "mountPath": PROMPTS_DIR, "readOnly": True})
    container = pods.runtime_container(
        "orchestrator",
        orch.image or config.runtime_image,
        c.ORCHESTRATOR_PORT,
        env=build_env(stack, spec),
        requested=orch.resources,
        default_resources=DEFAULT_RESOURCES,
        mounts=mounts,
    )
    template = pods.pod_template(
        meta.labels(stack, c.ORCHESTRATOR),
        [container],
        volumes,
        service_account=meta.child_name(stack, c.RUNTIME),
        placement=orch,
        affinity=pods.avoid_gpu_nodes(),
        # Research runs in flight are marked failed on restart; give them time to finish or be recorded.
        termination_grace_seconds=60,
    )
    # One SQLite file on a ReadWriteOnce volume: never run two pods at once.
    strategy = (
        {"type": "Recreate"}
        if sqlite
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    objects += [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta.metadata(stack, c.ORCHESTRATOR),
            "spec": {
                "replicas": orch.replicas,
                "selector": {"matchLabels": meta.selector(stack, c.ORCHESTRATOR)},
                "strategy": strategy,
                "template": template,
            },
        },
        meta.service(stack, c.ORCHESTRATOR, c.ORCHESTRATOR_PORT),
    ]
    return objects
