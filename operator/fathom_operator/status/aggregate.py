"""Derive the stack status from observations: per-component readiness, conditions with reasons a person can act
on, the phase, and the endpoint. Pure: the clock comes in as `now`."""

from __future__ import annotations

from dataclasses import dataclass

from fathom_operator import constants as c
from fathom_operator.api.spec import DeepResearchStackSpec
from fathom_operator.api.status import ComponentStatus, Condition, ConditionType, Phase, StackStatus
from fathom_operator.render import meta, models
from fathom_operator.render.meta import StackRef
from fathom_operator.status import conditions
from fathom_operator.status.observed import EndpointObservation, Observation, WorkloadObservation


@dataclass(frozen=True)
class Verdict:
    """A component's status plus why it is not ready, as a condition reason."""

    status: ComponentStatus
    reason: str = ""


def judge_workload(
    name: str, obs: WorkloadObservation | None, endpoint: str, gpu_resource: str = "", gpus_per_replica: int = 0
) -> Verdict:
    obs = obs or WorkloadObservation()

    def status(message: str = "", ready: bool = False) -> ComponentStatus:
        return ComponentStatus(
            ready=ready, replicas=obs.desired, ready_replicas=obs.ready, endpoint=endpoint, message=message
        )

    if not obs.exists:
        return Verdict(status(f"{name}: not created yet"), "Creating")
    if obs.desired == 0:
        return Verdict(status(f"{name}: scaled to 0 replicas"), "ScaledToZero")
    if obs.ready >= obs.desired and obs.up_to_date:
        return Verdict(status(ready=True))
    # At most one replica short, the component still serves (a rollout, a scale-up): it counts as ready, and the
    # stack's Progressing condition says what is still under way.
    serving = obs.ready >= max(1, obs.desired - 1)
    summary = f"{name}: {obs.ready}/{obs.desired} replicas ready"
    if obs.unschedulable:
        if gpu_resource and f"Insufficient {gpu_resource}" in obs.unschedulable:
            need = (
                f"each replica needs {gpus_per_replica} {gpu_resource} on one node, "
                f"{gpus_per_replica * obs.desired} for all {obs.desired}; "
            )
            message = f"{summary}; cannot be scheduled: {need}{obs.unschedulable}"
            return Verdict(status(message, ready=serving), "InsufficientGPU")
        return Verdict(status(f"{summary}; cannot be scheduled: {obs.unschedulable}", ready=serving), "Unschedulable")
    if obs.waiting:
        detail = f": {obs.waiting_message}" if obs.waiting_message else ""
        message = f"{summary}; container waiting: {obs.waiting}{detail}"
        return Verdict(status(message, ready=serving), obs.waiting)
    return Verdict(status(summary, ready=serving), "Progressing")


def judge_endpoint(name: str, obs: EndpointObservation | None, url: str) -> Verdict:
    if obs is None:
        return Verdict(ComponentStatus(endpoint=url, message=f"{name}: endpoint not probed yet"), "Probing")
    if obs.reachable:
        return Verdict(ComponentStatus(ready=True, endpoint=url))
    return Verdict(
        ComponentStatus(endpoint=url, message=f"{name}: external endpoint {url} unreachable: {obs.message}"),
        "EndpointUnreachable",
    )


def judge_components(stack: StackRef, spec: DeepResearchStackSpec, observation: Observation) -> dict[str, Verdict]:
    verdicts: dict[str, Verdict] = {}
    for role, model in spec.models.enabled().items():
        url = models.model_url(stack, role, model)
        if model.engine == "external":
            verdicts[role] = judge_endpoint(role, observation.endpoints.get(role), url)
        else:
            verdicts[role] = judge_workload(
                role, observation.workloads.get(role), url, model.gpu.resource_name, model.gpu.count
            )
    for component, port in ((c.TOOL_SERVER, c.TOOLSERVER_PORT), (c.ORCHESTRATOR, c.ORCHESTRATOR_PORT)):
        url = meta.service_url(stack, component, port)
        verdicts[component] = judge_workload(component, observation.workloads.get(component), url)
    return verdicts


def _group_condition(type_: ConditionType, verdicts: list[Verdict], ready_reason: str, generation: int) -> Condition:
    blocked = [v for v in verdicts if not v.status.ready]
    if not blocked:
        return Condition(type=type_, status="True", reason=ready_reason, observed_generation=generation)
    return Condition(
        type=type_,
        status="False",
        reason=blocked[0].reason,
        message="; ".join(v.status.message for v in blocked),
        observed_generation=generation,
    )


def _monitoring_condition(spec: DeepResearchStackSpec, available: bool, generation: int) -> Condition:
    mon = spec.monitoring
    wanted = mon.service_monitor.enabled or mon.pod_monitor.enabled or mon.prometheus_rule.enabled
    if not wanted:
        return Condition(
            type=ConditionType.MONITORING_READY,
            status="True",
            reason="Disabled",
            message="monitoring objects are disabled in the spec",
            observed_generation=generation,
        )
    if available:
        return Condition(
            type=ConditionType.MONITORING_READY, status="True", reason="Created", observed_generation=generation
        )
    return Condition(
        type=ConditionType.MONITORING_READY,
        status="False",
        reason="PrometheusOperatorMissing",
        message="monitoring.coreos.com/v1 is not served by this cluster; ServiceMonitor and PodMonitor were skipped",
        observed_generation=generation,
    )


def _api_condition(spec: DeepResearchStackSpec, generation: int) -> Condition:
    """Informational (never blocks Ready): whether the research API asks for keys."""
    if spec.orchestrator.api_keys_secret_ref is not None:
        return Condition(
            type=ConditionType.API_PROTECTED, status="True", reason="APIKeys", observed_generation=generation
        )
    return Condition(
        type=ConditionType.API_PROTECTED,
        status="False",
        reason="NoAPIKeys",
        message="the research API answers every request from the pods orchestrator.allowFrom admits; set "
        "orchestrator.apiKeysSecretRef to require keys",
        observed_generation=generation,
    )


def _phase(verdicts: dict[str, Verdict], ready: bool, previous: StackStatus) -> Phase:
    """Degraded only for a stack that has been Ready: one that never was is Pending (nothing runs yet, or it cannot
    be scheduled) or Progressing."""
    if ready:
        return Phase.READY
    if previous.phase in (Phase.READY, Phase.DEGRADED):
        return Phase.DEGRADED
    if any(v.status.ready_replicas or v.status.ready for v in verdicts.values()):
        return Phase.PROGRESSING
    waiting = {"Creating", "InsufficientGPU", "Unschedulable", "Probing"}
    return Phase.PENDING if all(v.reason in waiting for v in verdicts.values() if v.reason) else Phase.PROGRESSING


def _progress_condition(verdicts: dict[str, Verdict], generation: int) -> Condition:
    """Whether a rollout or a scale-up is under way among components that otherwise serve."""
    moving = [v for v in verdicts.values() if v.status.ready and v.reason]
    if not moving:
        return Condition(
            type=ConditionType.PROGRESSING, status="False", reason="Stable", observed_generation=generation
        )
    return Condition(
        type=ConditionType.PROGRESSING,
        status="True",
        reason=moving[0].reason,
        message="; ".join(v.status.message for v in moving),
        observed_generation=generation,
    )


def aggregate(
    stack: StackRef,
    spec: DeepResearchStackSpec,
    observation: Observation,
    *,
    generation: int,
    previous: StackStatus,
    now: str,
    apply_error: str | None = None,
) -> StackStatus:
    """The status to write for `generation`, given what was observed and what was written before (and the error
    of the last apply, when the cluster refused a child)."""
    verdicts = judge_components(stack, spec, observation)
    model_verdicts = [verdicts[role] for role in spec.models.enabled()]
    groups = [
        _group_condition(ConditionType.MODELS_READY, model_verdicts, "AllModelsReady", generation),
        _group_condition(ConditionType.TOOL_SERVER_READY, [verdicts[c.TOOL_SERVER]], "Available", generation),
        _group_condition(ConditionType.ORCHESTRATOR_READY, [verdicts[c.ORCHESTRATOR]], "Available", generation),
    ]
    ready = all(g.status == "True" for g in groups) and apply_error is None
    not_ready = [g for g in groups if g.status != "True"]
    overall = Condition(
        type=ConditionType.READY,
        status="True" if ready else "False",
        reason="AllComponentsReady" if ready else "ApplyFailed" if apply_error else not_ready[0].reason,
        message=""
        if ready
        else f"a child could not be applied: {apply_error}"
        if apply_error
        else "; ".join(g.message for g in not_ready),
        observed_generation=generation,
    )
    fresh = [
        overall,
        *groups,
        _progress_condition(verdicts, generation),
        _monitoring_condition(spec, observation.monitoring_available, generation),
        _api_condition(spec, generation),
    ]
    return StackStatus(
        observed_generation=generation,
        phase=Phase.DEGRADED if apply_error else _phase(verdicts, ready, previous),
        conditions=[conditions.set_condition(previous.conditions, cond, now=now) for cond in fresh],
        components={name: v.status for name, v in verdicts.items()},
        endpoint=meta.service_url(stack, c.ORCHESTRATOR, c.ORCHESTRATOR_PORT),
        gpus=gpus_requested(spec),
    )


def gpus_requested(spec: DeepResearchStackSpec) -> int:
    """GPUs the stack's model servers ask for, every replica counted (what `kubectl get drs -o wide` shows)."""
    return sum(m.gpu.count * m.replicas for m in spec.models.enabled().values() if m.deployed)


def failed_status(message: str, *, generation: int, previous: StackStatus, now: str) -> StackStatus:
    """Status for a spec the operator cannot act on (it passed admission but not the operator's own checks)."""
    cond = Condition(
        type=ConditionType.READY, status="False", reason="InvalidSpec", message=message, observed_generation=generation
    )
    return previous.model_copy(
        update={
            "observed_generation": generation,
            "phase": Phase.FAILED,
            "conditions": [conditions.set_condition(previous.conditions, cond, now=now)],
        }
    )
