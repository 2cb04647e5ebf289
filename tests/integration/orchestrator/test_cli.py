"""`fathom research` and `fathom eval` as a user runs them: real processes against a running orchestrator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.orchestrator.conftest import Factory
from tests.support.scripted_model import Reply, tool_call

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
    args = ["eval", str(dataset), "--url", str(client.base_url).rstrip("/"), "--out", str(out), "--limit", "3"]
    first = fathom(*args)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["examples"], summary["correct"], summary["accuracy"]) == (3, 2, 0.6667)
    assert [json.loads(line)["judgement"] for line in out.read_text().splitlines()].count("correct") == 2
    again = fathom(*args)
    assert "0 to run" in again.stderr and json.loads(again.stdout)["examples"] == 3
    assert len(out.read_text().splitlines()) == 3
