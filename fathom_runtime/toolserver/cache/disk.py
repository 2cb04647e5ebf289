"""A cache of files under one directory (one file per key, expiry in the first line). Survives restarts of one
replica; use Redis to share between replicas."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from fathom_runtime.toolserver.cache.base import CacheError


class DiskCache:
    def __init__(self, directory: str) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        name = key.replace(":", "_")
        return self._dir / name[-2:] / name

    def _read(self, key: str) -> bytes | None:
        try:
            raw = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        header, _, value = raw.partition(b"\n")
        expires = float(header or 0)
        if expires and expires < time.time():
            self._path(key).unlink(missing_ok=True)
            return None
        return value

    def _write(self, key: str, value: bytes, ttl: int) -> None:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(f"{time.time() + ttl if ttl else 0}\n".encode() + value)
        tmp.replace(path)  # atomic: readers never see half a file

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._read, key)
        except (OSError, ValueError) as exc:
            raise CacheError(f"disk cache read failed: {exc}") from exc

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            await asyncio.to_thread(self._write, key, value, ttl)
        except OSError as exc:
            raise CacheError(f"disk cache write failed: {exc}") from exc

    async def ping(self) -> None:
        if not os.access(self._dir, os.W_OK):
            raise CacheError(f"disk cache directory {self._dir} is not writable")

    async def aclose(self) -> None:
        return None
