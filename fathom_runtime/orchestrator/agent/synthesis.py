"""Plan-then-write synthesis (docs/protocol.md): the trace as readable text plus the recorded tool calls go to the
synthesizer; its output splits on the last </think> into the plan and the report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from fathom_runtime.llm.client import ModelClient, Sampling
from fathom_runtime.protocol import chatml, transcript
from fathom_runtime.protocol.grammar import build_citation_grammar

CHARS_PER_TOKEN = 3
_THINK_OPEN = re.compile(r"<think\s*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Synthesis:
    plan: str
    report: str
    prompt_tokens: int
    completion_tokens: int


def _clip_middle(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    half = budget // 2
    return f"{text[:half]}\n\n[... {len(text) - budget} characters of the trace omitted ...]\n\n{text[-half:]}"


def build_user_prompt(question: str, trace: str, raw_calls: Sequence[str], *, budget_chars: int) -> str:
    """The reference's user message, with the readable trace shortened in the middle if it would not fit."""
    fixed = len(transcript.build_synthesis_user_message(question, "", raw_calls))
    readable = _clip_middle(transcript.readable_trace(trace), max(2000, budget_chars - fixed))
    return transcript.build_synthesis_user_message(question, readable, raw_calls)


def split_plan(text: str) -> tuple[str, str]:
    """(plan, report): split on the last `</think>`, matched loosely as the reference does (docs/protocol.md)."""
    closings = list(_THINK_CLOSE.finditer(text))
    if not closings:
        return "", text.strip()
    last = closings[-1]
    plan = _THINK_OPEN.sub("", text[: last.start()], count=1)
    return plan.strip(), text[last.end() :].strip()


async def synthesize(
    question: str,
    trace: str,
    raw_calls: Sequence[str],
    *,
    model: ModelClient,
    system_prompt: str,
    context_tokens: int,
    max_new_tokens: int,
    temperature: float,
    repetition_penalty: float,
    cite_only: Sequence[str] | None = None,
) -> Synthesis:
    """The plan and the report. With `cite_only` (constrained citations), the plan is written freely until
    `</think>` and the report under a grammar that lets it cite only those URLs."""
    budget_chars = (context_tokens - max_new_tokens - 1000) * CHARS_PER_TOKEN - len(system_prompt)
    prompt = chatml.synthesis_prompt(
        system_prompt, build_user_prompt(question, trace, raw_calls, budget_chars=budget_chars)
    )
    sampling = Sampling(max_new_tokens=max_new_tokens, temperature=temperature, repetition_penalty=repetition_penalty)
    grammar = build_citation_grammar(cite_only) if cite_only is not None else None
    if grammar is None:
        completion = await model.complete(prompt, sampling)
        plan, report = split_plan(completion.text)
        return Synthesis(plan, report, completion.prompt_tokens, completion.completion_tokens)
    # The plan gets at most half the budget, so a model that never closes its plan still writes a report.
    plan_sampling = replace(sampling, stop=(chatml.THINK_CLOSE,), max_new_tokens=max(128, max_new_tokens // 2))
    thought = await model.complete(prompt, plan_sampling)
    head = thought.text.split(chatml.THINK_CLOSE, 1)[0] + chatml.THINK_CLOSE
    remaining = max(256, max_new_tokens - thought.completion_tokens)
    written = await model.complete(prompt + head, replace(sampling, grammar=grammar, max_new_tokens=remaining))
    plan, report = split_plan(head + written.text)
    tokens = (thought.prompt_tokens + written.prompt_tokens, thought.completion_tokens + written.completion_tokens)
    return Synthesis(plan, report, *tokens)
