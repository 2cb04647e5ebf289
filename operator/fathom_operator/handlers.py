"""Kopf wiring: which events call which reconcile entry point, Kopf settings, and Events on transitions.

Handlers return nothing (our status is a contract, not Kopf's result store) and translate errors into Kopf's retry
decisions: SpecError -> PermanentError, KubeError -> TemporaryError with a bounded, growing delay."""

from __future__ import annotations

import logging
import random
from typing import Any

import kopf

from fathom_operator import constants as c
from fathom_operator.errors import KubeError, SpecError
from fathom_operator.k8s import resources
from fathom_operator.reconcile import Reconciler, Transition

PREFIX = c.GROUP
MAX_RETRY_DELAY_SECONDS = 60
MANAGED = {c.LABEL_MANAGED_BY: c.FIELD_MANAGER}


def build_settings(*, peering_name: str | None) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # Our own prefix for everything Kopf stores on the stacks.
    settings.persistence.finalizer = f"{PREFIX}/operator"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    # Routine logs stay logs; Events are posted explicitly, on transitions only.
    settings.posting.loggers = False
    # The API server ends watches first (a clean reconnect), before any proxy idles the connection out.
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.networking.request_timeout = 30
    settings.execution.max_workers = 8
    if peering_name:
        # Leader election: every replica gets a distinct random priority; only the highest one acts.
        settings.peering.name = peering_name
        settings.peering.priority = random.randint(1, 1_000_000)
        settings.peering.mandatory = True
        settings.peering.standalone = False
    else:
        settings.peering.standalone = True
    return settings


def _retry_delay(retry: int, error: KubeError) -> float:
    return min(MAX_RETRY_DELAY_SECONDS, 2 ** min(retry, 6)) if error.retryable else MAX_RETRY_DELAY_SECONDS


def _announce(body: Any, change: Transition) -> None:
    if change.became_ready:
        kopf.info(body, reason="Ready", message="All components are ready")
    if change.lost_ready:
        kopf.warn(body, reason="NotReady", message=change.lost_ready[:1000])
    if change.monitoring_skipped:
        kopf.warn(body, reason="MonitoringSkipped", message=change.monitoring_skipped)


def on_stack(*, name: str, namespace: str | None, body: kopf.Body, memo: Any, retry: int, **_: Any) -> None:
    reconciler: Reconciler = memo.reconciler
    try:
        change = reconciler.reconcile(namespace or "", name)
    except SpecError as exc:
        kopf.warn(body, reason="InvalidSpec", message=str(exc)[:1000])
        raise kopf.PermanentError(str(exc)) from exc
    except KubeError as exc:
        if exc.status != 409:  # a write conflict is routine; anything else is worth a Warning where users look
            kopf.warn(body, reason="ApplyFailed", message=str(exc)[:1000])
        raise kopf.TemporaryError(str(exc), delay=_retry_delay(retry, exc)) from exc
    _announce(body, change)


def _owner(meta: kopf.Meta) -> str | None:
    return meta.labels.get(c.LABEL_INSTANCE)


Logger = logging.Logger | logging.LoggerAdapter[Any]


def on_child(
    *, event: kopf.RawEvent, meta: kopf.Meta, namespace: str | None, memo: Any, logger: Logger, **_: Any
) -> None:
    """A child changed or vanished: converge its stack (recreating what was deleted) and refresh the status."""
    owner = _owner(meta)
    if not owner or not namespace or event.get("type") is None:  # type None: the initial listing (resume covers it)
        return
    reconciler: Reconciler = memo.reconciler
    try:
        change = reconciler.reconcile(namespace, owner)
    except (SpecError, KubeError) as exc:
        logger.warning("reconciling stack %s after a child event failed: %s", owner, exc)
        return
    _announce_change(reconciler, namespace, owner, change)


def _announce_change(reconciler: Reconciler, namespace: str, owner: str, change: Transition) -> None:
    """Ready and NotReady events, whichever handler saw the transition."""
    if change.became_ready or change.lost_ready:
        stack = reconciler.kube.get_or_none(resources.STACKS.item(namespace, owner))
        if stack is not None:
            _announce(stack, change)


def on_pod(
    *, event: kopf.RawEvent, meta: kopf.Meta, namespace: str | None, memo: Any, logger: Logger, **_: Any
) -> None:
    """Pods only change readiness and scheduling diagnostics: refresh the status, no applies."""
    owner = _owner(meta)
    if not owner or not namespace or event.get("type") is None:
        return
    reconciler: Reconciler = memo.reconciler
    try:
        change = reconciler.refresh_status(namespace, owner)
    except KubeError as exc:
        logger.warning("refreshing the status of stack %s failed: %s", owner, exc)
        return
    _announce_change(reconciler, namespace, owner, change)


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account first, then the kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


def register(registry: kopf.OperatorRegistry) -> None:
    """Attach every handler to `registry` (a fresh one per operator, so tests never share state)."""
    kopf.on.login(registry=registry)(login)
    for on in (kopf.on.create, kopf.on.update, kopf.on.resume):
        on(c.GROUP, c.VERSION, c.PLURAL, registry=registry, backoff=5)(on_stack)
    for kind in resources.CORE_KINDS:
        group, _, version = kind.api_version.rpartition("/")
        kopf.on.event(group, version, kind.plural, labels=MANAGED, registry=registry)(on_child)
    kopf.on.event("", "v1", "pods", labels=MANAGED, registry=registry)(on_pod)
