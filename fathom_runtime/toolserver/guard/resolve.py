"""DNS resolution and the guarded connector: every outbound connection for a model-chosen URL resolves the host
once, checks every answer against the EgressPolicy, and connects to a checked address (never a second lookup,
so DNS rebinding cannot swap the target). I/O lives here."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any, Protocol

import httpcore

from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused, IPAddress


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """getaddrinfo through the event loop's executor."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        seen: dict[str, IPAddress] = {}
        for info in infos:
            text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 scope id
            seen.setdefault(text, ipaddress.ip_address(text))
        return list(seen.values())


class StaticResolver:
    """Fixed answers per host (tests, and /etc/hosts-like overrides); falls back to `fallback`."""

    def __init__(self, answers: dict[str, Iterable[str]], fallback: Resolver | None = None) -> None:
        self._answers = {h.lower(): [ipaddress.ip_address(a) for a in addrs] for h, addrs in answers.items()}
        self._fallback = fallback or SystemResolver()

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        answers = self._answers.get(host.lower())
        return list(answers) if answers is not None else await self._fallback.resolve(host, port)


async def resolve_checked(policy: EgressPolicy, resolver: Resolver, host: str, port: int) -> list[IPAddress]:
    """All answers for `host`, after checking each one; refuses if any answer is not allowed."""
    addresses = await resolver.resolve(host, port)
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no addresses")
    for address in addresses:
        policy.check_address(host, address)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that applies the EgressPolicy at connect time. TLS still verifies the original
    host name: httpcore passes it separately as the server name."""

    def __init__(
        self,
        policy: EgressPolicy,
        resolver: Resolver,
        *,
        on_refused: Any = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._on_refused = on_refused
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve_checked(self._policy, self._resolver, host, port)
        except EgressRefused:
            if self._on_refused is not None:
                self._on_refused()
            raise
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("refused: unix sockets are not reachable")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
