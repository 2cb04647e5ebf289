"""One reconcile path for create, update, resume and child events: parse → render → apply → prune → observe →
status. Pure parts are called here; I/O goes through k8s/. Kopf-free, so tests can drive it directly."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pydantic

from fathom_operator import constants as c
from fathom_operator import metrics
from fathom_operator.api.spec import NAME_RULE, DeepResearchStackSpec
from fathom_operator.api.status import ConditionType, StackStatus
from fathom_operator.config import OperatorConfig
from fathom_operator.errors import KubeError, SpecError
from fathom_operator.k8s import apply, observe, resources
from fathom_operator.k8s.client import JSON, Kube
from fathom_operator.render.meta import StackRef
from fathom_operator.render.stack import render_stack
from fathom_operator.status import aggregate, conditions
from fathom_operator.status.patch import merge_patch

logger = logging.getLogger(__name__)

STATUS_PATCH_TYPE = "application/merge-patch+json"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_spec(raw: dict[str, Any]) -> DeepResearchStackSpec:
    """The spec as models; a SpecError naming each offending field otherwise."""
    try:
        return DeepResearchStackSpec.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join(["spec", *(str(part) for part in error["loc"])])
            problems.append(f"{path}: {error['msg']}")
        raise SpecError("; ".join(problems)) from exc


def stack_ref(body: JSON) -> StackRef:
    md = body["metadata"]
    return StackRef(name=md["name"], namespace=md["namespace"], uid=md["uid"])


@dataclass(frozen=True)
class Transition:
    """What changed in the status that a person should hear about as an Event."""

    became_ready: bool = False
    lost_ready: str = ""  # the reason, when Ready went True -> False
    monitoring_skipped: str = ""  # the message, when monitoring objects were newly skipped


def transition(old: StackStatus, new: StackStatus) -> Transition:
    was = conditions.find(old.conditions, ConditionType.READY)
    now = conditions.find(new.conditions, ConditionType.READY)
    was_ready, is_ready = bool(was and was.status == "True"), bool(now and now.status == "True")
    mon_old = conditions.find(old.conditions, ConditionType.MONITORING_READY)
    mon_new = conditions.find(new.conditions, ConditionType.MONITORING_READY)
    skipped = (
        mon_new.message
        if mon_new
        and mon_new.reason == "PrometheusOperatorMissing"
        and (not mon_old or mon_old.reason != mon_new.reason)
        else ""
    )
    return Transition(
        became_ready=is_ready and not was_ready,
        lost_ready=(now.message or now.reason) if was_ready and not is_ready and now else "",
        monitoring_skipped=skipped,
    )


@dataclass
class Reconciler:
    """Everything a reconcile needs, passed in: API access, settings, caches and the clock."""

    kube: Kube
    config: OperatorConfig
    clock: Callable[[], str] = utc_now
    applied: apply.AppliedCache = field(default_factory=apply.AppliedCache)
    discovery: observe.MonitoringDiscovery = field(init=False)
    probes: observe.EndpointProbes = field(init=False)
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)
    _refreshing: set[tuple[str, str]] = field(default_factory=set)
    _dirty: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.discovery = observe.MonitoringDiscovery(self.config.monitoring_discovery_ttl_seconds)
        # Slightly under the resync period, so that each periodic pass probes afresh.
        self.probes = observe.EndpointProbes(self.config.status_resync_seconds * 0.9)
        self._apply_errors: dict[tuple[str, str], str] = {}  # the last failed apply per stack, until one succeeds

    def _lock(self, namespace: str, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((namespace, name), threading.Lock())

    def reconcile(self, namespace: str, name: str) -> Transition:
        """Apply the desired children, prune the rest, and write the status. Raises SpecError or KubeError.

        The stack is read afresh, so the status patch is computed against what the server holds now."""
        with metrics.RECONCILE_SECONDS.time():
            try:
                change = self._reconcile(namespace, name)
            except Exception:
                metrics.RECONCILES.labels("error").inc()
                raise
        metrics.RECONCILES.labels("ok").inc()
        return change

    def _reconcile(self, namespace: str, name: str) -> Transition:
        with self._lock(namespace, name):
            body = self.kube.get_or_none(resources.STACKS.item(namespace, name))
            if body is None or body["metadata"].get("deletionTimestamp"):
                metrics.forget_stack(namespace, name)
                return Transition()
            stack = stack_ref(body)
            try:
                if not NAME_RULE.check(stack.name):  # admission refuses these; a CRD from before did not
                    raise SpecError(f"metadata.name: {NAME_RULE.message}")
                spec = parse_spec(body.get("spec") or {})
            except SpecError as exc:
                self._write_failed(body, str(exc))
                raise
            monitoring = self.discovery.available(self.kube)
            desired = render_stack(stack, spec, self.config, monitoring_available=monitoring)
            try:
                result = apply.apply_stack(self.kube, stack, desired, resources.managed_kinds(monitoring), self.applied)
            except KubeError as exc:
                # Never Ready with a child the cluster refused (a NetworkPolicy that did not apply means no policy).
                self._apply_errors[(namespace, name)] = f"{exc.method} {exc.path}: {exc.status} {exc.api_message}"
                self._update_status(body, stack, spec, monitoring)
                raise
            self._apply_errors.pop((namespace, name), None)
            if result.applied or result.pruned:
                logger.info(
                    "stack %s/%s: applied %d, pruned %d, unchanged %d",
                    stack.namespace, stack.name, len(result.applied), len(result.pruned), len(result.skipped),
                )  # fmt: skip
            return self._update_status(body, stack, spec, monitoring)

    def refresh_status(self, namespace: str, name: str) -> Transition:
        """Re-observe the children of a stack and write its status if it changed (no applies).

        Bursts collapse: while one refresh of a stack runs, further calls only mark it dirty, and the running
        one repeats once more at the end, so a rollout's many pod events cost a few refreshes, not one each."""
        key = (namespace, name)
        with self._locks_guard:
            if key in self._refreshing:
                self._dirty.add(key)
                return Transition()
            self._refreshing.add(key)
        try:
            while True:
                change = self._refresh_once(namespace, name)
                with self._locks_guard:
                    if key not in self._dirty:
                        return change
                    self._dirty.discard(key)
        finally:
            with self._locks_guard:
                self._refreshing.discard(key)
                self._dirty.discard(key)

    def _refresh_once(self, namespace: str, name: str) -> Transition:
        body = self.kube.get_or_none(resources.STACKS.item(namespace, name))
        if body is None or body["metadata"].get("deletionTimestamp"):
            return Transition()
        with self._lock(namespace, name):
            try:
                spec = parse_spec(body.get("spec") or {})
            except SpecError:
                return Transition()  # the stack handler reports it
            return self._update_status(body, stack_ref(body), spec, self.discovery.available(self.kube))

    def stacks_with_external_models(self, namespaces: list[str]) -> list[tuple[str, str]]:
        """(namespace, name) of every stack in `namespaces` (all when empty) with an external model endpoint."""
        paths = [resources.STACKS.collection(ns) for ns in namespaces] or [
            f"{resources.STACKS.prefix}/{resources.STACKS.plural}"
        ]
        found = []
        for path in paths:
            for item in self.kube.get(path).get("items", []):
                models = (item.get("spec") or {}).get("models") or {}
                if any((m or {}).get("engine") == "external" for m in models.values()):
                    found.append((item["metadata"]["namespace"], item["metadata"]["name"]))
        return found

    def _update_status(self, body: JSON, stack: StackRef, spec: DeepResearchStackSpec, monitoring: bool) -> Transition:
        previous = StackStatus.model_validate(body.get("status") or {})
        observation = observe.observe(self.kube, stack, spec, monitoring, self.probes)
        new = aggregate.aggregate(
            stack,
            spec,
            observation,
            generation=body["metadata"].get("generation", 0),
            previous=previous,
            now=self.clock(),
            apply_error=self._apply_errors.get((stack.namespace, stack.name)),
        )
        self._write_status(body, new)
        return transition(previous, new)

    def _write_failed(self, body: JSON, message: str) -> None:
        previous = StackStatus.model_validate(body.get("status") or {})
        status = aggregate.failed_status(
            message, generation=body["metadata"].get("generation", 0), previous=previous, now=self.clock()
        )
        self._write_status(body, status)

    def _write_status(self, body: JSON, status: StackStatus) -> None:
        md = body["metadata"]
        metrics.record_conditions(md["namespace"], md["name"], {x.type: x.status == "True" for x in status.conditions})
        old = body.get("status") or {}
        new = status.model_dump(by_alias=True, mode="json")
        patch = merge_patch(old, new)
        if not patch:
            return
        metrics.WRITES.labels("patch-status", c.KIND).inc()
        self.kube.request(
            "PATCH",
            resources.STACKS.item(md["namespace"], md["name"]) + "/status",
            body={"status": patch},
            content_type=STATUS_PATCH_TYPE,
        )
