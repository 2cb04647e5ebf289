"""One client for raw-prompt text generation against SGLang `/generate` or any OpenAI-compatible
`/v1/completions` (SGLang, llama.cpp, vLLM). Token usage comes from the server's own response fields.

Errors are ModelError; connection errors and 5xx/429 are retried with jittered backoff, other 4xx are not."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx

from fathom_runtime.common import redact

logger = logging.getLogger(__name__)

Api = Literal["generate", "completions"]
RETRY_STATUSES = {429, 500, 502, 503, 504}


class ModelError(Exception):
    """A model call failed for good (after retries, or a request the server refuses)."""


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    temperature: float = 0.6
    repetition_penalty: float = 1.05
    stop: tuple[str, ...] = ()
    grammar: str | None = None  # GBNF the output must match (llama.cpp `grammar`, SGLang `ebnf`)


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = ""


# No token decodes to this many characters: a longer reply is a broken or hostile server, and is cut here rather
# than stored (a 30 MB reply once grew the database by 290 MB).
CHARS_PER_TOKEN_CAP = 32


def reply_cap(sampling: Sampling) -> int:
    return sampling.max_new_tokens * CHARS_PER_TOKEN_CAP + 1024


class ModelClient:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        api: Api = "generate",
        model: str = "",
        timeout: float = 600.0,
        attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self._client, self._base, self.api, self.model = client, base_url.rstrip("/"), api, model
        self._timeout, self._attempts, self._backoff = timeout, attempts, backoff

    def _request(self, prompt: str, sampling: Sampling, stream: bool) -> tuple[str, dict[str, Any]]:
        if self.api == "generate":
            params: dict[str, Any] = {
                "max_new_tokens": sampling.max_new_tokens,
                "temperature": sampling.temperature,
                "repetition_penalty": sampling.repetition_penalty,
            }
            if sampling.stop:
                params["stop"] = list(sampling.stop)
            if sampling.grammar:
                params["ebnf"] = sampling.grammar
            return "/generate", {"text": prompt, "sampling_params": params, "stream": stream}
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": sampling.max_new_tokens,
            "temperature": sampling.temperature,
            # SGLang and vLLM read repetition_penalty; llama.cpp calls the same knob repeat_penalty.
            "repetition_penalty": sampling.repetition_penalty,
            "repeat_penalty": sampling.repetition_penalty,
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.grammar:
            body["grammar"] = sampling.grammar
        return "/v1/completions", body

    def _parse(self, data: dict[str, Any]) -> Completion:
        if self.api == "generate":
            meta = data.get("meta_info") or {}
            finish = meta.get("finish_reason")
            reason = finish.get("type", "") if isinstance(finish, dict) else str(finish or "")
            return Completion(str(data["text"]), int(meta.get("prompt_tokens", 0)),
                              int(meta.get("completion_tokens", 0)), reason)  # fmt: skip
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return Completion(str(choice.get("text", "")), int(usage.get("prompt_tokens", 0)),
                          int(usage.get("completion_tokens", 0)), str(choice.get("finish_reason") or ""))  # fmt: skip

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        last = ""
        for attempt in range(self._attempts):
            try:
                response = await self._client.post(self._base + path, json=body, timeout=self._timeout)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise ModelError(f"model server refused the request: HTTP {response.status_code} "
                                     f"{response.text[:300]}")  # fmt: skip
                last = f"HTTP {response.status_code}"
            if attempt < self._attempts - 1:
                await asyncio.sleep(self._backoff * 2**attempt * (0.5 + random.random()))
        where = redact.mask_urls(self._base)  # the message reaches the run's record
        raise ModelError(f"model server at {where} failed after {self._attempts} attempts: {last}")

    async def complete(self, prompt: str, sampling: Sampling) -> Completion:
        path, body = self._request(prompt, sampling, stream=False)
        response = await self._post(path, body)
        try:
            completion = self._parse(response.json())
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"unexpected response from the model server: {response.text[:300]}") from exc
        cap = reply_cap(sampling)
        if len(completion.text) > cap:
            return replace(completion, text=completion.text[:cap], finish_reason="length")
        return completion

    async def stream(self, prompt: str, sampling: Sampling) -> AsyncIterator[str | Completion]:
        """Text deltas as they arrive, then the final Completion (with the server's usage)."""
        path, body = self._request(prompt, sampling, stream=True)
        text, usage = "", {"prompt_tokens": 0, "completion_tokens": 0}
        finish, cap = "", reply_cap(sampling)
        try:
            async with self._client.stream("POST", self._base + path, json=body, timeout=self._timeout) as response:
                if response.status_code >= 400:
                    raise ModelError(f"model server refused the stream: HTTP {response.status_code}")
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    chunk = json.loads(payload)
                    if self.api == "generate":  # SGLang streams the cumulative text
                        delta = chunk["text"][len(text) :]
                        meta = chunk.get("meta_info") or {}
                        usage = {k: int(meta.get(k, usage[k])) for k in usage}
                    else:
                        choices = chunk.get("choices") or [{}]
                        delta = choices[0].get("text") or ""
                        finish = choices[0].get("finish_reason") or finish
                        if chunk.get("usage"):
                            usage = {k: int(chunk["usage"].get(k, 0)) for k in usage}
                    if len(text) + len(delta) > cap:
                        delta, finish = delta[: cap - len(text)], "length"
                    text += delta
                    if delta:
                        yield delta
                    if finish == "length" and len(text) >= cap:
                        break
        except httpx.TransportError as exc:
            raise ModelError(f"model stream broke: {type(exc).__name__}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError("unexpected chunk in the model stream") from exc
        yield Completion(text, usage["prompt_tokens"], usage["completion_tokens"], finish)
