"""Tool results in the exact text shapes the Fathom models were trained on (docs/protocol.md). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from fathom_runtime.toolserver.search.base import Hit

HIT_SEPARATOR = "\n---\n\n"


def format_hits(query: str, hits: Sequence[Hit]) -> str:
    if not hits:
        return f"No results found for '{query}'. Try a different query."
    blocks = [
        f"### {i}. {hit.title}\n**URL**: {hit.url}\n\n**Snippet**: {hit.snippet}\n" for i, hit in enumerate(hits, 1)
    ]
    return HIT_SEPARATOR.join(blocks)


def format_extraction(url: str, goal: str, rationale: str, evidence: str, summary: str) -> str:
    return (
        f"The useful information in {url} for goal “{goal}”:\n\n"
        f"Rationale:\n{rationale.strip()}\n\nEvidence:\n{evidence.strip()}\n\nSummary:\n{summary.strip()}\n"
    )


def format_page(url: str, title: str, text: str, *, truncated: bool) -> str:
    head = f"# {title}\n\n" if title else ""
    tail = "\n\n[page truncated]" if truncated else ""
    return f"Content of {url}:\n\n{head}{text}{tail}"
