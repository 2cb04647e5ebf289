"""The headless-browser fetcher: Crawl4AI driving the machine's Chromium over CDP (no browser download). Chromium has
no network of its own: everything it sends goes through the tool server's egress proxy (fetch/egress_proxy.py),
which resolves and checks each destination like the plain fetch path, so redirects, WebSockets, workers and DNS
rebinding are covered. The page-level request hook still aborts refused URLs early, before a connection is tried."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from fathom_runtime.toolserver.fetch import text as textlib
from fathom_runtime.toolserver.fetch.base import Page
from fathom_runtime.toolserver.fetch.egress_proxy import EgressProxy
from fathom_runtime.toolserver.fetch.http import FetchError
from fathom_runtime.toolserver.guard.resolve import Resolver, resolve_checked
from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused, check_url

logger = logging.getLogger(__name__)

# Chromium flags that keep it quiet on a closed network (no background requests) and fit a container.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    # Everything through our proxy: loopback too (Chromium bypasses proxies for it unless told), no direct DNS
    # (the proxy resolves), and WebRTC never sends UDP outside the proxy.
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
]
INLINE_SCHEMES = ("data", "blob", "about")


def browser_unavailable(chromium: str) -> str | None:
    """Why the browser fetcher cannot run here, or None when it can."""
    try:
        import crawl4ai  # noqa: F401
    except ImportError:
        return "crawl4ai is not installed (pip install 'fathom-stack[browser]')"
    if shutil.which(chromium) is None:
        return f"no Chromium at {chromium} (apt-get install chromium)"
    return None


async def _refuse_websocket(route: Any) -> None:
    await route.close(code=1008, reason="WebSockets are not used for reading pages")


class BrowserFetcher:
    name = "browser"

    def __init__(
        self,
        chromium: str,
        policy: EgressPolicy,
        resolver: Resolver,
        *,
        timeout: float = 40.0,
        settle: float = 1.0,
        max_chars: int,
        on_refused: Any = None,
    ) -> None:
        self.timeout, self._settle = timeout, settle
        self._chromium, self._policy, self._resolver = chromium, policy, resolver
        self._max_chars, self._on_refused = max_chars, on_refused
        self._process: asyncio.subprocess.Process | None = None
        self.proxy = EgressProxy(policy, resolver, on_refused=on_refused)
        self._crawler: Any = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._lock = asyncio.Lock()

    async def _allowed(self, url: str) -> bool:
        scheme = urlsplit(url).scheme.lower()
        if scheme in INLINE_SCHEMES:
            return True
        try:
            _, host, port = check_url(url)
            await resolve_checked(self._policy, self._resolver, host, port)
        except EgressRefused:
            if self._on_refused is not None:
                self._on_refused()
            return False
        except httpcore.ConnectError:  # unresolvable: nothing to connect to
            return False
        return True

    async def _guard(self, route: Any) -> None:
        if await self._allowed(route.request.url):
            await route.continue_()
        else:
            await route.abort("blockedbyclient")

    async def _start(self) -> None:
        from crawl4ai import AsyncWebCrawler, BrowserConfig

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        # Chromium's helpers may still write to the profile while it shuts down: never fail on cleanup.
        self._profile = tempfile.TemporaryDirectory(prefix="fathom-chromium-", ignore_cleanup_errors=True)
        proxy = await self.proxy.start()
        self._process = await asyncio.create_subprocess_exec(
            self._chromium,
            *CHROMIUM_FLAGS,
            f"--proxy-server={proxy}",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={self._profile.name}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    if (await client.get(f"{endpoint}/json/version", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            else:
                raise FetchError("Chromium did not start")
        crawler = AsyncWebCrawler(config=BrowserConfig(browser_mode="cdp", cdp_url=endpoint, verbose=False))

        async def on_context(page: Any, context: Any, **_: Any) -> Any:
            await context.route("**/*", self._guard)
            # Reading a page never needs a WebSocket: none is opened (the proxy would check one, but why let it).
            await context.route_web_socket("**/*", _refuse_websocket)
            return page

        crawler.crawler_strategy.set_hook("on_page_context_created", on_context)
        await crawler.start()
        self._crawler = crawler

    async def fetch(self, url: str) -> Page:
        from crawl4ai import CacheMode, CrawlerRunConfig

        async with self._lock:
            if self._crawler is None:
                try:
                    await self._start()
                except FetchError:
                    await self.aclose()
                    raise
                except Exception as exc:  # Playwright's driver or Chromium failing to start: say so, start anew later
                    await self.aclose()
                    raise FetchError(f"the browser could not start: {type(exc).__name__}: {exc}"[:300]) from exc
        if not await self._allowed(url):
            raise EgressRefused(f"refused: {url} is not a public address")
        config = CrawlerRunConfig(
            cache_mode=CacheMode.BYPASS,
            page_timeout=int(self.timeout * 1000),
            delay_before_return_html=self._settle,  # content that scripts fetch after load
            verbose=False,
        )
        try:
            result = await self._crawler.arun(url=url, config=config)
        except Exception as exc:  # the crawler's own failures become a failed fetch, never a crashed request
            raise FetchError(f"browser failed on {url}: {type(exc).__name__}: {exc}"[:300]) from exc
        if not result.success:
            raise FetchError(f"browser could not load {url}: {(result.error_message or '')[:200]}")
        # The rendered DOM goes through the same extraction as fetched pages: hidden text is dropped there too.
        rendered = await asyncio.to_thread(textlib.html_to_text, result.html or "", max_chars=self._max_chars + 1)
        markdown = rendered or getattr(result.markdown, "raw_markdown", None) or str(result.markdown or "")
        if not markdown.strip():
            raise FetchError(f"browser found no text at {url}")
        title = str((result.metadata or {}).get("title") or "")
        return Page(url, title, markdown[: self._max_chars], self.name, len(markdown) > self._max_chars)

    async def aclose(self) -> None:
        crawler, self._crawler = self._crawler, None
        if crawler is not None:
            with contextlib.suppress(Exception):  # a half-started crawler may fail to close; the process goes anyway
                await crawler.close()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        self._process = None
        await self.proxy.aclose()
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None
