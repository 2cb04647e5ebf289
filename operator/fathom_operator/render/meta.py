"""Names, labels, selectors and owner references of child objects. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fathom_operator import constants as c
from fathom_operator.render import Manifest


@dataclass(frozen=True)
class StackRef:
    """Identity of the DeepResearchStack being rendered."""

    name: str
    namespace: str
    uid: str


def child_name(stack: StackRef, component: str) -> str:
    return f"{stack.name}-{c.SUFFIXES[component]}"


def selector(stack: StackRef, component: str) -> dict[str, str]:
    """Pod selector of a component: fixed keys only, never user-controlled labels."""
    return {
        c.LABEL_NAME: c.APP_NAME,
        c.LABEL_INSTANCE: stack.name,
        c.LABEL_COMPONENT: c.SUFFIXES[component],
    }


def labels(stack: StackRef, component: str) -> dict[str, str]:
    return selector(stack, component) | {c.LABEL_PART_OF: c.PART_OF, c.LABEL_MANAGED_BY: c.FIELD_MANAGER}


def stack_labels(stack: StackRef) -> dict[str, str]:
    """Labels every child carries; also the selector used to find children when pruning."""
    return {
        c.LABEL_NAME: c.APP_NAME,
        c.LABEL_INSTANCE: stack.name,
        c.LABEL_PART_OF: c.PART_OF,
        c.LABEL_MANAGED_BY: c.FIELD_MANAGER,
    }


def owner_reference(stack: StackRef) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "name": stack.name,
        "uid": stack.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata(stack: StackRef, component: str, name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or child_name(stack, component),
        "namespace": stack.namespace,
        "labels": labels(stack, component),
        "ownerReferences": [owner_reference(stack)],
    }


def service_url(stack: StackRef, component: str, port: int) -> str:
    return f"http://{child_name(stack, component)}.{stack.namespace}.svc:{port}"


def service(stack: StackRef, component: str, port: int) -> Manifest:
    """A ClusterIP Service exposing the component's `http` port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(stack, component),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(stack, component),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }
