"""Plan-then-write synthesis (protocol §4): the trace as readable text plus the recorded tool calls go to the
synthesizer; its output splits on the last </think> into the plan and the report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fathom_runtime.llm.client import ModelClient, Sampling
from fathom_runtime.protocol import chatml
from fathom_runtime.protocol.transcript import readable_trace

CHARS_PER_TOKEN = 3


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


def build_user_prompt(question: str, trace: str, tool_calls: list[dict[str, Any]], *, budget_chars: int) -> str:
    """QUESTION, TRACE and TOOL_CALLS, with the trace shortened in the middle if it would not fit."""
    calls = json.dumps([{k: c[k] for k in ("turn", "name", "arguments", "ok")} for c in tool_calls], indent=1)
    head = f"QUESTION:\n{question}\n\nTOOL_CALLS:\n{calls}\n\nTRACE:\n"
    return head + _clip_middle(readable_trace(trace), max(2000, budget_chars - len(head)))


def split_plan(text: str) -> tuple[str, str]:
    if chatml.THINK_CLOSE not in text:
        return "", text.strip()
    plan, report = text.rsplit(chatml.THINK_CLOSE, 1)
    return plan.replace(chatml.THINK_OPEN, "", 1).strip(), report.strip()


async def synthesize(
    question: str,
    trace: str,
    tool_calls: list[dict[str, Any]],
    *,
    model: ModelClient,
    system_prompt: str,
    context_tokens: int,
    max_new_tokens: int,
    temperature: float,
    repetition_penalty: float,
) -> Synthesis:
    budget_chars = (context_tokens - max_new_tokens - 1000) * CHARS_PER_TOKEN - len(system_prompt)
    prompt = chatml.system_and_user(
        system_prompt, build_user_prompt(question, trace, tool_calls, budget_chars=budget_chars)
    )
    sampling = Sampling(max_new_tokens=max_new_tokens, temperature=temperature, repetition_penalty=repetition_penalty)
    completion = await model.complete(prompt, sampling)
    plan, report = split_plan(completion.text)
    return Synthesis(plan, report, completion.prompt_tokens, completion.completion_tokens)
