"""What every fetcher returns and promises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    text: str
    source: str  # the fetcher that produced it
    truncated: bool = False


class Fetcher(Protocol):
    name: str
    timeout: float

    async def fetch(self, url: str) -> Page:
        """The page's readable text. Raises FetchError (or EgressRefused) when this fetcher cannot help."""
        ...
