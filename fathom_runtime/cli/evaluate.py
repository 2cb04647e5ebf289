"""`fathom eval`: a benchmark JSONL ({id, question, answer}) through the search agent, like the reference harness:
the boxed answer (else the last 200 characters), a judge verdict per row (judge.py), one result row per example,
resume by id, many workers. Accuracy is correct / rows completed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import httpx

from fathom_runtime.cli import judge, research
from fathom_runtime.protocol.answers import fallback_answer


def done_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


async def evaluate(
    args: argparse.Namespace, rows: list[dict[str, Any]], out_path: Path, err: TextIO
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    gate = asyncio.Semaphore(args.workers)
    lock = asyncio.Lock()
    orchestrator_auth = research.auth_headers(args.api_key_env)
    async with httpx.AsyncClient(base_url=args.url, timeout=None) as client:
        llm = (
            judge.LlmJudge(client, args.judge_url, args.judge_model, os.environ.get(args.judge_key_env))
            if args.judge == "llm"
            else None
        )

        async def one(row: dict[str, Any]) -> None:
            async with gate:
                # Per request, not on the client: the judge shares the client and must never see this key.
                response = await client.post(
                    "/v1/research",
                    params={"wait": "true"},
                    json={"question": row["question"], "mode": "search"},
                    headers=orchestrator_auth,
                )
                record = response.json()
                final = record.get("answer")
                trace = record.get("trace") or ""
                prediction = final if final is not None else (fallback_answer(trace) if trace else None)
                problem = None
                if llm is not None:
                    judgement, problem = await llm.verdict(row["question"], str(row["answer"]), prediction)
                else:
                    judgement = judge.containment_verdict(str(row["answer"]), prediction)
                result = {
                    "id": row["id"],
                    "question": row["question"],
                    "gold": row["answer"],
                    "prediction": prediction,
                    "boxed": final is not None,
                    "judgement": judgement,
                    "judge_error": problem,
                    "status": record.get("status", f"http {response.status_code}"),
                    "turns": record.get("turns"),
                    "research_id": record.get("id"),
                }
                async with lock:
                    with out_path.open("a", encoding="utf-8") as out:
                        out.write(json.dumps(result) + "\n")
                    results.append(result)
                    err.write(f"[{len(results)}/{len(rows)}] {row['id']}: {judgement}\n")

        await asyncio.gather(*(one(row) for row in rows))
    return results


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    dataset = Path(args.dataset)
    if args.judge == "llm" and not args.judge_url:
        err.write(
            "fathom eval: the default judge is an LLM, as in the paper: give --judge-url (an OpenAI-compatible base "
            "URL ending in /v1) with its key in $OPENAI_API_KEY, or --judge contains (a containment match, not "
            "comparable with the paper's numbers)\n"
        )
        return 2
    if not dataset.exists():
        err.write(f"fathom eval: no such dataset {dataset}\n")
        return 2
    out_path = Path(args.out) if args.out else dataset.with_suffix(".results.jsonl")
    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: args.limit] if args.limit else rows
    finished = done_ids(out_path)
    todo = [row for row in rows if row["id"] not in finished]
    err.write(f"{len(rows)} rows, {len(finished & {r['id'] for r in rows})} already done, {len(todo)} to run\n")
    try:
        asyncio.run(evaluate(args, todo, out_path, err))
    except httpx.TransportError as exc:
        err.write(f"fathom eval: cannot reach the orchestrator at {args.url}: {type(exc).__name__}\n")
        return 2
    wanted = {row["id"] for row in rows}
    judged = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    judged = [r for r in judged if r["id"] in wanted]
    correct = sum(r["judgement"] == "correct" for r in judged)
    accuracy = correct / len(judged) if judged else 0.0
    out.write(
        json.dumps(
            {
                "dataset": dataset.name,
                "examples": len(judged),
                "correct": correct,
                "accuracy": round(accuracy, 4),
                "judge": f"llm:{args.judge_model}" if args.judge == "llm" else "contains",
                "comparable_with_paper": args.judge == "llm",
                "results": str(out_path),
            }
        )
        + "\n"
    )
    return 0
