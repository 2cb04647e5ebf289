"""The browser's only way out: an HTTP proxy on loopback, inside the tool server, that resolves each destination
once, checks every answer against the EgressPolicy and connects to a checked address, exactly like the plain fetch
path. Chromium is started with it as its proxy for everything (its implicit loopback bypass removed), so redirects,
subresources, WebSockets, workers, prefetches and DNS all go through here, where the page-level request hook never
looks. Plain-HTTP requests get one request per connection; CONNECT tunnels (HTTPS, WebSockets) are spliced."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import httpcore

from fathom_runtime.toolserver.guard.resolve import Resolver, resolve_checked
from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
HEAD_TIMEOUT = 10.0
CONNECT_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0  # a tunnel with no byte either way for this long is closed
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te",
              "trailer", "upgrade"}  # fmt: skip


class ProxyRequestError(Exception):
    """A request the proxy cannot parse; answered 400."""


def parse_head(head: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, target, headers) of a request head (without the blank line). Pure."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise ProxyRequestError("malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise ProxyRequestError(f"unsupported protocol {version[:20]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ProxyRequestError("malformed header line")
        headers.append((name, value.strip()))
    return method.upper(), target, headers


def connect_target(target: str) -> tuple[str, int]:
    """host and port of a CONNECT target (`host:port`, `[v6]:port`). Pure."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ProxyRequestError(f"bad CONNECT target {target[:100]!r}")
    return host.strip("[]"), int(port)


def origin_request(method: str, target: str, headers: list[tuple[str, str]]) -> tuple[str, int, bytes]:
    """(host, port, request head to send to the origin) for an absolute-form plain-HTTP proxy request: origin-form
    target, hop-by-hop headers dropped, one request per connection. Pure."""
    parts = urlsplit(target)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ProxyRequestError("only absolute http:// URLs are proxied (https goes through CONNECT)")
    if any(name.lower() == "transfer-encoding" for name, _ in headers):
        raise ProxyRequestError("chunked request bodies are not proxied")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]
    lines = [f"{method} {path} HTTP/1.1", *(f"{n}: {v}" for n, v in kept), "Connection: close", "", ""]
    return parts.hostname, parts.port or 80, "\r\n".join(lines).encode("latin-1")


def _reply(status: int, reason: str, message: str = "") -> bytes:
    body = message.encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + body


class EgressProxy:
    def __init__(
        self, policy: EgressPolicy, resolver: Resolver, *, on_refused: Callable[[], None] | None = None
    ) -> None:
        self._policy, self._resolver, self._on_refused = policy, resolver, on_refused
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; returns `http://127.0.0.1:<port>` for --proxy-server."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            method, target, headers = parse_head(head[:-4])
            if method == "CONNECT":
                host, port = connect_target(target)
                upstream_head = b""
            else:
                host, port, upstream_head = origin_request(method, target, headers)
        except (asyncio.LimitOverrunError, ValueError, ProxyRequestError) as exc:
            writer.write(_reply(400, "Bad Request", str(exc) if isinstance(exc, ProxyRequestError) else ""))
            return
        upstream = await self._open(host, port, writer)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                up_writer.write(upstream_head)
            await _splice(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()

    async def _open(
        self, host: str, port: int, client: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to a checked address of host, or None after answering the client why not."""
        try:
            addresses = await resolve_checked(self._policy, self._resolver, host, port)
        except EgressRefused as exc:
            if self._on_refused is not None:
                self._on_refused()
            logger.info("browser egress refused: %s", exc)
            client.write(_reply(403, "Forbidden", str(exc)))
            return None
        except httpcore.ConnectError as exc:
            client.write(_reply(502, "Bad Gateway", str(exc)))
            return None
        for address in addresses:  # the checked answers only: never a second lookup
            try:
                return await asyncio.wait_for(asyncio.open_connection(str(address), port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError):
                continue
        client.write(_reply(502, "Bad Gateway", f"cannot connect to {host}:{port}"))
        return None


async def _splice(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until either side closes or nothing moves for IDLE_TIMEOUT."""

    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await asyncio.wait_for(source.read(65536), IDLE_TIMEOUT):
            sink.write(data)
            await sink.drain()

    tasks = [asyncio.create_task(pump(client_reader, up_writer)), asyncio.create_task(pump(up_reader, client_writer))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
