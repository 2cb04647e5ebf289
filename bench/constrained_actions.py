"""Share of well-formed first actions of a small CPU model, with and without protocol-constrained decoding.

Each question goes to the model as the search agent's exact first prompt; the turn is decoded plainly or in two
phases (free text until </think>, then the action grammar). An action is well-formed when every <tool_call> in it
parses and validates, or when it answers with \\boxed{}; anything else (no call, a call in the wrong shape, an answer
without a box) is malformed.

    .venv/bin/python images/fetch_model.py qwen2.5-coder-1.5b ~/.cache/fathom-stack/models
    .venv/bin/python -m bench.constrained_actions --gguf ~/.cache/fathom-stack/models/qwen2.5-coder-1.5b-*.gguf
    .venv/bin/python -m bench.constrained_actions --model-url http://127.0.0.1:30000   # a llama.cpp server already up
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from fathom_runtime.llm.client import ModelClient, Sampling
from fathom_runtime.orchestrator.agent.loop import generate_turn, search_system_prompt
from fathom_runtime.orchestrator.settings import OrchestratorSettings
from fathom_runtime.protocol import chatml
from fathom_runtime.protocol.answers import extract_boxed
from fathom_runtime.protocol.toolcalls import ToolCall, parse_tool_calls
from tests.support.operator import free_port

QUESTIONS = [
    "Which function of Python's asyncio module runs several awaitables concurrently and collects their results?",
    "What does the strict parameter of zip() do in Python 3.10 and later?",
    "Which module in the Python standard library provides a least-recently-used cache decorator?",
    "How do you read a file line by line in Python?",
    "What exception does dict.pop raise when the key is missing and no default is given?",
    "Which Python version added the match statement?",
    "What does the walrus operator := do?",
    "Which standard library module parses command-line arguments?",
    "What is the default protocol version used by pickle in Python 3.11?",
    "How do you create a temporary directory that is removed automatically?",
]


def classify(text: str) -> str:
    """well-formed-call, answer, or malformed. Pure."""
    calls = parse_tool_calls(text).calls
    if calls:
        return "well-formed-call" if all(isinstance(c, ToolCall) for c in calls) else "malformed"
    return "answer" if extract_boxed(text) else "malformed"


async def run(url: str, questions: list[str], turn_tokens: int) -> dict[str, object]:
    system = search_system_prompt(OrchestratorSettings().prompt("search"))
    results: dict[str, object] = {}
    async with httpx.AsyncClient(timeout=600) as http:
        model = ModelClient(http, url, api="completions", model="bench")
        for constrained in (False, True):
            outcomes: Counter[str] = Counter()
            started = time.perf_counter()
            for question in questions:
                sampling = Sampling(max_new_tokens=turn_tokens, temperature=0.6)
                prompt = chatml.first_prompt(system, question)
                turn = await generate_turn(model, prompt, sampling, constrained=constrained, first=True)
                outcomes[classify(turn.text)] += 1
            well_formed = outcomes["well-formed-call"] + outcomes["answer"]
            results["constrained" if constrained else "plain"] = {
                "questions": len(questions),
                "well_formed_share": round(well_formed / len(questions), 3),
                "outcomes": dict(outcomes),
                "seconds_per_turn": round((time.perf_counter() - started) / len(questions), 1),
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--gguf", type=Path, help="start llama.cpp's server on loopback with this model")
    source.add_argument("--model-url", help="an OpenAI-compatible llama.cpp server")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--turn-tokens", type=int, default=384)
    args = parser.parse_args()
    server = None
    url = args.model_url
    if args.gguf:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(args.gguf), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "8192", "--n_threads", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
    try:
        results = asyncio.run(run(url, QUESTIONS[: args.questions], args.turn_tokens))
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
