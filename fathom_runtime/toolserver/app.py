"""create_app(settings): the tool server FastAPI app. Its lifespan builds and closes the HTTP clients, the cache,
the search backend, the fetch chain and the extractor; nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from fathom_runtime.common.errors import error_response, install_error_handlers
from fathom_runtime.common.server import BodyLimit
from fathom_runtime.toolserver.cache.base import Cache
from fathom_runtime.toolserver.cache.disk import DiskCache
from fathom_runtime.toolserver.cache.memory import MemoryCache
from fathom_runtime.toolserver.cache.redis import RedisCache
from fathom_runtime.toolserver.extract.llm import LlmExtractor
from fathom_runtime.toolserver.fetch.base import Fetcher
from fathom_runtime.toolserver.fetch.browser import BrowserFetcher, browser_unavailable
from fathom_runtime.toolserver.fetch.chain import FetchChain
from fathom_runtime.toolserver.fetch.fetchers import (
    GithubFetcher,
    JinaFetcher,
    PlainFetcher,
    RedditFetcher,
    YoutubeFetcher,
)
from fathom_runtime.toolserver.fetch.http import PDF_TYPE, GuardedClient
from fathom_runtime.toolserver.guard.resolve import Resolver, SystemResolver
from fathom_runtime.toolserver.guard.ssrf import EgressPolicy
from fathom_runtime.toolserver.metrics import ToolMetrics
from fathom_runtime.toolserver.routes import execute, health, tools
from fathom_runtime.toolserver.search.base import SearchBackend
from fathom_runtime.toolserver.search.local import LocalSearch
from fathom_runtime.toolserver.search.remote import SearxngSearch, SerperSearch
from fathom_runtime.toolserver.service import ToolError, Tools
from fathom_runtime.toolserver.settings import ToolServerSettings

logger = logging.getLogger(__name__)

STATUS_BY_KIND = {"egress_refused": 403, "fetch_failed": 502, "search_failed": 502, "timeout": 504}


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def build_cache(settings: ToolServerSettings) -> Cache:
    if settings.cache == "redis":
        if not settings.cache_url:
            raise ValueError("FATHOM_CACHE=redis needs FATHOM_CACHE_URL (redis://host:6379/0)")
        return RedisCache(settings.cache_url)
    if settings.cache == "disk":
        return DiskCache(settings.cache_url or "/var/cache/fathom")
    return MemoryCache(settings.cache_max_entries)


async def build_search(settings: ToolServerSettings, client: httpx.AsyncClient) -> SearchBackend:
    if settings.search_provider == "searxng":
        if not settings.searxng_url:
            raise ValueError("FATHOM_SEARCH_PROVIDER=searxng needs FATHOM_SEARXNG_URL")
        return SearxngSearch(client, settings.searxng_url)
    if settings.search_provider == "local":
        if not settings.local_corpus:
            raise ValueError("FATHOM_SEARCH_PROVIDER=local needs FATHOM_LOCAL_CORPUS")
        return await LocalSearch.open(settings.local_corpus, settings.local_corpus_base_url, settings.local_index)
    return SerperSearch(client, settings.serper_url, _secret(settings.serper_api_key))


def build_fetchers(
    settings: ToolServerSettings, guarded: GuardedClient, trusted: httpx.AsyncClient
) -> dict[str, Fetcher]:
    page_limits: dict[str, Any] = {
        "max_chars": settings.max_page_chars,
        "max_pdf_pages": settings.max_pdf_pages,
        "max_pdf_chars": settings.max_pdf_chars,
    }
    fetchers: dict[str, Fetcher] = {
        "plain": PlainFetcher(guarded, max_bytes=settings.max_page_bytes, **page_limits),
        "pdf": PlainFetcher(
            guarded, name="pdf", timeout=30.0, max_bytes=settings.max_pdf_bytes, accept=(PDF_TYPE,), **page_limits
        ),
        "github": GithubFetcher(
            trusted, settings.github_api_url, _secret(settings.github_token), max_chars=settings.max_page_chars
        ),
        "reddit": RedditFetcher(guarded, max_bytes=settings.max_page_bytes, max_chars=settings.max_page_chars),
        "youtube": YoutubeFetcher(max_chars=settings.max_page_chars),
    }
    if settings.jina_enabled:
        fetchers["jina"] = JinaFetcher(
            trusted, settings.jina_url, _secret(settings.jina_api_key), max_chars=settings.max_page_chars
        )
    return fetchers


def create_app(settings: ToolServerSettings, *, resolver: Resolver | None = None) -> FastAPI:
    """The app; `resolver` replaces DNS (tests point names at loopback fixtures). An egress allow entry that does
    not parse raises ValueError here, before anything serves: the tool server never runs without its policy."""
    policy = EgressPolicy.from_entries(settings.egress_allow)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("tool server settings: %s", settings.masked(), extra={"component": "toolserver"})
        metrics = ToolMetrics()
        dns = resolver or SystemResolver()
        trusted = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0), limits=httpx.Limits(max_connections=settings.max_outbound)
        )
        guarded = GuardedClient(
            policy,
            dns,
            max_connections=settings.max_outbound,
            max_redirects=settings.max_redirects,
            on_refused=metrics.blocked.inc,
        )
        cache = build_cache(settings)
        fetchers = build_fetchers(settings, guarded, trusted)
        browser_status, browser = "disabled", None
        if settings.browser_enabled:
            reason = browser_unavailable(settings.chromium_path)
            if reason is None:
                browser = BrowserFetcher(
                    settings.chromium_path,
                    policy,
                    dns,
                    max_chars=settings.max_page_chars,
                    settle=settings.browser_settle_seconds,
                    on_refused=metrics.blocked.inc,
                )
                fetchers["browser"], browser_status = browser, f"ok ({settings.chromium_path})"
            else:
                browser_status = f"unavailable: {reason}"
                logger.warning("browser fetcher skipped: %s", reason, extra={"component": "toolserver"})
        try:
            chain = FetchChain(
                fetchers,
                policy,
                dns,
                max_outbound=settings.max_outbound,
                max_per_host=settings.max_per_host,
                on_attempt=lambda fetcher, outcome: metrics.fetches.labels(fetcher, outcome).inc(),
                on_refused=metrics.blocked.inc,
            )
            extractor = (
                LlmExtractor(
                    trusted,
                    settings.query_llm_url,
                    settings.query_llm_model,
                    _secret(settings.query_llm_api_key),
                    timeout=settings.query_llm_timeout_seconds,
                )
                if settings.query_llm_url
                else None
            )
            app.state.settings = settings
            app.state.browser_status = browser_status
            app.state.tools = Tools(
                search=await build_search(settings, trusted),
                chain=chain,
                cache=cache,
                metrics=metrics,
                extractor=extractor,
                search_ttl=settings.search_ttl_seconds,
                page_ttl=settings.page_ttl_seconds,
                max_visit_chars=settings.max_visit_chars,
            )
            yield
        finally:
            if browser is not None:
                await browser.aclose()
            await guarded.aclose()
            await trusted.aclose()
            await cache.aclose()

    app = FastAPI(title="Fathom tool server", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    async def on_tool_error(_: object, exc: ToolError) -> object:
        return error_response(STATUS_BY_KIND.get(exc.kind, 500), exc.kind, str(exc))

    app.add_exception_handler(ToolError, on_tool_error)  # type: ignore[arg-type]
    app.include_router(tools.router)
    app.include_router(execute.router)
    app.include_router(health.router)
    return app
