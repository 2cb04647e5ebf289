"""`fathom research` and `fathom eval` as a user runs them: real processes against a running orchestrator."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from tests.integration.orchestrator.conftest import Factory
from tests.support.scripted_model import Reply, tool_call
from tests.support.services import ServedApp

REPO = Path(__file__).resolve().parents[3]
SHARED_SAMPLE = REPO.parent / "shared" / "eval_datasets" / "simpleqa.jsonl"
SAMPLE = REPO / "tests" / "fixtures" / "simpleqa-sample.jsonl"  # the first rows of the file above


def fathom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fathom_runtime.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_research_shows_progress_and_writes_the_report(stack: Factory, tmp_path: Path) -> None:
    def search(prompt: str, index: int) -> str:
        return "\\boxed{Paris}" if "</tool_response>\n<|im_end|>" in prompt else tool_call("search_urls", query="q")

    client, _, _ = stack(search, [Reply("<think>plan</think># Report\nParis. [https://seen.example/0]")])
    url = str(client.base_url).rstrip("/")
    answer = fathom("research", "Capital of France?", "--url", url)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == "Paris\n"
    assert (
        "turn 1" in answer.stderr
        and "→ search_urls(query='q')" in answer.stderr
        and "← search_urls ok" in answer.stderr
    )
    report = tmp_path / "report.md"
    written = fathom("research", "Capital of France?", "--url", url, "--mode", "deepresearch", "-o", str(report))
    assert written.returncode == 0, written.stderr
    assert report.read_text() == "# Report\nParis. [https://seen.example/0]\n"


def test_research_failures_are_readable_and_non_zero(stack: Factory) -> None:
    client, _, _ = stack([Reply(status=400)])
    failed = fathom("research", "q?", "--url", str(client.base_url).rstrip("/"))
    assert failed.returncode == 1 and "run failed: model server refused the request: HTTP 400" in failed.stderr
    unreachable = fathom("research", "q?", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 2 and "cannot reach the orchestrator" in unreachable.stderr


def test_eval_judges_resumes_and_reports_accuracy(stack: Factory, tmp_path: Path) -> None:
    dataset = SHARED_SAMPLE if SHARED_SAMPLE.exists() else SAMPLE
    rows = [json.loads(line) for line in dataset.read_text().splitlines()[:3]]
    answers = {row["question"]: row["answer"] for row in rows[:2]}  # the third one is answered wrongly

    def script(prompt: str, index: int) -> str:
        question = prompt.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
        return f"\\boxed{{{answers.get(question, 'no idea')}}}"

    client, _, _ = stack(script)
    out = tmp_path / "results.jsonl"
    url = str(client.base_url).rstrip("/")
    args = ["eval", str(dataset), "--url", url, "--out", str(out), "--limit", "3", "--judge", "contains"]
    first = fathom(*args)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["examples"], summary["correct"], summary["accuracy"]) == (3, 2, 0.6667)
    assert (summary["judge"], summary["comparable_with_paper"]) == ("contains", False)
    assert [json.loads(line)["judgement"] for line in out.read_text().splitlines()].count("correct") == 2
    again = fathom(*args)
    assert "0 to run" in again.stderr and json.loads(again.stdout)["examples"] == 3
    assert len(out.read_text().splitlines()) == 3


class ScriptedJudge:
    """An OpenAI-compatible chat endpoint that grades like a judge LLM from a script and records every request."""

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies, self.requests = replies, []  # type: ignore[var-annotated]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.requests.append(body)
            answer = body["messages"][1]["content"].split("Model Answer: ", 1)[1]
            reply = next(text for key, text in self.replies.items() if key in answer)
            return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}

        return app


def test_the_default_judge_follows_the_reference(stack: Factory, tmp_path: Path) -> None:
    rows = [
        {"id": "a", "question": "  Which CAFÉ is oldest? ", "answer": "Le Procope"},
        {"id": "b", "question": "Capital of Peru?", "answer": "Lima"},
        {"id": "c", "question": "Tallest peak?", "answer": "Everest"},
        {"id": "d", "question": "Unanswerable?", "answer": "x"},
    ]
    dataset = tmp_path / "set.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in rows))
    boxed = {"  Which CAFÉ is oldest? ": "Le PROCOPE", "Capital of Peru?": "Cusco", "Tallest peak?": "K2"}

    def script(prompt: str, index: int) -> str:
        question = prompt.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
        return f"\\boxed{{{boxed[question]}}}" if question in boxed else "I do not know."

    client, _, _ = stack(script)
    # "Correct" is accepted whatever its case; "Incorrect." is not one word and counts as unknown.
    judge = ScriptedJudge({"le procope": " Correct\n", "cusco": "incorrect", "k2": "Incorrect.", "i do not know.": "?"})
    with ServedApp(judge.app()) as served:
        ran = fathom("eval", str(dataset), "--url", str(client.base_url).rstrip("/"), "--judge-url",
                     f"{served.url}/v1", "--out", str(tmp_path / "out.jsonl"), "--workers", "1")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert (summary["examples"], summary["correct"], summary["accuracy"]) == (4, 1, 0.25)
    assert (summary["judge"], summary["comparable_with_paper"]) == ("llm:gpt-4.1-mini", True)
    results = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    verdicts = {result["id"]: result["judgement"] for result in results}
    assert verdicts == {"a": "correct", "b": "incorrect", "c": "unknown", "d": "unknown"}
    first = next(r for r in judge.requests if "procope" in r["messages"][1]["content"])
    assert (first["temperature"], first["max_tokens"], first["model"]) == (0, 64, "gpt-4.1-mini")
    assert first["messages"][0]["role"] == "system" and '"unknown"' in first["messages"][0]["content"]
    user = first["messages"][1]["content"]
    assert user.startswith(
        "Question: which cafe\u0301 is oldest?\nGround Truth: le procope\nModel Answer: le procope\n"
    )


def test_the_llm_judge_needs_an_endpoint(tmp_path: Path) -> None:
    dataset = tmp_path / "set.jsonl"
    dataset.write_text('{"id": "a", "question": "q", "answer": "a"}\n')
    ran = fathom("eval", str(dataset), "--url", "http://127.0.0.1:9")
    assert ran.returncode == 2 and "--judge-url" in ran.stderr and "--judge contains" in ran.stderr


def test_prompts_import_reference_downloads_checks_and_writes(tmp_path: Path) -> None:
    fixture = REPO / "tests" / "fixtures" / "reference"
    paths = ("agents/inference/re_call.py", "prompts.py")
    digests = [f"--sha256={p}={hashlib.sha256((fixture / p).read_bytes()).hexdigest()}" for p in paths]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(fixture))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        ran = fathom("prompts", "import-reference", "--from", base, *digests, "--out", str(tmp_path / "p"))
        refused = fathom("prompts", "import-reference", "--from", base, "--out", str(tmp_path / "q"))
        server.shutdown()
    assert ran.returncode == 0, ran.stderr
    assert "FATHOM_SEARCH_PROMPT_FILE=" in ran.stderr
    assert "{tools}" in (tmp_path / "p" / "search_system.md").read_text()
    assert refused.returncode == 1 and "refusing it" in refused.stderr and not (tmp_path / "q").exists()
