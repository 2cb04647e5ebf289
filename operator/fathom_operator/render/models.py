"""Model servers (search, synthesizer, query LLM): a Deployment and a Service per role running SGLang on GPUs or
llama.cpp on CPUs, and the shared model-cache claim. SGLang flags follow the reference launch command
(docs/operator.md). Pure."""

from __future__ import annotations

import json
from typing import Any

from fathom_operator import constants as c
from fathom_operator.api.spec import ModelCacheSpec, ModelServerSpec, ResourceRequirements, SynthesizerModelSpec
from fathom_operator.config import RenderConfig
from fathom_operator.render import Manifest, meta, pods
from fathom_operator.render.meta import StackRef

CACHE_MOUNT = "/models"
# Model loading (download + weights to GPU + CUDA graphs) can take long: 10 s x 120 = 20 minutes of startup budget.
STARTUP_PERIOD_SECONDS = 10
STARTUP_FAILURES = 120


def sglang_args(spec: ModelServerSpec) -> list[str]:
    """Arguments of `python3 -m sglang.launch_server` derived from a model spec."""
    args = [
        "--model-path", spec.model,
        "--served-model-name", spec.served_name,
        "--host", "0.0.0.0",
        "--port", str(c.SGLANG_PORT),
        "--context-length", str(spec.context_length),
        "--tp", str(spec.tensor_parallel),
        "--dtype", "bfloat16",
        "--enable-metrics",
        "--trust-remote-code",
    ]  # fmt: skip
    if isinstance(spec, SynthesizerModelSpec) and spec.rope_scaling is not None:
        rope = spec.rope_scaling
        override = {
            "rope_scaling": {
                "rope_type": rope.type,
                "factor": rope.factor,
                "original_max_position_embeddings": rope.original_max_position_embeddings,
            }
        }
        args += ["--json-model-override-args", json.dumps(override, separators=(",", ":"))]
    return args + list(spec.extra_args)


def model_cache_claim_name(stack: StackRef) -> str:
    return meta.child_name(stack, c.MODEL_CACHE)


def render_model_cache(stack: StackRef, cache: ModelCacheSpec) -> list[Manifest]:
    """The PVC shared by the model servers, when the spec asks for one."""
    if cache.pvc is None:
        return []
    spec: dict[str, Any] = {
        "accessModes": list(cache.pvc.access_modes),
        "resources": {"requests": {"storage": cache.pvc.size}},
    }
    if cache.pvc.storage_class_name:
        spec["storageClassName"] = cache.pvc.storage_class_name
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta.metadata(stack, c.MODEL_CACHE),
            "spec": spec,
        }
    ]


def _env(spec: ModelServerSpec, cache: ModelCacheSpec) -> list[dict[str, Any]]:
    env = [
        pods.env_value("HOME", "/tmp"),
        pods.env_value("HF_HOME", f"{CACHE_MOUNT}/huggingface"),
    ]
    if cache.hf_token_secret_ref is not None:
        env.append(pods.env_secret("HF_TOKEN", cache.hf_token_secret_ref))
    return env + [pods.env_value(e.name, e.value) for e in spec.env]


def _volumes(stack: StackRef, cache: ModelCacheSpec) -> list[dict[str, Any]]:
    model_cache: dict[str, Any] = (
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": model_cache_claim_name(stack)}}
        if cache.pvc is not None
        else pods.empty_dir("model-cache")
    )
    # NCCL and the tokenizer workers share memory through /dev/shm; the container default (64 MiB) is too small.
    return [model_cache, pods.empty_dir("dshm", memory=True, size_limit="16Gi"), pods.empty_dir("tmp")]


def llamacpp_args(spec: ModelServerSpec) -> list[str]:
    """Arguments of `python3 -m llama_cpp.server` (llama-cpp-python's OpenAI-compatible server)."""
    args = [
        "--model", spec.model,
        "--model_alias", spec.served_name,
        "--host", "0.0.0.0",
        "--port", str(c.SGLANG_PORT),
        "--n_ctx", str(spec.context_length),
    ]  # fmt: skip
    cpus = _whole_cpus(spec.resources.limits.get("cpu") or spec.resources.requests.get("cpu"))
    if cpus:  # llama.cpp otherwise starts a thread per core of the node, whatever the pod's share
        args += ["--n_threads", str(cpus)]
    return args + list(spec.extra_args)


def _whole_cpus(quantity: int | str | None) -> int | None:
    if quantity is None:
        return None
    text = str(quantity)
    cores = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    return max(1, int(cores))


LLAMACPP_RESOURCES = ResourceRequirements(requests={"cpu": "1", "memory": "2Gi"}, limits={"memory": "4Gi"})


def _llamacpp_container(spec: ModelServerSpec, cache: ModelCacheSpec, config: RenderConfig) -> Manifest:
    requested = spec.resources if spec.resources.limits or spec.resources.requests else LLAMACPP_RESOURCES
    return {
        "name": "llamacpp",
        "image": spec.image or config.llamacpp_image,
        "command": ["python3", "-m", "llama_cpp.server"],
        "args": llamacpp_args(spec),
        "env": _env(spec, cache),
        "ports": [{"name": "http", "containerPort": c.SGLANG_PORT, "protocol": "TCP"}],
        "resources": pods.resources(requested),
        # Loading a GGUF from local disk takes seconds; 5 minutes covers a slow volume. After that, a socket: the
        # server answers /v1/models only between generations (it takes the model's lock), and a report can take
        # minutes on CPUs; a busy server is still ready (requests queue), so it must stay in its Service.
        "startupProbe": pods.http_probe("/v1/models", period=5, timeout=5, failures=60),
        "readinessProbe": pods.tcp_probe(period=10, timeout=5, failures=3),
        "livenessProbe": pods.tcp_probe(period=20, timeout=10, failures=6),
        "volumeMounts": [{"name": "model-cache", "mountPath": CACHE_MOUNT}, {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": pods.container_security_context(),
    }


def _container(role: str, spec: ModelServerSpec, cache: ModelCacheSpec, config: RenderConfig) -> Manifest:
    gpu_limits = {spec.gpu.resource_name: str(spec.gpu.count)} if spec.gpu.count else {}
    return {
        "name": "sglang",
        "image": spec.image or config.sglang_image,
        "command": ["python3", "-m", "sglang.launch_server"],
        "args": sglang_args(spec),
        "env": _env(spec, cache),
        "ports": [{"name": "http", "containerPort": c.SGLANG_PORT, "protocol": "TCP"}],
        "resources": pods.resources(spec.resources, gpu_limits),
        "startupProbe": pods.http_probe(
            "/health_generate", period=STARTUP_PERIOD_SECONDS, timeout=10, failures=STARTUP_FAILURES
        ),
        "readinessProbe": pods.http_probe("/health_generate", period=15, timeout=10, failures=3),
        "livenessProbe": pods.http_probe("/health", period=15, timeout=5, failures=4),
        "volumeMounts": [
            {"name": "model-cache", "mountPath": CACHE_MOUNT},
            {"name": "dshm", "mountPath": "/dev/shm"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        # Torch and Triton write caches next to the installed packages; the root filesystem stays writable.
        "securityContext": pods.container_security_context(read_only_root=False),
    }


def _tolerations(spec: ModelServerSpec) -> list[dict[str, Any]]:
    tolerations = pods.tolerations(spec)
    if (
        spec.engine == "sglang"
        and spec.gpu.count
        and not any(t.get("key") == spec.gpu.resource_name for t in tolerations)
    ):
        tolerations.append(pods.gpu_toleration(spec.gpu.resource_name))
    return tolerations


def render_model_server(
    stack: StackRef, role: str, spec: ModelServerSpec, cache: ModelCacheSpec, config: RenderConfig
) -> list[Manifest]:
    """Deployment and Service of one model role; nothing for engine `external`."""
    if not spec.deployed:
        return []
    container = (
        _llamacpp_container(spec, cache, config) if spec.engine == "llamacpp" else _container(role, spec, cache, config)
    )
    template = pods.pod_template(
        meta.labels(stack, role),
        [container],
        _volumes(stack, cache),
        service_account=meta.child_name(stack, c.RUNTIME),
        placement=spec,
        all_tolerations=_tolerations(spec),
        termination_grace_seconds=60,
    )
    deployment: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta.metadata(stack, role),
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": meta.selector(stack, role)},
            "strategy": model_rollout(spec.replicas),
            "template": template,
        },
    }
    return [deployment, meta.service(stack, role, c.SGLANG_PORT)]


def model_rollout(replicas: int) -> dict[str, Any]:
    """Never a second set of GPUs during a rollout: one replica is replaced (Recreate); several roll one at a time
    without a surge, so the role keeps serving."""
    if replicas < 2:
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def model_url(stack: StackRef, role: str, spec: ModelServerSpec) -> str:
    """Base URL clients use for a model role: the in-cluster Service, or the external endpoint."""
    if spec.engine == "external" and spec.endpoint:
        return spec.endpoint.rstrip("/")
    return meta.service_url(stack, role, c.SGLANG_PORT)
