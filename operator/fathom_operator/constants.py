"""Contract strings of the operator: API identity, label keys, field manager, ports, name suffixes.

Every literal that another module or the runtime must agree on is defined here once (DESIGN.md).
"""

from __future__ import annotations

GROUP = "fathom.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "DeepResearchStack"
PLURAL = "deepresearchstacks"
SINGULAR = "deepresearchstack"
SHORT_NAMES = ["drs"]
CATEGORIES = ["fathom", "ai"]
CRD_NAME = f"{PLURAL}.{GROUP}"

FIELD_MANAGER = "fathom-operator"
PART_OF = "fathom-stack"
APP_NAME = "fathom"

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
# Hash of the pod-template inputs that a person would care about; shown, never used for selection.
ANNOTATION_CONFIG_HASH = f"{GROUP}/config-hash"

SGLANG_PORT = 30000
TOOLSERVER_PORT = 8904
ORCHESTRATOR_PORT = 8900
OPERATOR_PORT = 8080
CORPUS_PORT = 8000

# Component keys (used in status.components) and the suffix of their child objects.
SEARCH = "search"
SYNTHESIZER = "synthesizer"
QUERY_LLM = "queryLLM"
TOOL_SERVER = "toolServer"
ORCHESTRATOR = "orchestrator"
MODEL_ROLES = (SEARCH, SYNTHESIZER, QUERY_LLM)
COMPONENTS = (*MODEL_ROLES, TOOL_SERVER, ORCHESTRATOR)
# Shared objects that belong to no single component.
MODEL_CACHE = "modelCache"
RUNTIME = "runtime"
MONITORING = "monitoring"
CORPUS = "corpus"
SUFFIXES = {
    SEARCH: "search",
    SYNTHESIZER: "synthesizer",
    QUERY_LLM: "query-llm",
    TOOL_SERVER: "tools",
    ORCHESTRATOR: "orchestrator",
    MODEL_CACHE: "model-cache",
    RUNTIME: "runtime",
    MONITORING: "monitoring",
    CORPUS: "corpus",
}

# Environment variables the operator injects into runtime pods (DESIGN.md "Runtime configuration").
ENV_SEARCH_MODEL_URL = "FATHOM_SEARCH_MODEL_URL"
ENV_SYNTHESIZER_MODEL_URL = "FATHOM_SYNTHESIZER_MODEL_URL"
ENV_MODEL_API = "FATHOM_MODEL_API"
ENV_TOOLSERVER_URLS = "FATHOM_TOOLSERVER_URLS"
ENV_DATABASE_URL = "FATHOM_DATABASE_URL"
ENV_MAX_TURNS = "FATHOM_MAX_TURNS"
ENV_MAX_CONTEXT_TOKENS = "FATHOM_MAX_CONTEXT_TOKENS"
ENV_TEMPERATURE = "FATHOM_TEMPERATURE"
ENV_SEARCH_MODEL_NAME = "FATHOM_SEARCH_MODEL_NAME"
ENV_SYNTHESIZER_MODEL_NAME = "FATHOM_SYNTHESIZER_MODEL_NAME"
ENV_SEARCH_MODEL_API = "FATHOM_SEARCH_MODEL_API"
ENV_SYNTHESIZER_MODEL_API = "FATHOM_SYNTHESIZER_MODEL_API"
ENV_SYNTHESIS_CONTEXT_TOKENS = "FATHOM_SYNTHESIS_CONTEXT_TOKENS"
ENV_SYNTHESIS_MAX_NEW_TOKENS = "FATHOM_SYNTHESIS_MAX_NEW_TOKENS"
ENV_CONSTRAINED_ACTIONS = "FATHOM_CONSTRAINED_ACTIONS"
ENV_CONSTRAINED_CITATIONS = "FATHOM_CONSTRAINED_CITATIONS"
ENV_MAX_TURN_TOKENS = "FATHOM_MAX_TURN_TOKENS"
ENV_API_KEYS_FILE = "FATHOM_API_KEYS_FILE"
ENV_SEARCH_PROMPT_FILE = "FATHOM_SEARCH_PROMPT_FILE"
ENV_SYNTHESIS_PROMPT_FILE = "FATHOM_SYNTHESIS_PROMPT_FILE"
# Keys of a prompts ConfigMap (the names `fathom prompts import-reference` writes).
PROMPT_KEY_SEARCH = "search_system.md"
PROMPT_KEY_SYNTHESIS = "synthesis_system.md"
ENV_SEARCH_PROVIDER = "FATHOM_SEARCH_PROVIDER"
ENV_SERPER_API_KEY = "FATHOM_SERPER_API_KEY"
ENV_JINA_API_KEY = "FATHOM_JINA_API_KEY"
ENV_SEARXNG_URL = "FATHOM_SEARXNG_URL"
ENV_LOCAL_CORPUS = "FATHOM_LOCAL_CORPUS"
ENV_LOCAL_CORPUS_BASE_URL = "FATHOM_LOCAL_CORPUS_BASE_URL"
ENV_QUERY_LLM_URL = "FATHOM_QUERY_LLM_URL"
ENV_QUERY_LLM_MODEL = "FATHOM_QUERY_LLM_MODEL"
ENV_CACHE = "FATHOM_CACHE"
ENV_CACHE_URL = "FATHOM_CACHE_URL"
ENV_EGRESS_ALLOW = "FATHOM_EGRESS_ALLOW"
