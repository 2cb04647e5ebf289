"""The HTTP client for model-chosen URLs: guarded connections (guard/), redirects followed by hand and re-checked
on every hop, a total deadline, byte caps applied to *decoded* bytes with bounded decompression (bomb safe), and
content types checked before anything is parsed."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpcore
import httpx

from fathom_runtime.toolserver.guard.resolve import GuardedNetworkBackend, Resolver
from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused, check_url

USER_AGENT = "Mozilla/5.0 (compatible; FathomStack/0.1; +https://github.com/FractalAIResearchLabs/Fathom-DeepResearch)"
TEXT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/xml",
    "text/xml",
    "application/json",
)
PDF_TYPE = "application/pdf"


class FetchError(Exception):
    """A fetch that produced nothing usable; the message is written for the agent to read."""


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool


def _content_type(headers: httpx.Headers) -> tuple[str, str | None]:
    raw = headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    charset = None
    for param in raw.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return media, charset


def _decompressor(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"unsupported content encoding {encoding!r}")


async def read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """At most `max_bytes` of decoded body, decompressing incrementally so a bomb never inflates past the cap."""
    decoder = _decompressor(response.headers.get("content-encoding", ""))
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            data = chunk
            while data:
                if decoder is None:
                    piece, data = data, b""
                else:
                    piece = decoder.decompress(data, max_bytes + 1 - len(body))
                    data = decoder.unconsumed_tail
                body += piece
                if len(body) > max_bytes:
                    return bytes(body[:max_bytes]), True
                if decoder is not None and not piece:
                    break
    except zlib.error as exc:
        raise FetchError(f"corrupt compressed body: {exc}") from exc
    return bytes(body), False


def guarded_transport(
    policy: EgressPolicy, resolver: Resolver, *, max_connections: int, on_refused: Callable[[], None] | None = None
) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(retries=0)
    # httpx has no public hook for the network backend; swap the pool for one that connects through the guard.
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(),
        max_connections=max_connections,
        max_keepalive_connections=min(max_connections, 64),
        keepalive_expiry=30.0,
        network_backend=GuardedNetworkBackend(policy, resolver, on_refused=on_refused),
    )
    return transport


class GuardedClient:
    """GETs model-chosen URLs under the egress policy. One instance per process; closes with `aclose()`."""

    def __init__(
        self,
        policy: EgressPolicy,
        resolver: Resolver,
        *,
        max_connections: int = 256,
        max_redirects: int = 5,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self._max_redirects = max_redirects
        self._on_refused = on_refused
        self._client = httpx.AsyncClient(
            transport=guarded_transport(policy, resolver, max_connections=max_connections, on_refused=on_refused),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(20.0, connect=10.0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def check(self, url: str) -> None:
        try:
            check_url(url)
        except EgressRefused:
            if self._on_refused is not None:
                self._on_refused()
            raise

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        timeout: float,
        accept: tuple[str, ...] = TEXT_TYPES + (PDF_TYPE,),
        headers: dict[str, str] | None = None,
    ) -> Response:
        """The final response after redirects. Raises FetchError, EgressRefused or TimeoutError."""
        async with asyncio.timeout(timeout):
            for _ in range(self._max_redirects + 1):
                self.check(url)
                try:
                    async with self._client.stream("GET", url, headers=headers) as response:
                        if response.is_redirect:
                            url = urljoin(url, response.headers["location"])
                            continue
                        return await self._finish(url, response, max_bytes, accept)
                except EgressRefused:
                    raise
                except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # a Location like `http:\\host\`
                    raise FetchError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
            raise FetchError(f"more than {self._max_redirects} redirects")

    async def _finish(self, url: str, response: httpx.Response, max_bytes: int, accept: tuple[str, ...]) -> Response:
        media, charset = _content_type(response.headers)
        if response.status_code >= 400:
            raise FetchError(f"HTTP {response.status_code} from {url}")
        if media and media not in accept:
            raise FetchError(f"unsupported content type {media!r} at {url}")
        body, truncated = await read_capped(response, max_bytes)
        return Response(str(response.url), response.status_code, media, charset, body, truncated)
