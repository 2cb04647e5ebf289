"""Status from observations: readiness, reasons a person can act on, phase, and stable transition times."""

from __future__ import annotations

from fathom_operator import constants as c
from fathom_operator.api.status import Phase, StackStatus
from fathom_operator.k8s.observe import build_workload
from fathom_operator.reconcile import parse_spec, transition
from fathom_operator.render.meta import StackRef
from fathom_operator.status.aggregate import aggregate
from fathom_operator.status.observed import EndpointObservation, Observation, WorkloadObservation
from fathom_operator.status.patch import merge_patch

from tests.unit.operator.render.factories import MINIMAL_SPEC, deep_merge

STACK = StackRef("demo", "ns", "uid")
READY = WorkloadObservation(exists=True, desired=1, ready=1, up_to_date=True)
ALL_READY = {name: READY for name in (c.SEARCH, c.SYNTHESIZER, c.TOOL_SERVER, c.ORCHESTRATOR)}


def _status(
    workloads: dict[str, WorkloadObservation], previous: StackStatus | None = None, **spec: object
) -> StackStatus:
    return aggregate(
        STACK,
        parse_spec(deep_merge(MINIMAL_SPEC, spec)),
        Observation(workloads=workloads),
        generation=3,
        previous=previous or StackStatus(),
        now="2026-01-01T00:00:00Z",
    )


def _condition(status: StackStatus, type_: str) -> tuple[str, str, str]:
    cond = next(x for x in status.conditions if x.type == type_)
    return cond.status, cond.reason, cond.message


def test_all_components_ready_makes_the_stack_ready() -> None:
    status = _status(ALL_READY)
    assert status.phase == Phase.READY
    assert _condition(status, "Ready")[:2] == ("True", "AllComponentsReady")
    assert status.observed_generation == 3
    assert status.endpoint == "http://demo-orchestrator.ns.svc:8900"
    assert status.components[c.SEARCH].endpoint == "http://demo-search.ns.svc:30000"
    assert status.gpus == 2  # one per model role (kubectl get drs -o wide)
    assert _status(ALL_READY, models={"search": {"replicas": 3, "gpu": {"count": 2}}}).gpus == 7


def test_gpu_shortage_is_explained() -> None:
    message = "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."
    workloads = ALL_READY | {c.SEARCH: WorkloadObservation(exists=True, desired=1, unschedulable=message)}
    status = _status(workloads)
    ready, reason, text = _condition(status, "ModelsReady")
    assert (ready, reason) == ("False", "InsufficientGPU")
    assert "search: 0/1 replicas ready" in text and "Insufficient nvidia.com/gpu" in text
    assert "each replica needs 1 nvidia.com/gpu on one node, 1 for all 1" in text
    assert _condition(status, "Ready")[1] == "InsufficientGPU"
    assert status.phase == Phase.PROGRESSING  # never Ready yet: not Degraded
    assert _status(workloads, previous=StackStatus(phase=Phase.READY)).phase == Phase.DEGRADED


def test_a_scale_up_or_a_rollout_keeps_the_stack_ready_and_says_it_is_progressing() -> None:
    scaling = WorkloadObservation(exists=True, desired=2, ready=1, up_to_date=True)
    rolling = WorkloadObservation(exists=True, desired=2, ready=2, up_to_date=False)
    for search in (scaling, rolling):
        status = _status(ALL_READY | {c.SEARCH: search}, previous=StackStatus(phase=Phase.READY))
        assert _condition(status, "Ready")[:2] == ("True", "AllComponentsReady")
        state, reason, message = _condition(status, "Progressing")
        assert (state, reason) == ("True", "Progressing") and "search: " in message
        assert status.phase == Phase.READY
    assert _condition(_status(ALL_READY), "Progressing")[:2] == ("False", "Stable")
    outage = WorkloadObservation(exists=True, desired=1, ready=0, up_to_date=False)  # Recreate: a real gap
    assert _condition(_status(ALL_READY | {c.SEARCH: outage}), "Ready")[0] == "False"


def test_fresh_stack_is_pending_then_progressing() -> None:
    assert _status({}).phase == Phase.PENDING
    partly = {c.SEARCH: READY, c.TOOL_SERVER: WorkloadObservation(exists=True, desired=2, ready=1, up_to_date=True)}
    assert _status(partly).phase == Phase.PROGRESSING


def test_unreachable_external_model_blocks_readiness() -> None:
    spec = {"models": {"search": {"engine": "external", "endpoint": "http://x.example:1"}}}
    observation = Observation(
        workloads={k: v for k, v in ALL_READY.items() if k != c.SEARCH},
        endpoints={c.SEARCH: EndpointObservation("http://x.example:1", False, "ConnectError")},
    )
    status = aggregate(STACK, parse_spec(deep_merge(MINIMAL_SPEC, spec)), observation, generation=1,
                       previous=StackStatus(), now="t")  # fmt: skip
    assert _condition(status, "ModelsReady")[1] == "EndpointUnreachable"
    assert status.components[c.SEARCH].endpoint == "http://x.example:1"


def test_transition_time_changes_only_when_status_flips() -> None:
    first = _status(ALL_READY)
    second = aggregate(STACK, parse_spec(MINIMAL_SPEC), Observation(workloads=ALL_READY), generation=3,
                       previous=first, now="2026-02-02T00:00:00Z")  # fmt: skip
    assert second == first
    degraded = _status(ALL_READY | {c.ORCHESTRATOR: WorkloadObservation(exists=True, desired=1)}, previous=first)
    ready = next(x for x in degraded.conditions if x.type == "Ready")
    models = next(x for x in degraded.conditions if x.type == "ModelsReady")
    assert ready.status == "False" and ready.last_transition_time == "2026-01-01T00:00:00Z"
    assert models.last_transition_time == "2026-01-01T00:00:00Z"


def test_transitions_drive_events() -> None:
    ready = _status(ALL_READY)
    lost = _status(ALL_READY | {c.ORCHESTRATOR: WorkloadObservation(exists=True, desired=1)}, previous=ready)
    assert transition(StackStatus(), ready).became_ready
    assert "orchestrator: 0/1 replicas ready" in transition(ready, lost).lost_ready
    assert transition(ready, ready) == transition(lost, lost)


def test_monitoring_skipped_is_a_condition_not_a_failure() -> None:
    status = _status(ALL_READY)
    assert _condition(status, "MonitoringReady")[:2] == ("False", "PrometheusOperatorMissing")
    assert status.phase == Phase.READY


def test_an_open_research_api_is_reported_without_blocking_readiness() -> None:
    status = _status(ALL_READY)
    state, reason, message = _condition(status, "APIProtected")
    assert (state, reason) == ("False", "NoAPIKeys") and "orchestrator.apiKeysSecretRef" in message
    assert status.phase == Phase.READY
    keyed = _status(ALL_READY, orchestrator={"apiKeysSecretRef": {"name": "keys", "key": "keys"}})
    assert _condition(keyed, "APIProtected")[:2] == ("True", "APIKeys")


def test_a_refused_child_keeps_the_stack_from_being_ready() -> None:
    status = aggregate(
        STACK,
        parse_spec(MINIMAL_SPEC),
        Observation(workloads=ALL_READY),
        generation=3,
        previous=StackStatus(),
        now="2026-01-01T00:00:00Z",
        apply_error="PATCH /apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/demo-tools: 422 invalid cidr",
    )
    state, reason, message = _condition(status, "Ready")
    assert (state, reason, status.phase) == ("False", "ApplyFailed", Phase.DEGRADED)
    assert "networkpolicies/demo-tools" in message and "invalid cidr" in message


def test_a_waiting_container_keeps_the_kubelets_message() -> None:
    deployment = {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": 1}}
    waiting = {"reason": "CreateContainerConfigError", "message": 'secret "missing-db" not found'}
    pod = {"status": {"containerStatuses": [{"state": {"waiting": waiting}}]}}
    status = _status(ALL_READY | {c.ORCHESTRATOR: build_workload(deployment, [pod])})
    state, reason, message = _condition(status, "Ready")
    assert (state, reason) == ("False", "CreateContainerConfigError")
    assert 'container waiting: CreateContainerConfigError: secret "missing-db" not found' in message


def test_merge_patch_nulls_removed_components_and_skips_equal_values() -> None:
    old = {"phase": "Ready", "components": {"search": {"ready": True}, "queryLLM": {"ready": True}}}
    new = {"phase": "Ready", "components": {"search": {"ready": False}}}
    assert merge_patch(old, new) == {"components": {"queryLLM": None, "search": {"ready": False}}}
    assert merge_patch(new, new) == {}
