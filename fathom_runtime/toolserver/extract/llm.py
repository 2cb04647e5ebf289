"""Goal-conditioned extraction through any OpenAI-compatible chat endpoint (a served SGLang model or a hosted
API): the model is asked for exactly three sections, Rational / Evidence / Summary (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import httpx

PAGE_CLIP_CHARS = 15_000
ATTEMPTS = 3
EXTRACTOR_VERSION = "1"

SYSTEM_PROMPT = """You read one web page on behalf of a research agent and keep only what serves its goal.
Answer in exactly three sections, each starting on its own line with its label:
Rational: which parts of the page bear on the goal, and why.
Evidence: the supporting passages, quoted word for word, one bullet line each, starting with "- ".
Summary: a short, self-contained answer to the goal drawn only from the evidence; say plainly if the page
does not help.
Write nothing before "Rational:" and nothing after the summary."""

_LABEL = r"^[ \t]*\**[ \t]*(rational(?:e)?|evidence|summary)[ \t]*(?::[ \t]*\**|\**[ \t]*:)"
_SECTIONS = re.compile(
    _LABEL + r"[ \t]*(.*?)(?=" + _LABEL.replace("(rational", "(?:rational") + r"|\Z)", re.I | re.M | re.S
)


@dataclass(frozen=True)
class Extraction:
    rationale: str
    evidence: str
    summary: str


def parse_sections(text: str) -> Extraction | None:
    """The three sections of a model answer, or None when any is missing. Pure."""
    found: dict[str, str] = {}
    for label, body in _SECTIONS.findall(text.split("</think>")[-1]):
        key = "rationale" if label.lower().startswith("rational") else label.lower()
        found.setdefault(key, body.strip())
    if not all(found.get(k) for k in ("rationale", "evidence", "summary")):
        return None
    return Extraction(found["rationale"], found["evidence"], found["summary"])


def build_messages(url: str, goal: str, page: str) -> list[dict[str, str]]:
    user = f"Goal: {goal}\nURL: {url}\n\nPage content:\n{page[:PAGE_CLIP_CHARS]}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class LlmExtractor:
    def __init__(
        self, client: httpx.AsyncClient, base_url: str, model: str, api_key: str | None, *, timeout: float = 60.0
    ) -> None:
        self._client, self._url, self.model, self._timeout = client, base_url.rstrip("/"), model, timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def extract(self, url: str, goal: str, page: str) -> tuple[Extraction | None, list[str]]:
        """The sections, or None after ATTEMPTS tries; plus one line per failed attempt."""
        payload = {
            "model": self.model,
            "messages": build_messages(url, goal, page),
            "temperature": 0.2,
            "max_tokens": 2048,
        }
        problems = []
        for attempt in range(ATTEMPTS):
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._client.post(
                        f"{self._url}/chat/completions", json=payload, headers=self._headers
                    )
                response.raise_for_status()
                content = response.json()["choices"][0]["message"]["content"] or ""
            except (httpx.HTTPError, TimeoutError, ValueError, KeyError, IndexError, TypeError) as exc:
                problems.append(f"attempt {attempt + 1}: {type(exc).__name__}")
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            sections = parse_sections(content)
            if sections is not None:
                return sections, problems
            problems.append(f"attempt {attempt + 1}: answer lacked the three sections")
        return None, problems
