"""Remote search APIs: Serper (POST with X-API-KEY, `organic[]` results) and SearXNG (JSON API)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx

from fathom_runtime.toolserver.search.base import Hit, SearchError

RETRY_STATUSES = {429, 500, 502, 503, 504}


async def _with_retries(
    send: Callable[[], Awaitable[httpx.Response]], *, attempts: int = 3, base_delay: float = 0.5
) -> httpx.Response:
    """Retries connection errors and 429/5xx with jittered exponential backoff; returns the last response."""
    for attempt in range(attempts):
        try:
            response = await send()
        except httpx.TransportError as exc:
            if attempt == attempts - 1:
                raise SearchError(f"search backend unreachable: {type(exc).__name__}") from exc
        else:
            if response.status_code not in RETRY_STATUSES or attempt == attempts - 1:
                return response
        await asyncio.sleep(base_delay * 2**attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")


class SerperSearch:
    name = "serper"

    def __init__(self, client: httpx.AsyncClient, url: str, api_key: str | None, *, retry_delay: float = 0.5) -> None:
        self._client, self._url, self._key, self._delay = client, url, api_key, retry_delay

    async def check_ready(self) -> None:
        if not self._key:
            raise SearchError("Serper search needs an API key: set FATHOM_SERPER_API_KEY (or SERPER_API_KEY)")

    async def search(self, query: str, top_k: int) -> list[Hit]:
        await self.check_ready()
        headers = {"X-API-KEY": self._key or "", "Content-Type": "application/json"}

        async def send() -> httpx.Response:
            return await self._client.post(self._url, json={"q": query, "num": top_k}, headers=headers)

        response = await _with_retries(send, base_delay=self._delay)
        if response.status_code in (401, 403):
            raise SearchError(f"Serper rejected the API key (HTTP {response.status_code})")
        if response.status_code != 200:
            raise SearchError(f"Serper answered HTTP {response.status_code}")
        try:
            organic = response.json().get("organic", [])
        except ValueError as exc:
            raise SearchError("Serper returned malformed JSON") from exc
        return [
            Hit(str(o.get("title", "")), str(o.get("link", "")), str(o.get("snippet", "")))
            for o in organic
            if o.get("link")
        ][:top_k]


class SearxngSearch:
    name = "searxng"

    def __init__(self, client: httpx.AsyncClient, base_url: str, *, retry_delay: float = 0.5) -> None:
        self._client, self._base, self._delay = client, base_url.rstrip("/"), retry_delay

    async def check_ready(self) -> None:
        return None

    async def search(self, query: str, top_k: int) -> list[Hit]:
        async def send() -> httpx.Response:
            return await self._client.get(f"{self._base}/search", params={"q": query, "format": "json"})

        response = await _with_retries(send, base_delay=self._delay)
        if response.status_code != 200:
            raise SearchError(f"SearXNG answered HTTP {response.status_code} (is the json format enabled?)")
        try:
            results = response.json().get("results", [])
        except ValueError as exc:
            raise SearchError("SearXNG returned malformed JSON") from exc
        return [
            Hit(str(r.get("title", "")), str(r.get("url", "")), str(r.get("content", "")))
            for r in results
            if r.get("url")
        ][:top_k]
