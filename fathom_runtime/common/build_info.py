"""`fathom_build_info{component, version, python}`: which build answers, on every component's /metrics."""

from __future__ import annotations

import platform

from prometheus_client import REGISTRY, CollectorRegistry, Info

from fathom_runtime import __version__


def register_build_info(component: str, registry: CollectorRegistry = REGISTRY) -> None:
    info = Info("fathom_build", "The build of this component.", registry=registry)
    info.info({"component": component, "version": __version__, "python": platform.python_version()})
