"""Redis cache, shared by every tool server replica (needs the `redis` extra)."""

from __future__ import annotations

from typing import Any

from fathom_runtime.toolserver.cache.base import CacheError


class RedisCache:
    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        try:
            import redis.asyncio as redis
        except ImportError as exc:
            raise CacheError("the redis cache needs the redis package: pip install 'fathom-stack[redis]'") from exc
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._client: Any = redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(key)
        except self._errors as exc:
            raise CacheError(f"redis get failed: {exc}") from exc
        return bytes(value) if value is not None else None

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            await self._client.set(key, value, ex=ttl or None)
        except self._errors as exc:
            raise CacheError(f"redis set failed: {exc}") from exc

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except self._errors as exc:
            raise CacheError(f"redis unreachable: {exc}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()
