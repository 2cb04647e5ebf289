"""What the operator observed of a stack's children, as plain values (filled in by k8s/observe.py). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkloadObservation:
    """A Deployment and its pods, reduced to what readiness and diagnosis need."""

    exists: bool = False
    desired: int = 0
    ready: int = 0
    up_to_date: bool = False  # status.observedGeneration caught up with metadata.generation
    unschedulable: str = ""  # the scheduler's message for a pod it cannot place
    waiting: str = ""  # a container waiting reason such as ImagePullBackOff or CrashLoopBackOff
    waiting_message: str = ""  # what the kubelet says about it (the image, the missing Secret)


@dataclass(frozen=True)
class EndpointObservation:
    """An external model server, probed over HTTP."""

    url: str
    reachable: bool
    message: str = ""


@dataclass(frozen=True)
class Observation:
    workloads: dict[str, WorkloadObservation] = field(default_factory=dict)
    endpoints: dict[str, EndpointObservation] = field(default_factory=dict)
    monitoring_available: bool = False
