"""Judges for `fathom eval` (docs/protocol.md). The default follows the reference harness: an LLM at temperature 0 and
64 tokens, given the NFKD lower-cased question and gold answer, must reply with exactly one word, `correct`,
`incorrect` or `unknown`; anything else counts as `unknown`. Containment is a different metric, kept under its own
name: its numbers are not comparable with the paper's."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import httpx

VERDICTS = ("correct", "incorrect", "unknown")
LLM_JUDGE_SYSTEM = """You grade answers to questions against a known ground truth, impartially.
Reply with exactly one word: "correct", "incorrect" or "unknown".
- Ignore case and small differences of formatting.
- For multiple-choice questions, compare the option labels (A/B/C/D) where they apply.
- If the model's answer is empty, or you cannot decide, reply "unknown"."""
MAX_TOKENS = 64


def normalise(text: str) -> str:
    """What the reference does to the question, the gold answer and the boxed answer: strip, lower-case, NFKD."""
    return unicodedata.normalize("NFKD", text.strip().lower())


def build_judge_messages(question: str, gold: str, prediction: str) -> list[dict[str, str]]:
    user = (
        f"Question: {normalise(question)}\nGround Truth: {normalise(gold)}\nModel Answer: {prediction}\n\n"
        "Reply with one word only: correct, incorrect or unknown"
    )
    return [{"role": "system", "content": LLM_JUDGE_SYSTEM}, {"role": "user", "content": user}]


def parse_verdict(reply: str) -> str:
    verdict = reply.strip().lower()
    return verdict if verdict in VERDICTS else "unknown"


def _plain(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", ascii_text).split())


def containment_verdict(gold: str, prediction: str | None) -> str:
    """'correct' when the normalised gold answer appears in the normalised prediction. Not the paper's metric."""
    if not prediction or not _plain(gold):
        return "incorrect"
    return "correct" if _plain(gold) in _plain(prediction) else "incorrect"


@dataclass(frozen=True)
class LlmJudge:
    client: httpx.AsyncClient
    url: str
    model: str
    key: str | None

    @property
    def label(self) -> str:
        return f"llm:{self.model}"

    async def verdict(self, question: str, gold: str, prediction: str | None) -> tuple[str, str | None]:
        """(verdict, problem): an empty prediction is `unknown` without asking; a judge that cannot be reached or
        answers garbage gives `unknown` with the problem named (the reference hides it)."""
        if not prediction:
            return "unknown", None
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
            "messages": build_judge_messages(question, gold, normalise(prediction)),
        }
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        try:
            response = await self.client.post(f"{self.url.rstrip('/')}/chat/completions", json=body, headers=headers)
            response.raise_for_status()
            reply = response.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            return "unknown", f"judge failed: {type(exc).__name__}: {exc}"[:300]
        return parse_verdict(reply), None
