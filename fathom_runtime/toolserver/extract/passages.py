"""Rank a page's paragraphs against a goal with SQLite FTS5's BM25 (no model needed). Pure CPU."""

from __future__ import annotations

import re
import sqlite3

from fathom_runtime.toolserver.search.local import fts_query

_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")


def paragraphs(text: str, *, min_chars: int = 40, max_chars: int = 1200) -> list[str]:
    out = []
    for block in _PARAGRAPH_SPLIT.split(text):
        block = " ".join(block.split())
        if len(block) >= min_chars:
            out.append(block[:max_chars])
    return out


def rank_passages(text: str, goal: str, *, budget_chars: int = 3000) -> list[str]:
    """The paragraphs that best match `goal`, in page order, within `budget_chars`."""
    blocks = paragraphs(text)
    query = fts_query(goal)
    if not blocks or not query:
        return []
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE p USING fts5(body, tokenize='porter unicode61')")
        db.executemany("INSERT INTO p(rowid, body) VALUES (?, ?)", enumerate(blocks))
        ranked = [row[0] for row in db.execute("SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p)", (query,))]
    finally:
        db.close()
    chosen: list[int] = []
    used = 0
    for index in ranked:
        if used + len(blocks[index]) > budget_chars and chosen:
            break
        chosen.append(index)
        used += len(blocks[index])
    return [blocks[i] for i in sorted(chosen)]
