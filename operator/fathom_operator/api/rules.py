"""Cross-field rules, declared once and enforced twice: as CEL `x-kubernetes-validations` at admission and
as pydantic validators when the operator parses a spec. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """`cel` runs in the API server with `self` bound to the object; `check` is the same rule in Python."""

    cel: str
    message: str
    check: Callable[[Any], bool]
    field_path: str | None = None

    def to_validation(self) -> dict[str, str]:
        rule = {"rule": self.cel, "message": self.message}
        if self.field_path:
            rule["fieldPath"] = self.field_path
        return rule


def schema_extra(*rules: Rule) -> dict[str, Any]:
    """`json_schema_extra` for a model class carrying these rules."""
    return {"x-kubernetes-validations": [r.to_validation() for r in rules]}


def violations(obj: Any, rules: tuple[Rule, ...]) -> list[str]:
    return [r.message for r in rules if not r.check(obj)]
