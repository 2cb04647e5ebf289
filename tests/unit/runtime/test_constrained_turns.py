"""Protocol-constrained decoding: free text until </think>, then the action under the grammar; the prompt bytes the
model sees are the protocol's, and the grammar derives from the tool declarations."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fathom_runtime.llm.client import Completion, Sampling
from fathom_runtime.orchestrator.agent.loop import ACTION_GRAMMAR, generate_turn
from fathom_runtime.protocol.grammar import build_action_grammar, build_citation_grammar
from fathom_runtime.protocol.toolcalls import ToolCall, parse_tool_calls


@dataclass
class FakeModel:
    replies: list[str]
    calls: list[tuple[str, Sampling]] = field(default_factory=list)

    async def complete(self, prompt: str, sampling: Sampling) -> Completion:
        self.calls.append((prompt, sampling))
        return Completion(self.replies[len(self.calls) - 1], 100 + len(prompt), 10, "stop")


async def test_a_constrained_turn_thinks_freely_then_acts_under_the_grammar() -> None:
    model = FakeModel(["I should look it up.", '<tool_call>\n{"name": "search_urls", "arguments": {"query": "q"}}\n'
                                               "</tool_call>"])  # fmt: skip
    turn = await generate_turn(model, "PROMPT<think>", Sampling(max_new_tokens=2000), constrained=True)  # type: ignore[arg-type]
    (think_prompt, think), (act_prompt, act) = model.calls
    assert think_prompt == "PROMPT<think>" and think.stop == ("</think>",) and think.grammar is None
    assert act_prompt == "PROMPT<think>I should look it up.</think>\n"
    assert act.grammar == ACTION_GRAMMAR and act.max_new_tokens == 512
    assert turn.text.startswith("I should look it up.</think>\n<tool_call>")
    assert isinstance(parse_tool_calls(turn.text).calls[0], ToolCall)
    assert (turn.prompt_tokens, turn.completion_tokens) == (200 + len(think_prompt) + len(act_prompt), 20)


async def test_an_unconstrained_turn_is_one_plain_call() -> None:
    model = FakeModel(["thinking</think>\\boxed{4}"])
    turn = await generate_turn(model, "P", Sampling(max_new_tokens=50), constrained=False)  # type: ignore[arg-type]
    assert len(model.calls) == 1 and model.calls[0][1].grammar is None and turn.text == "thinking</think>\\boxed{4}"


def test_the_grammar_names_every_agent_tool_with_its_required_arguments() -> None:
    grammar = build_action_grammar()
    assert grammar.startswith("root ::= calls | answer\n")
    assert '\\"name\\": \\"search_urls\\", \\"arguments\\": {" "\\"query\\": " str' in grammar
    assert '"\\"url\\": " str ", \\"goal\\": " str' in grammar
    assert '"\\\\boxed{" [^{}\\n]{1,120} "}"' in grammar  # a bounded answer with its box


async def test_the_first_action_must_be_a_search() -> None:
    model = FakeModel(["thinking", '<tool_call>\n{"name": "search_urls", "arguments": {"query": "q"}}\n</tool_call>'])
    await generate_turn(model, "P", Sampling(max_new_tokens=100), constrained=True, first=True)  # type: ignore[arg-type]
    grammar = model.calls[1][1].grammar
    assert grammar is not None and grammar.startswith("root ::= calls\n") and "answer" not in grammar


def test_the_grammar_parses_in_llama_cpp() -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make smoke-deps)")
    for allow_answer in (True, False):
        assert llama_cpp.LlamaGrammar.from_string(build_action_grammar(allow_answer=allow_answer), verbose=False)
    citations = build_citation_grammar(["http://a.example/x", 'http://b.example/"q"'])
    assert citations is not None and llama_cpp.LlamaGrammar.from_string(citations, verbose=False)


async def test_a_constrained_report_is_planned_freely_then_cites_only_seen_urls() -> None:
    from fathom_runtime.orchestrator.agent.synthesis import synthesize

    seen = ["http://docs.example:8000/a.html", 'http://docs.example:8000/q?x="1"']
    model = FakeModel(["<think>S1: a", "# Executive Summary\n- A. [http://docs.example:8000/a.html]"])
    result = await synthesize(
        "Q?", "trace", [], model=model, system_prompt="SYS", context_tokens=8192, max_new_tokens=2048,  # type: ignore[arg-type]
        temperature=0.4, repetition_penalty=1.05, cite_only=seen,
    )  # fmt: skip
    (_, plan_sampling), (report_prompt, report_sampling) = model.calls
    assert (
        plan_sampling.stop == ("</think>",) and plan_sampling.grammar is None and plan_sampling.max_new_tokens == 1024
    )
    assert report_prompt.endswith("<|im_start|>assistant\n<think>S1: a</think>")
    assert report_sampling.grammar == build_citation_grammar(seen)
    assert '"[" ( "http://docs.example:8000/a.html" | "http://docs.example:8000/q?x=\\"1\\"" ) "]"' in (
        report_sampling.grammar or ""
    )
    assert (result.plan, result.report) == ("S1: a", "# Executive Summary\n- A. [http://docs.example:8000/a.html]")


def test_a_constrained_report_must_open_with_a_heading() -> None:
    grammar = build_citation_grammar(["http://a.example/x"]) or ""
    assert grammar.startswith('root ::= [ \\t\\n]* "#" ')  # never an empty report


def test_no_seen_urls_means_no_citation_grammar() -> None:
    assert build_citation_grammar([]) is None
