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


@pytest.fixture(scope="session")
def docs_index(docs_site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the docs index is built once per session (tool servers reuse it)."""
    return tmp_path_factory.mktemp("index") / "docs.sqlite"


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


ToolServerFactory = Callable[..., httpx.Client]


@pytest.fixture
def toolserver(tmp_path: Path) -> Iterator[ToolServerFactory]:
    """`toolserver(resolver=None, **settings)` starts a tool server and returns an httpx client bound to it.
    Without `local_corpus` it searches a two-document JSONL corpus."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"url": "http://docs.invalid/a", "title": "Alpha", "text": "alpha particles and helium nuclei"}\n'
        '{"url": "http://docs.invalid/b", "title": "Beta", "text": "beta decay emits electrons"}\n'
    )
    with ExitStack() as stack:

        def start(resolver: Resolver | None = None, **overrides: Any) -> httpx.Client:
            defaults: dict[str, Any] = {
                "search_provider": "local",
                "local_corpus": str(corpus),
                "jina_enabled": False,
                "cache": "memory",
            }
            settings = ToolServerSettings.model_validate(defaults | overrides)
            served = stack.enter_context(ServedApp(create_app(settings, resolver=resolver)))
            return stack.enter_context(httpx.Client(base_url=served.url, timeout=60))

        yield start
