"""Real HTTP servers on loopback for tests: static files, scripted routes, and a count of TCP connections
(so a test can prove that a refused URL never reached the server)."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Route = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def body(self) -> bytes:
        return self._body

    def send(
        self,
        status: int,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, payload: Any) -> None:
        self.send(status, json.dumps(payload), "application/json")

    def _dispatch(self) -> None:
        # Always consume the request body: left unread it would corrupt the next request on a kept-alive connection.
        length = int(self.headers.get("content-length") or 0)
        self._body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        self.server.requests.append((self.command, self.path))
        route = self.server.routes.get((self.command, path)) or self.server.routes.get(("*", path))
        if route is not None:
            route(self)
            return
        if self.command == "GET" and self.server.root is not None:
            target = (self.server.root / path.lstrip("/")).resolve()
            if target.is_file() and self.server.root.resolve() in target.parents:
                kind = "text/html; charset=utf-8" if target.suffix in (".html", ".htm") else "text/plain"
                self.send(200, target.read_bytes(), kind)
                return
        self.send(404, "not found", "text/plain")

    do_GET = do_POST = _dispatch


class Site(ThreadingHTTPServer):
    """`Site(host)`, then `.route(method, path, fn)`; `.connections` counts accepted TCP connections."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", root: Path | None = None) -> None:
        super().__init__((host, 0), Handler)
        self.root = root
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[tuple[str, str]] = []
        self.connections = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (timeouts, byte caps) are part of the tests

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, fn: Route) -> Site:
        self.routes[(method, path)] = fn
        return self

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def html_page(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    head = f"<!doctype html><html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{body}</article></body></html>"


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: h.send(status, "", headers={"Location": location})


def slow_drip(seconds_per_byte: float = 1.0) -> Route:
    def route(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b"<")
                h.wfile.flush()
                time.sleep(seconds_per_byte)
        except OSError:
            pass

    return route


def huge_page(megabytes: int = 50) -> Route:
    def route(h: Handler) -> None:
        chunk = ("<p>" + "lorem ipsum dolor sit amet " * 36 + "</p>\n").encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(len(chunk) * (megabytes * 1024 * 1024 // len(chunk))))
        h.end_headers()
        try:
            for _ in range(megabytes * 1024 * 1024 // len(chunk)):
                h.wfile.write(chunk)
        except OSError:
            pass

    return route


def gzip_bomb(megabytes: int = 200) -> Route:
    payload = gzip.compress(b"\0" * (megabytes * 1024 * 1024), compresslevel=9)
    return lambda h: h.send(200, payload, "text/html", headers={"Content-Encoding": "gzip"})


def malformed() -> Route:
    def route(h: Handler) -> None:
        h.wfile.write(b"this is not HTTP at all\r\n\r\n")
        h.close_connection = True

    return route


def pdf_document(*lines: str) -> bytes:
    """A minimal one-page PDF whose text pypdf can extract (written by hand, no PDF library)."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class Chunks:
    """A request body streamed in chunks (no Content-Length), counting what was actually sent: a server that refuses
    an oversized body early stops the upload long before `total` bytes."""

    def __init__(self, total: int, size: int = 10_000) -> None:
        self.total, self.size, self.sent = total, size, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += self.size
            yield b" " * self.size
