"""The Fathom-Search agent loop (docs/protocol.md): raw ChatML prompts, <tool_call> rounds executed concurrently,
<tool_response> blocks in call order, \\boxed{} answers, a context budget tracked from server-reported usage.

I/O comes in through the model client and the tool pool; progress goes out through `emit`."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from fathom_runtime.llm.client import ModelClient, Sampling
from fathom_runtime.orchestrator.agent.toolpool import ToolOutcome, ToolPool
from fathom_runtime.protocol import chatml
from fathom_runtime.protocol.answers import extract_boxed
from fathom_runtime.protocol.grammar import build_action_grammar
from fathom_runtime.protocol.toolcalls import ToolCallError, parse_tool_calls
from fathom_runtime.protocol.tools import render_tool_list

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
# Tool responses are counted before the server has seen them; 3 characters per token errs on the safe side.
CHARS_PER_TOKEN = 3
RESERVED_TOKENS = 100  # the reference leaves this much headroom
MIN_NEW_TOKENS = 256


ACTION_TOKENS = 512  # enough for three tool calls or an answer sentence
ACTION_GRAMMAR = build_action_grammar()
FIRST_ACTION_GRAMMAR = build_action_grammar(allow_answer=False)


@dataclass(frozen=True)
class Limits:
    max_turns: int = 64
    max_context_tokens: int = 40960
    temperature: float = 0.6
    repetition_penalty: float = 1.05
    max_turn_tokens: int | None = None  # new tokens per turn; None: whatever the context has left
    constrained_actions: bool = False


@dataclass(frozen=True)
class Turn:
    text: str
    prompt_tokens: int  # every prompt token the server processed this turn (usage)
    completion_tokens: int
    context_tokens: int  # the context after the turn


async def generate_turn(
    model: ModelClient, prompt: str, sampling: Sampling, *, constrained: bool, first: bool = False
) -> Turn:
    """One assistant turn. Constrained: free text until `</think>`, then the action under the action grammar, so
    the turn is either well-formed tool calls or (after the first turn) a boxed answer; the prompt bytes stay the
    protocol's."""
    if not constrained:
        done = await model.complete(prompt, sampling)
        tokens = done.prompt_tokens + done.completion_tokens
        return Turn(done.text, done.prompt_tokens, done.completion_tokens, tokens)
    thought = await model.complete(prompt, replace(sampling, stop=(chatml.THINK_CLOSE,)))
    # Servers differ on returning the stop string; whether the model closed its thinking or ran out of tokens, the
    # action comes after a closing tag.
    head = thought.text.split(chatml.THINK_CLOSE, 1)[0] + chatml.THINK_CLOSE + "\n"
    action_sampling = replace(
        sampling,
        grammar=FIRST_ACTION_GRAMMAR if first else ACTION_GRAMMAR,
        max_new_tokens=min(ACTION_TOKENS, sampling.max_new_tokens),
    )
    action = await model.complete(prompt + head, action_sampling)
    return Turn(
        head + action.text,
        thought.prompt_tokens + action.prompt_tokens,
        thought.completion_tokens + action.completion_tokens,
        action.prompt_tokens + action.completion_tokens,
    )


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def add(self, prompt: int, completion: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.calls += 1


@dataclass
class AgentState:
    """Everything a run has produced so far; kept up to date so a cancelled or failed run keeps its partial work."""

    trace: str = ""
    turns: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    raw_calls: list[str] = field(default_factory=list)  # every call body the model wrote, malformed ones included
    urls_seen: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    final_text: str = ""
    answer: str | None = None
    stop_reason: str = ""


def search_system_prompt(template: str) -> str:
    """The template with the tool list between its ```json fences (`{tools}`; literal braces are doubled)."""
    return template.format(tools=render_tool_list())


def _record(turn: int, outcome: ToolOutcome) -> dict[str, Any]:
    return {
        "turn": turn,
        "name": outcome.name,
        "arguments": outcome.arguments,
        "ok": outcome.ok,
        "seconds": round(outcome.seconds, 3),
        "source": outcome.source,
        "result": outcome.text,
    }


async def run_search_agent(
    question: str,
    *,
    model: ModelClient,
    tools: ToolPool,
    system_prompt: str,
    limits: Limits,
    state: AgentState,
    emit: Emit,
) -> AgentState:
    """Runs until the model answers without calling tools, the turn limit, or the context budget. Raises
    ModelError when the model server fails for good; the state keeps everything done until then."""
    state.trace = chatml.first_prompt(system_prompt, question)
    context_tokens = math.ceil(len(state.trace) / CHARS_PER_TOKEN)
    for turn in range(1, limits.max_turns + 1):
        budget = limits.max_context_tokens - context_tokens - RESERVED_TOKENS
        if budget < MIN_NEW_TOKENS:
            state.stop_reason = f"context budget exhausted ({context_tokens} of {limits.max_context_tokens} tokens)"
            break
        sampling = Sampling(
            max_new_tokens=min(budget, limits.max_turn_tokens or budget),
            temperature=limits.temperature,
            repetition_penalty=limits.repetition_penalty,
        )
        started = time.perf_counter()
        completion = await generate_turn(
            model, state.trace, sampling, constrained=limits.constrained_actions, first=turn == 1
        )
        seconds = time.perf_counter() - started
        state.usage.add(completion.prompt_tokens, completion.completion_tokens)
        state.turns = turn
        state.trace += chatml.close_assistant_turn(completion.text)
        state.final_text = completion.text
        context_tokens = completion.context_tokens
        thinking = completion.text.split(chatml.THINK_CLOSE, 1)[0] if chatml.THINK_CLOSE in completion.text else ""
        await emit(
            "turn",
            {
                "turn": turn,
                "thinking": thinking,
                "text": completion.text,
                "seconds": round(seconds, 4),
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
            },
        )
        round_ = parse_tool_calls(completion.text)
        if not round_.has_calls:
            state.stop_reason = "answered" if extract_boxed(completion.text) else "stopped without calling tools"
            break
        state.raw_calls.extend(
            call.raw.strip() for call in round_.calls if not (isinstance(call, ToolCallError) and call.whole_round)
        )
        for call in round_.calls:
            await emit(
                "tool_call",
                {
                    "turn": turn,
                    "raw": call.raw[:2000],
                    "name": getattr(call, "name", ""),
                    "arguments": getattr(call, "arguments", {}),
                },
            )
        outcomes = await tools.run_round(round_.calls)
        for outcome in outcomes:
            state.tool_calls.append(_record(turn, outcome))
            state.urls_seen.extend(u for u in outcome.urls if u not in state.urls_seen)
            await emit(
                "tool_result",
                {
                    "turn": turn,
                    "name": outcome.name,
                    "ok": outcome.ok,
                    "seconds": round(outcome.seconds, 3),
                    "summary": outcome.text[:300],
                },
            )
        appended = chatml.tool_responses_turn([(o.raw, o.observation) for o in outcomes])
        state.trace += appended
        context_tokens += math.ceil(len(appended) / CHARS_PER_TOKEN)
    else:
        state.stop_reason = f"reached the limit of {limits.max_turns} turns"
    state.answer = extract_boxed(state.final_text)
    return state
