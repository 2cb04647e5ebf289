"""The fetch chain: per-domain fetcher order (docs/protocol.md), first success wins; every attempt bounded by its
fetcher's timeout, the shared outbound limit and a per-host limit. The URL's host is resolved and checked once
up front, so a refused URL reaches no fetcher at all."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

import httpcore

from fathom_runtime.toolserver.fetch.base import Fetcher, Page
from fathom_runtime.toolserver.fetch.http import FetchError
from fathom_runtime.toolserver.guard.resolve import Resolver, resolve_checked
from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused, check_url, is_globally_routable

logger = logging.getLogger(__name__)

DEFAULT_ORDER = ("jina", "browser", "plain")
# Fetchers that hand the URL to a third-party service on the internet: useless, and a leak of internal names, for a
# host that the allowlist lets through although it is not public.
REMOTE_READERS = frozenset({"jina"})
DOMAIN_ORDERS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("github.com", "raw.githubusercontent.com"), ("jina", "github", "browser")),
    (("wikipedia.org",), ("plain", "jina", "browser")),
    (("reddit.com",), ("jina", "reddit", "plain")),
    (("quora.com",), ("browser", "jina", "plain")),
    (("youtube.com", "youtu.be"), ("jina", "youtube")),
)
PDF_ORDER = ("jina", "pdf", "plain", "browser")


def fetcher_order(url: str) -> tuple[str, ...]:
    """Names of the fetchers to try for `url`, best first. Pure."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.path.lower().endswith(".pdf"):
        return PDF_ORDER
    for domains, order in DOMAIN_ORDERS:
        if any(host == d or host.endswith("." + d) for d in domains):
            return order
    return DEFAULT_ORDER


class FetchChain:
    def __init__(
        self,
        fetchers: Mapping[str, Fetcher],
        policy: EgressPolicy,
        resolver: Resolver,
        *,
        max_outbound: int,
        max_per_host: int,
        on_attempt: Callable[[str, str], None] = lambda fetcher, outcome: None,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self._fetchers = fetchers
        self._policy, self._resolver = policy, resolver
        self._outbound = asyncio.Semaphore(max_outbound)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(max_per_host))
        self._on_attempt, self._on_refused = on_attempt, on_refused

    def available(self) -> Sequence[str]:
        return sorted(self._fetchers)

    async def _admit(self, url: str) -> tuple[str, bool]:
        """(host, public): the URL's host, once its shape and every address it resolves to are allowed, and whether
        all those addresses are globally routable."""
        try:
            _, host, port = check_url(url)
            addresses = await resolve_checked(self._policy, self._resolver, host, port)
        except EgressRefused:
            self._on_refused()
            raise
        except httpcore.ConnectError as exc:
            raise FetchError(str(exc)) from exc
        return host, all(is_globally_routable(address) for address in addresses)

    async def fetch(self, url: str) -> Page:
        """The first fetcher's page; FetchError listing every attempt when all fail; EgressRefused when refused."""
        host, public = await self._admit(url)
        failures = []
        for name in fetcher_order(url):
            fetcher = self._fetchers.get(name)
            if fetcher is None or (name in REMOTE_READERS and not public):
                continue
            try:
                async with self._outbound, self._per_host[host], asyncio.timeout(fetcher.timeout):
                    page = await fetcher.fetch(url)
            except TimeoutError:
                failures.append(f"{name}: timed out after {fetcher.timeout:g}s")
                self._on_attempt(name, "timeout")
            except EgressRefused:
                self._on_attempt(name, "refused")
                raise
            except FetchError as exc:
                failures.append(f"{name}: {exc}")
                self._on_attempt(name, "error")
                logger.info("fetcher %s failed for %s: %s", name, url, exc, extra={"url": url})
            else:
                self._on_attempt(name, "ok")
                return page
        raise FetchError(f"could not fetch {url}: " + ("; ".join(failures) or "no fetcher available"))
