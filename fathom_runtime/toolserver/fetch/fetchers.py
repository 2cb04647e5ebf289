"""The fetchers of the chain. Each turns a URL into a Page or raises FetchError; model-chosen URLs are fetched
only through the GuardedClient, configured services (Jina, the GitHub API) through the trusted client."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from fathom_runtime.toolserver.fetch import text as textlib
from fathom_runtime.toolserver.fetch.base import Page
from fathom_runtime.toolserver.fetch.http import PDF_TYPE, TEXT_TYPES, FetchError, GuardedClient


async def _to_text(
    response_body: bytes,
    content_type: str,
    charset: str | None,
    *,
    max_chars: int,
    max_pdf_pages: int,
    max_pdf_chars: int,
) -> tuple[str, str]:
    """(title, text) of a fetched body, parsed off the event loop."""
    if content_type == PDF_TYPE or response_body[:5] == b"%PDF-":
        try:
            text = await asyncio.to_thread(
                textlib.pdf_to_text, response_body, max_pages=max_pdf_pages, max_chars=max_pdf_chars
            )
        except ValueError as exc:
            raise FetchError(str(exc)) from exc
        return "", text
    if b"\0" in response_body[:4096]:
        raise FetchError("the response is binary, not text")
    decoded = textlib.decode(response_body, charset)
    if content_type in ("text/plain", "text/markdown", "application/json") or not decoded.lstrip().startswith("<"):
        return "", decoded[:max_chars]
    title = await asyncio.to_thread(textlib.html_title, decoded)
    return title, await asyncio.to_thread(textlib.html_to_text, decoded, max_chars=max_chars)


class PlainFetcher:
    """Plain HTTP GET of the page itself (HTML, text or PDF), parsed here."""

    def __init__(
        self,
        client: GuardedClient,
        *,
        name: str = "plain",
        timeout: float = 20.0,
        max_bytes: int,
        max_chars: int,
        max_pdf_pages: int,
        max_pdf_chars: int,
        accept: tuple[str, ...] = TEXT_TYPES + (PDF_TYPE,),
    ) -> None:
        self.name, self.timeout = name, timeout
        self._client, self._max_bytes, self._accept = client, max_bytes, accept
        self._limits = {"max_chars": max_chars, "max_pdf_pages": max_pdf_pages, "max_pdf_chars": max_pdf_chars}

    async def fetch(self, url: str) -> Page:
        response = await self._client.get(url, max_bytes=self._max_bytes, timeout=self.timeout, accept=self._accept)
        title, text = await _to_text(response.body, response.content_type, response.charset, **self._limits)
        if not text.strip():
            raise FetchError(f"no readable text at {url}")
        return Page(response.url, title, text, self.name, response.truncated)


class JinaFetcher:
    """The Jina reader (it fetches and renders the page on its side and returns Markdown)."""

    name = "jina"

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str | None, *, timeout: float = 20.0, max_chars: int
    ) -> None:
        self.timeout = timeout
        self._client, self._base, self._key, self._max_chars = client, base_url.rstrip("/"), api_key, max_chars

    async def fetch(self, url: str) -> Page:
        headers = {"Accept": "text/plain", "X-Return-Format": "markdown"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._client.get(f"{self._base}/{url}", headers=headers)
        except httpx.HTTPError as exc:
            raise FetchError(f"jina reader unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise FetchError(f"jina reader answered HTTP {response.status_code}")
        text = response.text.strip()
        title = ""
        if text.startswith("Title:"):
            title = text.split("\n", 1)[0].removeprefix("Title:").strip()
        if len(text) < 50:
            raise FetchError("jina reader returned no content")
        return Page(url, title, text[: self._max_chars], self.name, len(text) > self._max_chars)


_GITHUB_BLOB = re.compile(r"^/([^/]+)/([^/]+)/(?:blob|raw)/([^/]+)/(.+)$")
_GITHUB_REPO = re.compile(r"^/([^/]+)/([^/]+?)(?:\.git)?/?$")


class GithubFetcher:
    """README of a repository, or a file, through the GitHub API (raw media type; optional token)."""

    name = "github"

    def __init__(
        self, client: httpx.AsyncClient, api_url: str, token: str | None, *, timeout: float = 10.0, max_chars: int
    ) -> None:
        self.timeout = timeout
        self._client, self._api, self._token, self._max_chars = client, api_url.rstrip("/"), token, max_chars

    def _api_path(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.hostname == "raw.githubusercontent.com":
            owner, repo, ref, path = (parts.path.lstrip("/").split("/", 3) + ["", "", "", ""])[:4]
            return f"/repos/{owner}/{repo}/contents/{path}?ref={quote(ref)}"
        if blob := _GITHUB_BLOB.match(parts.path):
            owner, repo, ref, path = blob.groups()
            return f"/repos/{owner}/{repo}/contents/{path}?ref={quote(ref)}"
        if repo_match := _GITHUB_REPO.match(parts.path):
            return f"/repos/{repo_match.group(1)}/{repo_match.group(2)}/readme"
        raise FetchError(f"no GitHub API route for {url}")

    async def fetch(self, url: str) -> Page:
        headers = {"Accept": "application/vnd.github.raw", "X-GitHub-Api-Version": "2022-11-28"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._client.get(self._api + self._api_path(url), headers=headers)
        except httpx.HTTPError as exc:
            raise FetchError(f"GitHub API unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise FetchError(f"GitHub API answered HTTP {response.status_code}")
        return Page(url, "", response.text[: self._max_chars], self.name, len(response.text) > self._max_chars)


def _reddit_text(listing: Any) -> tuple[str, str]:
    post = listing[0]["data"]["children"][0]["data"]
    lines = [f"# {post.get('title', '')}", f"by u/{post.get('author', '?')} in r/{post.get('subreddit', '?')}"]
    if post.get("selftext"):
        lines.append(post["selftext"])
    comments = listing[1]["data"]["children"] if len(listing) > 1 else []
    for comment in comments[:30]:
        data = comment.get("data", {})
        if comment.get("kind") == "t1" and data.get("body"):
            lines.append(f"- u/{data.get('author', '?')} ({data.get('score', 0)} points): {data['body']}")
    return str(post.get("title", "")), "\n\n".join(lines)


class RedditFetcher:
    """A Reddit thread through its public JSON (post and top comments); no credentials."""

    name = "reddit"

    def __init__(self, client: GuardedClient, *, timeout: float = 10.0, max_bytes: int, max_chars: int) -> None:
        self.timeout, self._client, self._max_bytes, self._max_chars = timeout, client, max_bytes, max_chars

    async def fetch(self, url: str) -> Page:
        parts = urlsplit(url)
        json_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}.json?limit=30"
        response = await self._client.get(
            json_url, max_bytes=self._max_bytes, timeout=self.timeout, accept=("application/json",)
        )
        try:
            title, text = _reddit_text(json.loads(response.body))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise FetchError(f"unexpected Reddit JSON at {json_url}") from exc
        return Page(url, title, text[: self._max_chars], self.name)


_YOUTUBE_ID = re.compile(r"(?:v=|youtu\.be/|/shorts/|/embed/)([A-Za-z0-9_-]{11})")


class YoutubeFetcher:
    """A video's transcript (needs the optional youtube-transcript-api package)."""

    name = "youtube"

    def __init__(self, *, timeout: float = 30.0, max_chars: int) -> None:
        self.timeout, self._max_chars = timeout, max_chars

    async def fetch(self, url: str) -> Page:
        match = _YOUTUBE_ID.search(url)
        if not match:
            raise FetchError(f"no video id in {url}")
        try:
            from youtube_transcript_api import YouTubeTranscriptApi
        except ImportError as exc:
            raise FetchError("YouTube transcripts need the youtube-transcript-api package") from exc
        try:
            async with asyncio.timeout(self.timeout):
                fetched = await asyncio.to_thread(YouTubeTranscriptApi().fetch, match.group(1))
        except TimeoutError:
            raise
        except Exception as exc:  # the package raises many unrelated types; all mean "no transcript"
            raise FetchError(f"no transcript for {url}: {type(exc).__name__}") from exc
        text = " ".join(snippet.text for snippet in fetched)
        return Page(url, "", text[: self._max_chars], self.name)
