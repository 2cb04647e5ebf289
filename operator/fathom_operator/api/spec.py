"""DeepResearchStack spec models: camelCase on the wire, snake_case in Python, a default and a description on
every field. The CRD schema is generated from these (api/crd.py). Pure: imports only constants and rules."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from fathom_operator import constants as c
from fathom_operator.api import rules
from fathom_operator.api.rules import Rule

IntOrString = Annotated[int | str, Field(json_schema_extra={"x-kubernetes-int-or-string": True})]
# A Kubernetes object passed through as written (affinity, a topology spread constraint): the API server validates
# it where it lands, in the pod template.
KubeObject = Annotated[
    dict[str, Any],
    Field(description="As in a Pod spec.", json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}),
]
_K8S_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?([EPTGMK]i?|[mkMGTPE]|e[0-9]+)?$")]
Engine = Literal["sglang", "llamacpp", "external"]
SearchProvider = Literal["serper", "searxng", "local"]
CacheType = Literal["memory", "disk", "redis"]
StorageType = Literal["sqlite", "postgres"]
ModelApi = Literal["generate", "completions"]
ExtractionModel = Literal["auto", "passages"]


def _add_cross_field_rules(schema: dict[str, Any], cls: type[Any]) -> None:
    if cls.cross_field_rules:
        schema.update(rules.schema_extra(*cls.cross_field_rules))


class SpecModel(BaseModel):
    """Base of every spec model: camelCase aliases, unknown fields refused, immutable values, and
    `cross_field_rules` both checked here and emitted as CEL into the CRD schema."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=_add_cross_field_rules,
    )
    cross_field_rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_cross_field_rules(self) -> SpecModel:
        broken = rules.violations(self, self.cross_field_rules)
        if broken:
            raise ValueError("; ".join(broken))
        return self


class SecretKeyRef(SpecModel):
    """A key of a Secret in the stack's namespace. Secret values are only ever passed as secretKeyRef."""

    name: str = Field(min_length=1, description="Name of the Secret.")
    key: str = Field(default="token", min_length=1, description="Key inside the Secret.")


class GpuSpec(SpecModel):
    """GPUs per replica."""

    count: int = Field(
        default=1, ge=0, le=16, description="GPUs requested by each replica (limits); 0 runs the server on CPU."
    )
    resource_name: str = Field(
        default="nvidia.com/gpu", min_length=1, description="Extended resource name of the GPU device plugin."
    )


# Kubernetes' quantity syntax (resource.Quantity): a number with an optional binary, decimal or exponent suffix.
_QUANTITY = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")


def _quantities_rule(field: str) -> Rule:
    return Rule(
        cel=f"!has(self.{field}) || self.{field}.all(k, isQuantity(string(self.{field}[k])))",
        message=f"{field} values must be quantities such as 500m, 2, 4Gi or 512Mi",
        field_path=f".{field}",
        check=lambda m: all(_QUANTITY.fullmatch(str(v)) for v in getattr(m, field).values()),
    )


class ResourceRequirements(SpecModel):
    """CPU and memory for the container, as in a Pod spec. GPUs are set through `gpu`."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (_quantities_rule("limits"), _quantities_rule("requests"))

    limits: dict[str, IntOrString] = Field(default_factory=dict, max_length=8, description="Resource limits.")
    requests: dict[str, IntOrString] = Field(default_factory=dict, max_length=8, description="Resource requests.")


class Toleration(SpecModel):
    """A Pod toleration."""

    key: str | None = Field(default=None, description="Taint key the toleration applies to.")
    operator: Literal["Exists", "Equal"] = Field(default="Equal", description="Exists or Equal.")
    value: str | None = Field(default=None, description="Taint value to match when operator is Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to match; empty matches all effects."
    )
    toleration_seconds: int | None = Field(default=None, description="How long a NoExecute taint is tolerated.")


class EnvVar(SpecModel):
    """An extra environment variable with a literal value (use Secrets for anything sensitive)."""

    name: str = Field(min_length=1, description="Variable name.")
    value: str = Field(default="", description="Variable value.")


class RopeScaling(SpecModel):
    """YaRN RoPE scaling passed to SGLang as a model-config override."""

    type: Literal["yarn"] = Field(default="yarn", description="RoPE scaling type; only yarn is supported.")
    factor: float = Field(default=2.0, gt=1.0, le=16.0, description="Context extension factor.")
    original_max_position_embeddings: int = Field(
        default=40960, ge=1024, description="Context length the model was trained with."
    )


# Endpoints the operator itself probes: never link-local or a cloud metadata service (the operator's network position
# must not be lent to whoever writes a stack).
METADATA_HOSTS = ("metadata.google.internal", "metadata", "instance-data", "metadata.azure.com")
METADATA_NETWORKS = ("192.0.0.192/32", "168.63.129.16/32", "100.100.100.200/32", "fd00:ec2::254/128")
# CEL's URL and IP functions are too costly for the API server's admission budget, so the rule matches the URL's
# host textually (the operator also checks what the name resolves to before it probes, k8s/observe.py).
_METADATA_URL = (
    r"(?i)^https?://(169\.254\.[0-9.]+|192\.0\.0\.192|168\.63\.129\.16|100\.100\.100\.200"
    r"|\[fe[89ab][0-9a-f]:[0-9a-f:.]*\]|\[fd00:ec2::254\]|"
    + "|".join(h.replace(".", r"\.") for h in METADATA_HOSTS)
    + r")(:[0-9]+)?([/?#].*)?$"
)


def _safe_endpoint(endpoint: str | None) -> bool:
    if endpoint is None:
        return True
    if re.match(_METADATA_URL, endpoint):
        return False
    host = (urlsplit(endpoint).hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return not address.is_link_local and not any(address in ipaddress.ip_network(n) for n in METADATA_NETWORKS)


_ENDPOINT_NOT_METADATA = Rule(
    cel=f"!has(self.endpoint) || !self.endpoint.matches({_METADATA_URL!r})",
    message="endpoint must not be a link-local or cloud metadata address",
    field_path=".endpoint",
    check=lambda m: _safe_endpoint(m.endpoint),
)
_EXTERNAL_NEEDS_ENDPOINT = Rule(
    cel="self.engine != 'external' || has(self.endpoint)",
    message="endpoint is required when engine is external",
    field_path=".endpoint",
    check=lambda m: m.engine != "external" or m.endpoint is not None,
)
_TP_FITS_GPUS = Rule(
    cel="self.engine != 'sglang' || self.gpu.count == 0 || self.tensorParallel <= self.gpu.count",
    message="tensorParallel must not exceed gpu.count",
    field_path=".tensorParallel",
    check=lambda m: m.engine != "sglang" or m.gpu.count == 0 or m.tensor_parallel <= m.gpu.count,
)
_LLAMACPP_NEEDS_GGUF = Rule(
    cel="self.engine != 'llamacpp' || self.model.endsWith('.gguf')",
    message="model must be the path of a .gguf file when engine is llamacpp",
    field_path=".model",
    check=lambda m: m.engine != "llamacpp" or m.model.endswith(".gguf"),
)
_MODEL_RULES = (_EXTERNAL_NEEDS_ENDPOINT, _ENDPOINT_NOT_METADATA, _TP_FITS_GPUS, _LLAMACPP_NEEDS_GGUF)


class PlacementSpec(SpecModel):
    """Where and how a component's pods run: scheduling, images, and pod metadata."""

    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the pods must match.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Tolerations of the pods.")
    affinity: KubeObject | None = Field(
        default=None, description="Pod affinity as in a Pod spec; replaces the default (CPU pods avoid GPU nodes)."
    )
    topology_spread_constraints: list[KubeObject] = Field(
        default_factory=list, max_length=8, description="topologySpreadConstraints as in a Pod spec."
    )
    priority_class_name: str | None = Field(
        default=None, pattern=_K8S_NAME, max_length=253, description="PriorityClass of the pods."
    )
    runtime_class_name: str | None = Field(
        default=None, pattern=_K8S_NAME, max_length=253, description="RuntimeClass of the pods (e.g. nvidia)."
    )
    image_pull_secrets: list[Annotated[str, Field(pattern=_K8S_NAME, max_length=253)]] = Field(
        default_factory=list, max_length=8, description="Names of Secrets for pulling the images."
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="imagePullPolicy of every container; empty: Kubernetes' default for the tag."
    )
    pod_annotations: dict[str, str] = Field(default_factory=dict, description="Extra annotations on the pods.")
    pod_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra labels on the pods (the app.kubernetes.io/ labels the operator selects by stay its own).",
    )


class ModelServerSpec(PlacementSpec):
    """A model server: SGLang pods on GPUs (engine sglang) or an existing endpoint (engine external)."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = _MODEL_RULES

    model: str = Field(
        min_length=1,
        description="Hugging Face model id or a path inside the model cache; a .gguf file path for engine llamacpp.",
    )
    served_name: str = Field(min_length=1, description="Name the server reports as its model (--served-model-name).")
    replicas: int = Field(default=1, ge=0, le=64, description="Number of model server replicas.")
    tensor_parallel: int = Field(default=1, ge=1, le=16, description="Tensor-parallel degree (--tp).")
    context_length: int = Field(ge=1024, description="Maximum context length in tokens (--context-length).")
    gpu: GpuSpec = Field(default_factory=GpuSpec, description="GPUs per replica.")
    image: str | None = Field(
        default=None, description="Model server image; empty means the operator's default SGLang image."
    )
    engine: Engine = Field(
        default="sglang",
        description="sglang: SGLang pods on GPUs; llamacpp: llama.cpp's OpenAI-compatible server on CPU nodes "
        "(model is a .gguf path, in the image or the model cache); external: use `endpoint`, deploy nothing.",
    )
    endpoint: str | None = Field(
        default=None,
        max_length=512,
        pattern=r"^https?://[^\s/]+(/.*)?$",
        description="Base URL of an existing server (required when engine is external).",
    )
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements, description="CPU and memory.")
    extra_args: list[str] = Field(default_factory=list, description="Extra arguments appended to the server command.")
    env: list[EnvVar] = Field(default_factory=list, description="Extra environment variables of the server.")

    @property
    def deployed(self) -> bool:
        """Whether the stack runs this server's pods (every engine but external)."""
        return self.engine != "external"


class SearchModelSpec(ModelServerSpec):
    """The search agent, Fathom-Search-4B."""

    model: str = Field(default="FractalAIResearch/Fathom-Search-4B", min_length=1, description="Model id or path.")
    served_name: str = Field(default="Fathom-Search-4B", min_length=1, description="--served-model-name.")
    context_length: int = Field(default=40960, ge=1024, description="--context-length.")


_YARN_COVERS_CONTEXT = Rule(
    cel="self.engine != 'sglang' || !has(self.ropeScaling) || "
    "self.ropeScaling.factor * double(self.ropeScaling.originalMaxPositionEmbeddings) >= double(self.contextLength)",
    message="contextLength must not exceed ropeScaling.factor x ropeScaling.originalMaxPositionEmbeddings",
    field_path=".contextLength",
    check=lambda m: (
        m.engine != "sglang"
        or m.rope_scaling is None
        or m.rope_scaling.factor * m.rope_scaling.original_max_position_embeddings >= m.context_length
    ),
)
_SYNTHESIZER_RULES = (*_MODEL_RULES, _YARN_COVERS_CONTEXT)


class SynthesizerModelSpec(ModelServerSpec):
    """The report writer, Fathom-Synthesizer-4B, served with YaRN x2 over its 40960-token base context."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = _SYNTHESIZER_RULES

    model: str = Field(default="FractalAIResearch/Fathom-Synthesizer-4B", min_length=1, description="Model id or path.")
    served_name: str = Field(default="Fathom-Synthesizer-4B", min_length=1, description="--served-model-name.")
    context_length: int = Field(
        default=81920,
        ge=1024,
        description="--context-length; at most ropeScaling.factor x originalMaxPositionEmbeddings.",
    )
    rope_scaling: RopeScaling | None = Field(
        default_factory=RopeScaling, description="YaRN override (--json-model-override-args); null disables it."
    )


class QueryLLMSpec(ModelServerSpec):
    """Optional LLM the tool server uses for goal-conditioned page extraction (query_url)."""

    enabled: bool = Field(default=False, description="Deploy (or use, with engine external) a query LLM.")
    model: str = Field(default="Qwen/Qwen3-32B", min_length=1, description="Model id or path.")
    served_name: str = Field(default="Query-LLM", min_length=1, description="--served-model-name.")
    context_length: int = Field(default=40960, ge=1024, description="--context-length.")


class ModelsSpec(SpecModel):
    """The model servers of the stack."""

    def enabled(self) -> dict[str, ModelServerSpec]:
        """The model roles this stack uses, by role name: search and synthesizer always, the query LLM if enabled."""
        roles: dict[str, ModelServerSpec] = {c.SEARCH: self.search, c.SYNTHESIZER: self.synthesizer}
        if self.query_llm.enabled:
            roles[c.QUERY_LLM] = self.query_llm
        return roles

    search: SearchModelSpec = Field(default_factory=SearchModelSpec, description="Search agent model server.")
    synthesizer: SynthesizerModelSpec = Field(
        default_factory=SynthesizerModelSpec, description="Report synthesizer model server."
    )
    query_llm: QueryLLMSpec = Field(
        default_factory=QueryLLMSpec, alias="queryLLM", description="Optional query LLM for page extraction."
    )


AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]


def _read_write_once() -> list[AccessMode]:
    return ["ReadWriteOnce"]


class PvcSpec(SpecModel):
    """A PersistentVolumeClaim the operator creates and owns."""

    size: Quantity = Field(default="100Gi", description="Requested storage size.")
    storage_class_name: str | None = Field(default=None, description="StorageClass; empty uses the cluster default.")
    access_modes: list[AccessMode] = Field(
        default_factory=_read_write_once, min_length=1, description="Access modes of the claim."
    )


class ModelCacheSpec(SpecModel):
    """Where model weights are cached (mounted as the Hugging Face cache)."""

    pvc: PvcSpec | None = Field(default=None, description="Cache on a PVC; without it each pod uses an emptyDir.")
    hf_token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a Hugging Face token, exported as HF_TOKEN."
    )


class AutoscalingSpec(SpecModel):
    """HorizontalPodAutoscaler for the tool server."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.minReplicas <= self.maxReplicas",
            message="minReplicas must not exceed maxReplicas",
            field_path=".minReplicas",
            check=lambda m: m.min_replicas <= m.max_replicas,
        ),
    )

    enabled: bool = Field(default=False, description="Create a HorizontalPodAutoscaler (it then owns replicas).")
    min_replicas: int = Field(default=2, ge=1, description="Lower bound of replicas.")
    max_replicas: int = Field(default=10, ge=1, description="Upper bound of replicas.")
    target_cpu_utilization_percentage: int = Field(
        default=70, ge=1, le=100, alias="targetCPUUtilizationPercentage", description="Average CPU target."
    )


class CorpusSpec(SpecModel):
    """The files the `local` search provider indexes: from exactly one of a ConfigMap, a PersistentVolumeClaim or an
    image, plus the URL where the same files are served (search hits point there, and the agent fetches them)."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="[has(self.configMap), has(self.pvc), has(self.image)].filter(x, x).size() == 1",
            message="exactly one of configMap, pvc and image must be set",
            check=lambda m: [m.config_map, m.pvc, m.image].count(None) == 2,
        ),
        Rule(
            cel="!self.serve || has(self.image)",
            message="serve needs image (an image that serves its files on port 8000)",
            field_path=".serve",
            check=lambda m: not m.serve or m.image is not None,
        ),
        Rule(
            cel="self.serve || has(self.baseUrl) || self.path.endsWith('.jsonl')",
            message="baseUrl is required unless serve is true or the corpus is a JSONL file with its own URLs",
            field_path=".baseUrl",
            check=lambda m: m.serve or m.base_url is not None or m.path.endswith(".jsonl"),
        ),
    )

    config_map: str | None = Field(default=None, min_length=1, description="ConfigMap whose keys are the files.")
    pvc: str | None = Field(default=None, min_length=1, description="PersistentVolumeClaim holding the files.")
    image: str | None = Field(
        default=None, min_length=1, description="Image holding the files at `path`; an init container copies them."
    )
    path: str = Field(
        default="/",
        pattern=r"^/",
        description="Directory (or JSONL file) of the corpus inside the image or the PVC; for a ConfigMap, one of its "
        "keys (a JSONL file), or / for all its keys as files of a directory.",
    )
    base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/.*)?$",
        description="Where the files are served, e.g. http://docs.research.svc:8000 (needed for a directory of "
        "pages; a JSONL corpus carries its own URLs). An in-cluster host here is also let through the egress guard "
        "and the NetworkPolicy. Defaults to the corpus Service with serve.",
    )
    serve: bool = Field(
        default=False,
        description="Also run the image as the site of the files (<stack>-corpus, port 8000; the image must serve "
        "them there), for air-gapped clusters.",
    )


class SearchSpec(SpecModel):
    """Web search backend of the tool server."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.provider != 'serper' || has(self.apiKeySecretRef)",
            message="apiKeySecretRef is required when provider is serper",
            field_path=".apiKeySecretRef",
            check=lambda m: m.provider != "serper" or m.api_key_secret_ref is not None,
        ),
        Rule(
            cel="self.provider != 'searxng' || has(self.url)",
            message="url is required when provider is searxng",
            field_path=".url",
            check=lambda m: m.provider != "searxng" or m.url is not None,
        ),
        Rule(
            cel="self.provider != 'local' || has(self.corpus)",
            message="corpus is required when provider is local",
            field_path=".corpus",
            check=lambda m: m.provider != "local" or m.corpus is not None,
        ),
    )

    provider: SearchProvider = Field(
        default="serper",
        description="serper (Google results, API key), searxng (self-hosted) or local (offline corpus).",
    )
    api_key_secret_ref: SecretKeyRef | None = Field(default=None, description="Secret key holding the Serper API key.")
    url: str | None = Field(default=None, pattern=r"^https?://", description="SearXNG base URL.")
    corpus: CorpusSpec | None = Field(default=None, description="The corpus of the local provider.")


class BrowserSpec(SpecModel):
    """Headless Chromium (Crawl4AI) in the fetch chain."""

    enabled: bool = Field(default=False, description="Render pages with headless Chromium when plain fetching fails.")


class FetchSpec(SpecModel):
    """Page fetching."""

    jina_api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a Jina reader API key (optional; raises rate limits)."
    )
    browser: BrowserSpec = Field(default_factory=BrowserSpec, description="Headless browser fetcher.")


class CacheSpec(SpecModel):
    """Cache of search results, pages and extractions."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.type != 'redis' || has(self.url)",
            message="url is required when type is redis",
            field_path=".url",
            check=lambda m: m.type != "redis" or m.url is not None,
        ),
    )

    type: CacheType = Field(default="memory", description="memory (per replica), disk, or redis (shared).")
    url: str | None = Field(default=None, min_length=1, description="Redis URL, or a directory for disk.")


def _valid_cidrs(entries: list[str]) -> bool:
    try:
        for entry in entries:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


class EgressSpec(SpecModel):
    """Which non-public addresses the tool server may fetch."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.allowHosts.all(h, !h.contains('/') || isCIDR(h))",
            message="allowHosts entries with a '/' must be CIDRs such as 10.20.0.0/16",
            field_path=".allowHosts",
            check=lambda m: _valid_cidrs(m.allow_hosts),
        ),
    )

    allow_private_networks: bool = Field(
        default=False,
        description="Allow fetching private networks (RFC 1918, CGNAT, unique-local IPv6); loopback, link-local and "
        "cloud metadata addresses stay refused.",
    )
    allow_hosts: list[Annotated[str, Field(max_length=253)]] = Field(
        default_factory=list,
        max_length=256,
        description="Hosts (exact, or .suffix for a domain) or CIDRs that may be fetched although not globally "
        "routable; metadata addresses stay refused.",
    )


class ExtractionSpec(SpecModel):
    """How query_url turns a page into the evidence the agent asked for."""

    model: ExtractionModel = Field(
        default="auto",
        description="auto: an LLM writes Rationale/Evidence/Summary, as Fathom-Search was trained on; the query LLM "
        "when it is enabled, otherwise the synthesizer's model server (no extra GPU, shared load). passages: no LLM, "
        "the page passages that best match the goal (cheapest, lower quality). The passages are also the fallback "
        "when the LLM fails.",
    )


class ToolServerSpec(PlacementSpec):
    """The web tool server (search, fetch, extraction)."""

    replicas: int = Field(default=2, ge=0, le=256, description="Replicas when autoscaling is disabled.")
    image: str | None = Field(default=None, description="Runtime image; empty means the operator's default.")
    autoscaling: AutoscalingSpec = Field(default_factory=AutoscalingSpec, description="HorizontalPodAutoscaler.")
    search: SearchSpec = Field(description="Search backend (required: how the agent searches the web).")
    fetch: FetchSpec = Field(default_factory=FetchSpec, description="Page fetching.")
    cache: CacheSpec = Field(default_factory=CacheSpec, description="Cache backend.")
    egress: EgressSpec = Field(default_factory=EgressSpec, description="Egress policy.")
    extraction: ExtractionSpec = Field(default_factory=ExtractionSpec, description="query_url extraction.")
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements, description="CPU and memory.")


class StorageSpec(SpecModel):
    """Where research records are stored."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.type != 'postgres' || has(self.dsnSecretRef)",
            message="dsnSecretRef is required when type is postgres",
            field_path=".dsnSecretRef",
            check=lambda m: m.type != "postgres" or m.dsn_secret_ref is not None,
        ),
    )

    type: StorageType = Field(default="sqlite", description="sqlite (a file on a PVC) or postgres (by DSN).")
    dsn_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding the SQLAlchemy URL of the PostgreSQL database."
    )
    pvc: PvcSpec = Field(
        default_factory=lambda: PvcSpec(size="1Gi"), description="Volume of the SQLite file (sqlite only)."
    )


class ClientPeer(SpecModel):
    """Pods allowed to call the research API: those matching podSelector in the namespaces namespaceSelector
    matches (a NetworkPolicy peer, by labels)."""

    namespace_selector: dict[str, str] | None = Field(
        default=None,
        description="Labels (matchLabels) of the namespaces; unset: the stack's namespace; {}: every namespace.",
    )
    pod_selector: dict[str, str] = Field(default_factory=dict, description="Labels (matchLabels) of the pods; {}: all.")


class PromptsSpec(SpecModel):
    """Prompt files replacing the built-in own-words prompts."""

    config_map_name: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        max_length=253,
        description="ConfigMap in the stack's namespace with keys search_system.md and synthesis_system.md (e.g. "
        "from `fathom prompts import-reference --configmap NAME`). The orchestrator reads them at start: restart it "
        "after changing the ConfigMap.",
    )


class OrchestratorSpec(PlacementSpec):
    """The research API and agent loop."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.storage.type != 'sqlite' || self.replicas <= 1",
            message="replicas must be at most 1 with sqlite storage; use storage.type postgres to scale out",
            field_path=".replicas",
            check=lambda m: m.storage.type != "sqlite" or m.replicas <= 1,
        ),
    )

    replicas: int = Field(default=1, ge=0, le=64, description="Replicas of the orchestrator.")
    image: str | None = Field(default=None, description="Runtime image; empty means the operator's default.")
    max_turns: int = Field(default=64, ge=1, le=1024, description="Maximum agent rounds per research run.")
    temperature: float = Field(default=0.6, ge=0.0, le=2.0, description="Sampling temperature of the search agent.")
    max_context_tokens: int = Field(default=40960, ge=1024, description="Context budget of the search agent.")
    model_api: ModelApi = Field(
        default="generate",
        description="generate (SGLang native) or completions (OpenAI-compatible); llamacpp roles always use "
        "completions.",
    )
    constrained_actions: bool = Field(
        default=False,
        description="Decode each search turn in two phases: free text until </think>, then only well-formed tool "
        "calls or a boxed answer, under a grammar (for small models; the prompt bytes stay the protocol's).",
    )
    max_turn_tokens: int | None = Field(
        default=None, ge=64, description="New tokens per search turn; empty: whatever the context has left."
    )
    report_max_tokens: int | None = Field(
        default=None,
        ge=256,
        description="New tokens for the report; empty: a quarter of the synthesizer's context, at most 10,000.",
    )
    constrained_citations: bool = Field(
        default=False,
        description="Write the report's plan freely, then the report under a grammar that lets it cite only URLs the "
        "agent saw (for small models that invent URLs).",
    )
    api_keys_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding the API key file (lines `<name> <user|admin> sha256:<hex>`, made by "
        "`fathom api-key`); every request then needs `Authorization: Bearer <key>`. Unset: the API is open to every "
        "pod allowFrom admits (the status says so).",
    )
    allow_from: list[ClientPeer] = Field(
        default_factory=list,
        max_length=32,
        description="Who may reach the research API (a NetworkPolicy); empty: the pods of the stack's namespace. "
        "Prometheus pods may always scrape /metrics.",
    )
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Research record storage.")
    prompts: PromptsSpec = Field(default_factory=PromptsSpec, description="Prompt overrides.")
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements, description="CPU and memory.")


class ScrapeSpec(SpecModel):
    """A Prometheus Operator scrape object."""

    enabled: bool = Field(default=True, description="Create the object when the monitoring.coreos.com API exists.")
    interval: str = Field(default="30s", pattern=r"^[0-9]+(ms|s|m|h)$", description="Scrape interval.")


class RuleSpec(SpecModel):
    """PrometheusRule with the stack's alerts."""

    enabled: bool = Field(default=False, description="Create a PrometheusRule when the API exists.")


class MonitoringSpec(SpecModel):
    """Prometheus Operator integration."""

    service_monitor: ScrapeSpec = Field(
        default_factory=ScrapeSpec, description="ServiceMonitor for the tool server and orchestrator."
    )
    pod_monitor: ScrapeSpec = Field(default_factory=ScrapeSpec, description="PodMonitor for SGLang /metrics.")
    prometheus_rule: RuleSpec = Field(default_factory=RuleSpec, description="PrometheusRule with alerts.")
    scrapers: list[ClientPeer] = Field(
        default_factory=lambda: [
            ClientPeer(namespace_selector={}, pod_selector={"app.kubernetes.io/name": "prometheus"})
        ],
        max_length=8,
        description="The pods that scrape /metrics (every NetworkPolicy of the stack admits them); default: pods "
        "labelled app.kubernetes.io/name=prometheus in any namespace, as the Prometheus Operator labels them.",
    )


_DEFAULT_SYNTHESIZER_CONTEXT = SynthesizerModelSpec.model_fields["context_length"].default
_SYNTHESIZER_CONTEXT = (
    "(has(self.models) && has(self.models.synthesizer) ? self.models.synthesizer.contextLength : "
    f"{_DEFAULT_SYNTHESIZER_CONTEXT})"
)
_REPORT_FITS_CONTEXT = Rule(
    cel="!has(self.orchestrator) || !has(self.orchestrator.reportMaxTokens) || "
    f"self.orchestrator.reportMaxTokens * 2 <= {_SYNTHESIZER_CONTEXT}",
    message="orchestrator.reportMaxTokens must be at most half of models.synthesizer.contextLength (the other half "
    "holds the question and the research trace)",
    field_path=".orchestrator.reportMaxTokens",
    check=lambda s: (s.orchestrator.report_max_tokens or 0) * 2 <= s.models.synthesizer.context_length,
)


class DeepResearchStackSpec(SpecModel):
    """Desired state of a Fathom DeepResearch stack."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (_REPORT_FITS_CONTEXT,)

    models: ModelsSpec = Field(default_factory=ModelsSpec, description="Model servers.")
    model_cache: ModelCacheSpec = Field(default_factory=ModelCacheSpec, description="Model weight cache.")
    tool_server: ToolServerSpec = Field(description="Web tool server (required: it names the search backend).")
    orchestrator: OrchestratorSpec = Field(default_factory=OrchestratorSpec, description="Research API.")
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description="Prometheus scraping.")

    def extraction_role(self) -> str | None:
        """The model role query_url extraction uses: the query LLM when enabled, else the synthesizer (already
        running, and Fathom-Search was trained on LLM-extracted evidence); None for passages only."""
        if self.tool_server.extraction.model == "passages":
            return None
        return c.QUERY_LLM if self.models.query_llm.enabled else c.SYNTHESIZER


# Child objects are named <stack>-<suffix>; the longest Service name, <stack>-orchestrator, must stay a DNS label.
MAX_STACK_NAME = 63 - len("-orchestrator")
NAME_RULE = Rule(
    cel=f"self.metadata.name.size() <= {MAX_STACK_NAME} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    message=f"metadata.name must be at most {MAX_STACK_NAME} characters of lower-case letters, digits and '-', "
    "starting with a letter (child objects are named <name>-orchestrator and so on, and Service names are DNS "
    "labels of at most 63 characters)",
    check=lambda name: len(name) <= MAX_STACK_NAME and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) is not None,
)
