"""An offline corpus searched with SQLite FTS5 (BM25 ranking): a directory of HTML/Markdown/text files served
under a base URL, or a JSONL file of {url, title, text}. For air-gapped clusters and tests."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import lxml.html

from fathom_runtime.toolserver.search.base import Hit, SearchError

SUFFIXES = {".html", ".htm", ".md", ".markdown", ".txt", ".rst"}
_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """A safe FTS5 query: every word quoted, OR-ed (BM25 ranks documents matching more words higher). Pure."""
    words = _TOKEN.findall(text.lower())
    return " OR ".join(f'"{w}"' for w in words[:32])


def _html_document(raw: str) -> tuple[str, str]:
    try:
        root = lxml.html.fromstring(raw)
    except (ValueError, lxml.etree.ParserError):
        return "", ""
    title = " ".join((root.findtext(".//title") or "").split())
    for bad in root.xpath("//script|//style|//nav|//footer"):
        bad.drop_tree()
    return title, " ".join(root.text_content().split())


def iter_documents(corpus: Path, base_url: str | None) -> Iterator[tuple[str, str, str]]:
    """(url, title, text) for every document of the corpus."""
    if corpus.is_file():
        with corpus.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    yield str(row["url"]), str(row.get("title", "")), str(row.get("text", ""))
        return
    if not base_url:
        raise SearchError("a corpus directory needs FATHOM_LOCAL_CORPUS_BASE_URL (where its files are served)")
    for path in sorted(corpus.rglob("*")):
        relative = path.relative_to(corpus)
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        if any(part.startswith(("_", ".")) for part in relative.parts):  # build output, sources, hidden files
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix.lower() in (".html", ".htm"):
            title, text = _html_document(raw)
        else:
            title, text = path.stem.replace("_", " "), raw
        if text:
            yield f"{base_url.rstrip('/')}/{relative.as_posix()}", title or path.stem, text


def corpus_signature(corpus: Path, base_url: str | None) -> str:
    """Changes when the corpus or its URLs change: path, base URL, newest mtime and file count."""
    files = [corpus] if corpus.is_file() else [p for p in corpus.rglob("*") if p.is_file()]
    newest = max((p.stat().st_mtime_ns for p in files), default=0)
    return f"{corpus.resolve()}|{base_url or ''}|{newest}|{len(files)}"


def build_index(corpus: Path, base_url: str | None, database: str = ":memory:") -> sqlite3.Connection:
    """The FTS5 index of the corpus; an index file built from the same corpus is reused as it is."""
    connection = sqlite3.connect(database, check_same_thread=False)
    signature = corpus_signature(corpus, base_url)
    connection.execute("CREATE TABLE IF NOT EXISTS meta (signature TEXT)")
    row = connection.execute("SELECT signature FROM meta").fetchone()
    if row is not None and row[0] == signature:
        return connection
    connection.execute("DELETE FROM meta")
    connection.execute("DROP TABLE IF EXISTS docs")
    connection.execute("CREATE VIRTUAL TABLE docs USING fts5(url UNINDEXED, title, body, tokenize='porter unicode61')")
    connection.executemany("INSERT INTO docs VALUES (?, ?, ?)", iter_documents(corpus, base_url))
    connection.execute("INSERT INTO meta VALUES (?)", (signature,))
    connection.commit()
    return connection


class LocalSearch:
    name = "local"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self.documents = int(connection.execute("SELECT count(*) FROM docs").fetchone()[0])

    @classmethod
    async def open(cls, corpus: str, base_url: str | None, database: str | None = None) -> LocalSearch:
        path = Path(corpus)
        if not path.exists():
            raise SearchError(f"local corpus {corpus} does not exist")
        connection = await asyncio.to_thread(build_index, path, base_url, database or ":memory:")
        return cls(connection)

    async def check_ready(self) -> None:
        if not self.documents:
            raise SearchError("the local corpus has no documents")

    async def search(self, query: str, top_k: int) -> list[Hit]:
        match = fts_query(query)
        if not match:
            return []
        rows = self._db.execute(
            "SELECT url, title, snippet(docs, 2, '', '', ' … ', 40) FROM docs WHERE docs MATCH ? "
            "ORDER BY bm25(docs, 0.0, 5.0, 1.0) LIMIT ?",
            (match, top_k),
        ).fetchall()
        return [Hit(title, url, " ".join(snippet.split())) for url, title, snippet in rows]
