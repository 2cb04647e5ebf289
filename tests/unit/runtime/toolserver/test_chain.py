"""The fetch chain with fake fetchers and fixed DNS answers (nothing connects anywhere): order, fallbacks, and no
third-party reader for a host that is allowed but not public."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fathom_runtime.toolserver.fetch.base import Page
from fathom_runtime.toolserver.fetch.chain import FetchChain
from fathom_runtime.toolserver.fetch.http import FetchError
from fathom_runtime.toolserver.guard.resolve import StaticResolver
from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused

PUBLIC_HOST, INTERNAL_HOST = "news.example", "docs.research.svc"
ANSWERS = {PUBLIC_HOST: ["8.8.4.4"], INTERNAL_HOST: ["10.96.7.7"]}  # data only: no fetcher here opens a socket


@dataclass
class FakeFetcher:
    name: str
    fails: bool = False
    timeout: float = 5.0
    urls: list[str] = field(default_factory=list)

    async def fetch(self, url: str) -> Page:
        self.urls.append(url)
        if self.fails:
            raise FetchError(f"{self.name} could not")
        return Page(url, "title", f"text by {self.name}", self.name)


def _chain(*fetchers: FakeFetcher, allow: tuple[str, ...] = ()) -> FetchChain:
    policy = EgressPolicy.from_entries(allow)
    resolver = StaticResolver(ANSWERS, fallback=StaticResolver({}))
    return FetchChain({f.name: f for f in fetchers}, policy, resolver, max_outbound=4, max_per_host=2)


async def test_the_first_fetcher_that_succeeds_wins_in_the_domain_order() -> None:
    jina, browser, plain = FakeFetcher("jina", fails=True), FakeFetcher("browser"), FakeFetcher("plain")
    page = await _chain(jina, browser, plain).fetch(f"https://{PUBLIC_HOST}/a")
    assert page.source == "browser" and jina.urls and not plain.urls


async def test_an_allowed_internal_host_is_never_handed_to_a_third_party_reader() -> None:
    jina, plain = FakeFetcher("jina"), FakeFetcher("plain")
    page = await _chain(jina, plain, allow=(INTERNAL_HOST,)).fetch(f"http://{INTERNAL_HOST}:8000/page.html")
    assert page.source == "plain" and jina.urls == []


async def test_a_refused_host_reaches_no_fetcher() -> None:
    plain = FakeFetcher("plain")
    with pytest.raises(EgressRefused, match="not a public address"):
        await _chain(plain).fetch(f"http://{INTERNAL_HOST}/")
    assert plain.urls == []


async def test_every_failure_is_listed_when_all_fetchers_fail() -> None:
    chain = _chain(
        FakeFetcher("jina", fails=True), FakeFetcher("browser", fails=True), FakeFetcher("plain", fails=True)
    )
    with pytest.raises(FetchError, match="jina: jina could not; browser: browser could not; plain: plain could not"):
        await chain.fetch(f"https://{PUBLIC_HOST}/")
