"""The four tools, independent of HTTP: search_urls, query_url, web_search, web_visit. Caching, coalescing and
the fallbacks of query_url live here; transports are injected."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from fathom_runtime.protocol.tools import ToolArguments, ToolResponse
from fathom_runtime.toolserver.cache.base import Cache, CacheError, Coalescer, cache_key, normalise_url
from fathom_runtime.toolserver.extract import passages
from fathom_runtime.toolserver.extract.llm import EXTRACTOR_VERSION, LlmExtractor
from fathom_runtime.toolserver.fetch.base import Page
from fathom_runtime.toolserver.fetch.chain import FetchChain
from fathom_runtime.toolserver.fetch.http import FetchError
from fathom_runtime.toolserver.format import format_extraction, format_hits, format_page
from fathom_runtime.toolserver.guard.ssrf import EgressRefused
from fathom_runtime.toolserver.metrics import ToolMetrics
from fathom_runtime.toolserver.search.base import SearchBackend, SearchError

logger = logging.getLogger(__name__)

TRUNCATED_FALLBACK_CHARS = 6_000


class ToolError(Exception):
    """A tool call that failed; `kind` maps to the HTTP status, the message is for the agent."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _squash(text: str) -> str:
    return " ".join(text.split())


def translate(exc: Exception) -> ToolError:
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, EgressRefused):
        return ToolError("egress_refused", str(exc))
    if isinstance(exc, SearchError):
        return ToolError("search_failed", str(exc))
    if isinstance(exc, FetchError):
        return ToolError("fetch_failed", str(exc))
    if isinstance(exc, TimeoutError):
        return ToolError("timeout", "the tool call ran out of time")
    raise exc


class Tools:
    def __init__(
        self,
        *,
        search: SearchBackend,
        chain: FetchChain,
        cache: Cache,
        metrics: ToolMetrics,
        extractor: LlmExtractor | None,
        search_ttl: int,
        page_ttl: int,
        max_visit_chars: int,
    ) -> None:
        self.search_backend, self.chain, self.cache, self.metrics = search, chain, cache, metrics
        self.extractor = extractor
        self._search_ttl, self._page_ttl, self._max_visit = search_ttl, page_ttl, max_visit_chars
        self._coalesce = Coalescer()

    async def _cached(self, kind: str, key: str, ttl: int, compute: Any) -> tuple[Any, bool]:
        """(value, was_cached): JSON-able value from the cache, or computed once for all concurrent callers."""
        try:
            raw = await self.cache.get(key)
        except CacheError as exc:
            logger.warning("cache read failed, treating as a miss: %s", exc)
            raw = None
        if raw is not None:
            self.metrics.cache.labels(kind, "hit").inc()
            return json.loads(raw), True
        self.metrics.cache.labels(kind, "miss").inc()

        async def compute_and_store() -> Any:
            value = await compute()
            try:
                await self.cache.set(key, json.dumps(value).encode(), ttl)
            except CacheError as exc:
                logger.warning("cache write failed: %s", exc)
            return value

        return await self._coalesce.run(key, compute_and_store), False

    async def run(self, name: str, arguments: ToolArguments) -> ToolResponse:
        """The tool called `name` (every declared tool is a method of that name) with validated arguments."""
        tool: Callable[..., Awaitable[ToolResponse]] = getattr(self, name)
        return await tool(**arguments.model_dump())

    async def search_urls(self, query: str, top_k: int = 10) -> ToolResponse:
        query = _squash(query)
        key = cache_key("search", self.search_backend.name, str(top_k), query)

        async def compute() -> dict[str, Any]:
            hits = await self.search_backend.search(query, top_k)
            return {"result": format_hits(query, hits), "hits": [asdict(hit) for hit in hits]}

        value, cached = await self._cached("search", key, self._search_ttl, compute)
        return ToolResponse(result=value["result"], cached=cached, source=self.search_backend.name, hits=value["hits"])

    async def web_search(self, query: str) -> ToolResponse:
        return await self.search_urls(query, 10)

    async def page(self, url: str) -> tuple[Page, bool]:
        key = cache_key("page", normalise_url(url))

        async def compute() -> dict[str, Any]:
            self.metrics.inflight.inc()
            try:
                return asdict(await self.chain.fetch(url))
            finally:
                self.metrics.inflight.dec()

        value, cached = await self._cached("page", key, self._page_ttl, compute)
        return Page(**value), cached

    async def web_visit(self, url: str) -> ToolResponse:
        page, cached = await self.page(url)
        text = page.text[: self._max_visit]
        truncated = page.truncated or len(page.text) > self._max_visit
        return ToolResponse(
            result=format_page(url, page.title, text, truncated=truncated),
            cached=cached,
            source=page.source,
            truncated=truncated,
        )

    async def query_url(self, url: str, goal: str) -> ToolResponse:
        goal = _squash(goal)
        page, page_cached = await self.page(url)
        model = self.extractor.model if self.extractor else "passages"
        key = cache_key("extract", normalise_url(url), goal, EXTRACTOR_VERSION, model)

        async def compute() -> dict[str, str]:
            return await self._extract(url, goal, page)

        value, cached = await self._cached("extract", key, self._page_ttl, compute)
        return ToolResponse(
            result=value["result"],
            cached=cached and page_cached,
            source=page.source,
            method=value["method"],
            truncated=page.truncated,
        )

    async def _extract(self, url: str, goal: str, page: Page) -> dict[str, str]:
        note = ""
        if self.extractor is not None:
            sections, problems = await self.extractor.extract(url, goal, page.text)
            if sections is not None:
                result = format_extraction(url, goal, sections.rationale, sections.evidence, sections.summary)
                return {"result": result, "method": "llm"}
            note = f" The query LLM failed ({'; '.join(problems)})."
        chosen = await asyncio.to_thread(passages.rank_passages, page.text, goal)
        if chosen:
            evidence = "\n".join(f'- "{p}"' for p in chosen)
            rationale = f"The page passages that best match the goal, ranked by term overlap.{note}"
            summary = f"{len(chosen)} passage(s) of {url} mention the goal's terms; read the evidence above."
            return {"result": format_extraction(url, goal, rationale, evidence, summary), "method": "passages"}
        rationale = f"No passage matched the goal's terms; the beginning of the page follows.{note}"
        excerpt = page.text[:TRUNCATED_FALLBACK_CHARS]
        summary = "The page may not address the goal."
        return {"result": format_extraction(url, goal, rationale, excerpt, summary), "method": "truncated"}
