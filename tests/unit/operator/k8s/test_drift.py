"""What other managers added to a child is found in managedFields and deleted with a strategic merge patch; what
the operator owns, shares, or the control plane writes is left alone."""

from __future__ import annotations

from typing import Any

from fathom_operator.k8s.drift import foreign_additions

OURS = "fathom-operator"
CONTAINER = {
    "f:name": {},
    "f:image": {},
    "f:env": {'k:{"name":"FATHOM_MAX_TURNS"}': {".": {}, "f:name": {}, "f:value": {}}},
}
DEPLOYMENT_FIELDS = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {'k:{"name":"tools"}': CONTAINER}}}},
}


def _entry(manager: str, fields: dict[str, Any], operation: str = "Update", **extra: str) -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": fields, **extra}


def _item(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"managedFields": [_entry(OURS, DEPLOYMENT_FIELDS, "Apply"), *entries]}}


def _template(containers: dict[str, Any]) -> dict[str, Any]:
    return {"f:spec": {"f:template": {"f:spec": {"f:containers": containers}}}}


def test_an_untouched_child_needs_nothing() -> None:
    assert foreign_additions(_item(), OURS) is None


def test_an_added_env_var_and_a_sidecar_are_deleted_by_their_merge_keys() -> None:
    env = {"f:env": {'k:{"name":"FATHOM_EGRESS_ALLOW"}': {".": {}, "f:name": {}, "f:value": {}}}}
    sidecar = {".": {}, "f:name": {}, "f:image": {}}
    patch = foreign_additions(
        _item(_entry("kubectl-set", _template({'k:{"name":"tools"}': env})),
              _entry("kubectl-patch", _template({'k:{"name":"sidecar"}': sidecar}))),
        OURS,
    )  # fmt: skip
    assert patch == {"spec": {"template": {"spec": {"containers": [
        {"name": "tools", "env": [{"name": "FATHOM_EGRESS_ALLOW", "$patch": "delete"}]},
        {"name": "sidecar", "$patch": "delete"},
    ]}}}}  # fmt: skip


def test_a_field_the_operator_never_sets_is_nulled() -> None:
    patch = foreign_additions(
        _item(_entry("kubectl-edit", {"f:spec": {"f:template": {"f:spec": {"f:hostNetwork": {}}}}})), OURS
    )
    assert patch == {"spec": {"template": {"spec": {"hostNetwork": None}}}}


def test_an_added_configmap_key_is_deleted() -> None:
    ours = _entry(OURS, {"f:data": {"f:FATHOM_SEARCH_PROVIDER": {}}}, "Apply")
    item = {"metadata": {"managedFields": [ours, _entry("kubectl-patch", {"f:data": {"f:FATHOM_EGRESS_ALLOW": {}}})]}}
    assert foreign_additions(item, OURS) == {"data": {"FATHOM_EGRESS_ALLOW": None}}


def test_shared_values_labels_scale_and_the_control_plane_are_left_alone() -> None:
    same_value = _template({'k:{"name":"tools"}': {"f:image": {}}})  # also set by us: shared, not added
    labels = {"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/restartedAt": {}}},
              "f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:x": {}}}}}}  # fmt: skip
    scale = _entry("kube-controller-manager", {"f:spec": {"f:replicas": {}}}, subresource="scale")
    binder = _entry("kube-controller-manager", {"f:spec": {"f:volumeName": {}}})
    status = _entry("kube-controller-manager", {"f:status": {"f:replicas": {}}}, subresource="status")
    item = _item(_entry("kubectl-set", same_value), _entry("kubectl-rollout", labels), scale, binder, status)
    assert foreign_additions(item, OURS) is None
