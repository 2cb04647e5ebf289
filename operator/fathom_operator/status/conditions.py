"""Condition bookkeeping: lastTransitionTime changes only when a condition's status flips. Pure."""

from __future__ import annotations

from fathom_operator.api.status import Condition


def set_condition(previous: list[Condition], new: Condition, *, now: str) -> Condition:
    """`new` with the transition time carried over from `previous` unless its status changed."""
    for old in previous:
        if old.type == new.type and old.status == new.status and old.last_transition_time:
            return new.model_copy(update={"last_transition_time": old.last_transition_time})
    return new.model_copy(update={"last_transition_time": now})


def find(conditions: list[Condition], type_: str) -> Condition | None:
    return next((cond for cond in conditions if cond.type == type_), None)
