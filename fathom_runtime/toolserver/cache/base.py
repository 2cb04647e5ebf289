"""The cache seam, keys, and single-flight coalescing of identical concurrent requests."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: int) -> None: ...

    async def ping(self) -> None:
        """Raise when the backend is unreachable (readiness)."""
        ...

    async def aclose(self) -> None: ...


class CacheError(Exception):
    """The cache backend failed; callers treat it as a miss and go on."""


def normalise_url(url: str) -> str:
    """Scheme and host lower-cased, default port and fragment dropped, empty path as '/'. Pure."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def cache_key(kind: str, *parts: str) -> str:
    """A stable key: kind plus a sha256 of the parts (whitespace-normalised by the callers)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return f"fathom:{kind}:{digest}"


class Coalescer:
    """Runs one factory per key at a time; concurrent callers with the same key share its result (or error)."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[object]] = {}

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def run(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        existing = self._inflight.get(key)
        if existing is not None:
            return cast(T, await asyncio.shield(existing))  # a key always maps to one kind of value
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await factory()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers re-raise it, a lone leader must not warn
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]
