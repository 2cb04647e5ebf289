"""Fixtures for tool server tests: Debian's Python documentation served on loopback (a real corpus nobody here
wrote), fake Serper / OpenAI-compatible endpoints speaking the real wire shapes, and the tool server itself
under uvicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from fathom_runtime.toolserver.app import create_app
from fathom_runtime.toolserver.guard.resolve import Resolver
from fathom_runtime.toolserver.settings import ToolServerSettings
from tests.support.services import ServedApp
from tests.support.web import Site

PYTHON_DOCS = Path("/usr/share/doc/python3.11-doc/html")


@pytest.fixture(scope="session")
def docs_site() -> Iterator[Site]:
    if not (PYTHON_DOCS / "library" / "asyncio-task.html").exists():
        pytest.fail("Debian's python3.11-doc is missing: run hack/test-deps.sh (make test does)")
    with Site(root=PYTHON_DOCS) as site:
        yield site


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


ToolServerFactory = Callable[..., httpx.Client]


@pytest.fixture
def toolserver() -> Iterator[ToolServerFactory]:
    """`toolserver(resolver=None, **settings)` starts a tool server and returns an httpx client bound to it."""
    with ExitStack() as stack:

        def start(resolver: Resolver | None = None, **overrides: Any) -> httpx.Client:
            defaults: dict[str, Any] = {"search_provider": "local", "jina_enabled": False, "cache": "memory"}
            settings = ToolServerSettings.model_validate(defaults | overrides)
            served = stack.enter_context(ServedApp(create_app(settings, resolver=resolver)))
            return stack.enter_context(httpx.Client(base_url=served.url, timeout=60))

        yield start
