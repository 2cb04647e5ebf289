"""Bracketed URL citations in a report (`… claim. [https://example.com/page]`), checked against the URLs the
agent actually saw (docs/protocol.md; the reference does not check)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

CITATION = re.compile(r"\[(https?://[^\s\]]+)\]")
BARE_URL = re.compile(r"https?://[^\s<>\"'\])]+")
UNVERIFIED_MARK = " (unverified)"
Mode = Literal["mark", "strip", "leave"]


def normalise(url: str) -> str:
    """Comparison form: lower-case scheme and host, no fragment, no trailing slash or punctuation."""
    url = url.rstrip(".,;:)")
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def urls_in(text: str) -> list[str]:
    return [m.rstrip(".,;:") for m in BARE_URL.findall(text)]


@dataclass(frozen=True)
class CitationCheck:
    report: str
    verified: list[str]
    unverified: list[str]


def check_citations(report: str, seen: Iterable[str], mode: Mode = "mark") -> CitationCheck:
    """Split the report's citations into verified and unverified; mark, strip or leave the unverified ones."""
    known = {normalise(u) for u in seen}
    verified: list[str] = []
    unverified: list[str] = []
    for url in CITATION.findall(report):
        bucket = verified if normalise(url) in known else unverified
        if url not in bucket:
            bucket.append(url)

    def rewrite(match: re.Match[str]) -> str:
        url = match.group(1)
        if normalise(url) in known or mode == "leave":
            return match.group(0)
        return "" if mode == "strip" else f"[{url}]{UNVERIFIED_MARK}"

    return CitationCheck(CITATION.sub(rewrite, report), verified, unverified)
