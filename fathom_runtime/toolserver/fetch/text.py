"""Bytes to readable text: charset detection, HTML to Markdown-ish text (trafilatura, then a plain lxml fallback),
PDF text with page and character caps. Pure CPU work: callers run it off the event loop."""

from __future__ import annotations

import io
import re

import charset_normalizer
import lxml.html
import trafilatura

from fathom_runtime.toolserver.fetch import hidden

_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_BLANKS = re.compile(r"\n{3,}")


def decode(body: bytes, declared: str | None) -> str:
    """Declared charset, else the page's <meta charset>, else detection; never raises."""
    candidates = [declared] if declared else []
    sniffed = _META_CHARSET.search(body[:4096])
    if sniffed:
        candidates.append(sniffed.group(1).decode("ascii", "ignore"))
    for charset in candidates:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    best = charset_normalizer.from_bytes(body).best()
    return str(best) if best is not None else body.decode("utf-8", errors="replace")


def html_title(html: str) -> str:
    try:
        title = lxml.html.fromstring(html).findtext(".//title")
    except (ValueError, lxml.etree.ParserError):
        return ""
    return " ".join((title or "").split())


def _plain_text(html: str) -> str:
    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in root.xpath("//script|//style|//noscript|//nav|//footer|//header|//aside"):
        bad.drop_tree()
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(html: str, *, max_chars: int) -> str:
    """Main content as Markdown via trafilatura; the whole visible text when trafilatura finds nothing. Text hidden
    from readers is removed first (hidden.py)."""
    html = hidden.strip_hidden(html)
    text = (
        trafilatura.extract(html, output_format="markdown", include_links=False, include_tables=True, favor_recall=True)
        or ""
    )
    if len(text) < 200:
        fallback = _plain_text(html)
        text = fallback if len(fallback) > len(text) else text
    return _BLANKS.sub("\n\n", text).strip()[:max_chars]


def pdf_to_text(body: bytes, *, max_pages: int, max_chars: int) -> str:
    from pypdf import PdfReader  # heavy import, only when a PDF shows up
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(body))
        parts = []
        for page in reader.pages[:max_pages]:
            parts.append(page.extract_text() or "")
            if sum(map(len, parts)) >= max_chars:
                break
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable PDF: {exc}") from exc
    return _BLANKS.sub("\n\n", "\n\n".join(parts)).strip()[:max_chars]
