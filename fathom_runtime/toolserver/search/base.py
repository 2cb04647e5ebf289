"""The search seam."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Hit:
    title: str
    url: str
    snippet: str


class SearchError(Exception):
    """Search failed; the message says why in words the agent (and an operator) can act on."""


class SearchBackend(Protocol):
    name: str

    async def search(self, query: str, top_k: int) -> list[Hit]: ...

    async def check_ready(self) -> None:
        """Raise SearchError when the backend cannot serve (missing key, empty index)."""
        ...
