"""render_stack(): the single entry point of rendering; collects every component's objects in a stable order. Pure."""

from __future__ import annotations

from fathom_operator import constants as c
from fathom_operator.api.spec import DeepResearchStackSpec
from fathom_operator.config import RenderConfig
from fathom_operator.render import Manifest, meta, models, monitoring, network, orchestrator, toolserver
from fathom_operator.render.meta import StackRef


def _service_account(stack: StackRef) -> Manifest:
    # The runtime never calls the Kubernetes API: no token is mounted.
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta.metadata(stack, c.RUNTIME),
        "automountServiceAccountToken": False,
    }


def render_stack(
    stack: StackRef,
    spec: DeepResearchStackSpec,
    config: RenderConfig,
    *,
    monitoring_available: bool,
) -> list[Manifest]:
    """Every child object the stack should have. `monitoring_available` says whether the cluster serves
    monitoring.coreos.com (an observed fact the caller passes in)."""
    objects = [_service_account(stack), *models.render_model_cache(stack, spec.model_cache)]
    for role, model in spec.models.enabled().items():
        objects += models.render_model_server(stack, role, model, spec.model_cache, config)
    objects += toolserver.render_toolserver(stack, spec, config)
    objects += orchestrator.render_orchestrator(stack, spec, config)
    objects += network.render_network_policies(stack, spec)
    if monitoring_available:
        objects += monitoring.render_monitoring(stack, spec)
    return objects
