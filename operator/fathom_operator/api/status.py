"""DeepResearchStack status models (written by the operator, read by people and `kubectl`). Pure."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Phase(StrEnum):
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    READY = "Ready"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class ConditionType(StrEnum):
    READY = "Ready"
    MODELS_READY = "ModelsReady"
    TOOL_SERVER_READY = "ToolServerReady"
    ORCHESTRATOR_READY = "OrchestratorReady"
    MONITORING_READY = "MonitoringReady"
    API_PROTECTED = "APIProtected"
    PROGRESSING = "Progressing"
    SPEC_VALID = "SpecValid"


class StatusModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Condition(StatusModel):
    """A Kubernetes-style condition."""

    type: str = Field(description="Condition type, e.g. Ready or ModelsReady.")
    status: str = Field(description="True, False or Unknown.")
    reason: str = Field(default="", description="CamelCase reason for the last transition.")
    message: str = Field(default="", description="What a person should know or do.")
    last_transition_time: str = Field(default="", description="When the status last changed (RFC 3339).")
    observed_generation: int = Field(default=0, description="Spec generation this condition describes.")


class ComponentStatus(StatusModel):
    """Readiness of one component."""

    ready: bool = Field(default=False, description="Whether the component serves.")
    replicas: int = Field(default=0, description="Desired replicas.")
    ready_replicas: int = Field(default=0, description="Replicas passing readiness.")
    endpoint: str = Field(default="", description="In-cluster base URL.")
    message: str = Field(default="", description="Why it is not ready, when it is not.")


class StackStatus(StatusModel):
    """Observed state of the stack."""

    observed_generation: int = Field(default=0, description="Spec generation last reconciled.")
    phase: Phase = Field(default=Phase.PENDING, description="Pending, Progressing, Ready, Degraded or Failed.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready, ModelsReady, ToolServerReady, ...")
    components: dict[str, ComponentStatus] = Field(default_factory=dict, description="Per-component readiness.")
    endpoint: str = Field(default="", description="Research API base URL inside the cluster.")
    gpus: int = Field(default=0, description="GPUs the stack's model servers request, all replicas together.")
