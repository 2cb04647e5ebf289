"""Both models get byte for byte what the protocol prescribes: a three-round search run (two parallel calls, a
page read beside a malformed call, a boxed answer) and the synthesizer prompt for its trace, compared with the
hand-written goldens in tests/fixtures/protocol/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from fathom_runtime.orchestrator.agent.loop import search_system_prompt
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from tests.integration.orchestrator.conftest import Factory, FakeTools

GOLDEN = Path(__file__).parents[2] / "fixtures" / "protocol"
QUESTION = "Which year was the Eiffel Tower completed, and how tall is it?"
ROUNDS = [
    "I need the completion year and the height.</think>\n"
    '<tool_call>\n{"name": "search_urls", "arguments": {"query": "Eiffel Tower completed year"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "search_urls", "arguments": {"query": "Eiffel Tower height", "top_k": 2}}\n</tool_call>',
    "The first result names the year; I will read it.</think>\n"
    '<tool_call>\n{"name": "query_url", "arguments": {"url": "https://tower.example/history", '
    '"goal": "completion year"}}\n</tool_call>\n'
    '<tool_call>{"name": "query_url", "arguments": {"url": }}</tool_call>',
    "The history page confirms the year.</think> The Eiffel Tower was completed in \\[ \\boxed{1889} \\].",
]
# Tool texts end in a newline, as the tool server's do; the observation strips it.
TOOL_TEXTS = {
    (
        "search_urls",
        "Eiffel Tower completed year",
    ): "### 1. Eiffel Tower history\n**URL**: https://tower.example/history"
    "\n\n**Snippet**: Completed in 1889 for the World's Fair.\n",
    ("search_urls", "Eiffel Tower height"): "### 1. Eiffel Tower facts\n**URL**: https://tower.example/facts\n\n"
    "**Snippet**: The tower is 330 metres tall.\n\n---\n\n### 2. Paris landmarks\n**URL**: "
    "https://landmarks.example/paris\n\n**Snippet**: Heights of famous buildings.\n",
    ("query_url", "https://tower.example/history"): "The useful information in https://tower.example/history for "
    'goal “completion year”:\n\nRationale:\nThe page dates the tower.\n\nEvidence:\n- "The tower was completed on '
    '31 March 1889."\n\nSummary:\nCompleted in 1889.\n',
}


def _golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def _run(stack: Factory) -> tuple[httpx.Client, list[str], list[str], dict[str, Any]]:
    tools = FakeTools(texts=TOOL_TEXTS)
    client, search, _ = stack(ROUNDS, ["<think>plan</think># Executive Summary\n- 1889"], tools=tools)
    response = client.post("/v1/research", params={"wait": "true"}, json={"question": QUESTION, "mode": "deepresearch"})
    assert response.status_code == 200, response.text
    return client, search.prompts, client.synth.prompts, response.json()  # type: ignore[attr-defined]


def test_the_tool_list_is_the_single_line_python_literal() -> None:
    system = search_system_prompt(OrchestratorSettings().prompt("search"))
    fenced = system.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert fenced == _golden("tool_list.txt")


def test_search_prompts_match_the_golden_byte_for_byte(stack: Factory) -> None:
    _, prompts, _, record = _run(stack)
    system = OrchestratorSettings().prompt("search").format(tools=_golden("tool_list.txt"))
    expected = _golden("search_prompt_round3.txt").replace("{SEARCH_SYSTEM}", system)
    assert len(prompts) == 3
    assert prompts[2] == expected
    # Each earlier prompt is the prefix that ends where its round's assistant turn was opened.
    cut = expected.index("<think>", expected.index(QUESTION)) + len("<think>")
    assert prompts[0] == expected[:cut]
    assert prompts[1] == expected[: expected.index("<think>", expected.index("Paris landmarks")) + len("<think>")]
    assert (record["answer"], record["turns"], len(record["tool_calls"])) == ("1889", 3, 4)


def test_the_synthesizer_prompt_matches_the_golden_byte_for_byte(stack: Factory) -> None:
    _, _, synth_prompts, record = _run(stack)
    system = OrchestratorSettings().prompt("synthesis")
    assert synth_prompts == [_golden("synthesizer_prompt.txt").replace("{SYNTHESIS_SYSTEM}", system)]
    assert record["plan"] == "plan" and record["report"] == "# Executive Summary\n- 1889"
    for token in ("<think>", "</think>", "<tool_call>", "<tool_response>", "<|im_end|>"):
        assert token not in synth_prompts[0].split("<|im_start|>user\n", 1)[1].rsplit("<|im_end|>", 1)[0]
