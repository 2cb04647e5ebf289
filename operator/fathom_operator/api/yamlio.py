"""Deterministic YAML for generated files and golden tests: sorted keys off, no anchors, block style. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(document: Any, *, sort_keys: bool = False) -> str:
    return yaml.dump(document, Dumper=_NoAliasDumper, sort_keys=sort_keys, width=120, allow_unicode=True)


def dump_all(documents: Iterable[Any], *, sort_keys: bool = False) -> str:
    return "---\n".join(dump(d, sort_keys=sort_keys) for d in documents)
