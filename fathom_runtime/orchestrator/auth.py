"""API keys for the research API. The key file (a Secret's key, mounted) holds one line per key,
`<name> <scope> sha256:<hex digest of the token>`; scope is `user` (sees only the runs it created) or `admin`
(sees every run). Tokens themselves are never stored, logged or written to records: a request's token is hashed
and looked up. Without a key file the API is open and every caller acts as admin."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

SCOPES = ("user", "admin")
TOKEN_PREFIX = "fathom_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
RELOAD_SECONDS = 10.0  # a rotated Secret reaches the mounted file within the kubelet's sync period anyway


class KeyFileError(ValueError):
    """The key file cannot be used; the message names the line."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: `name` None means the API is open (no keys configured)."""

    name: str | None
    admin: bool

    def may_see(self, owner: str | None) -> bool:
        return self.admin or owner == self.name


OPEN = Principal(name=None, admin=True)


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


NAME_RULE = "1-64 letters, digits or _.@- characters, starting with a letter or digit"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(token.encode()).hexdigest()


def key_line(name: str, scope: str, token: str) -> str:
    return f"{name} {scope} sha256:{digest(token)}"


def parse_keys(text: str) -> dict[str, Principal]:
    """{hex digest: principal}. Blank lines and `#` comments are skipped. Pure."""
    keys: dict[str, Principal] = {}
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        where = f"line {number}"
        if len(fields) != 3:
            raise KeyFileError(f"{where}: expected '<name> <user|admin> sha256:<64 hex digits>'")
        name, scope, hashed = fields
        if not valid_name(name):
            raise KeyFileError(f"{where}: key name {name!r} must be {NAME_RULE}")
        if scope not in SCOPES:
            raise KeyFileError(f"{where}: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        match = _DIGEST.fullmatch(hashed)
        if match is None:
            raise KeyFileError(f"{where}: the key must be written as sha256:<64 lower-case hex digits>")
        if name in names:
            raise KeyFileError(f"{where}: key name {name!r} appears twice")
        names.add(name)
        keys[match.group(1)] = Principal(name=name, admin=scope == "admin")
    if not keys:
        raise KeyFileError("the key file has no keys (to run the API open, configure no key file)")
    return keys


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class KeyRing:
    """The key file, read at start (an unusable file stops the orchestrator) and re-read when it changes (a bad
    rewrite keeps the previous keys)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._keys: dict[str, Principal] = {}
        self._mtime = 0.0
        self._checked = 0.0
        if path is not None:
            self._load()

    @property
    def open(self) -> bool:
        return self.path is None

    def _load(self) -> None:
        assert self.path is not None
        try:
            stat = os.stat(self.path)
            text = self.path.read_text()
        except OSError as exc:
            raise KeyFileError(f"cannot read the API key file {self.path}: {exc.strerror}") from None
        self._keys, self._mtime = parse_keys(text), stat.st_mtime

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self.path is None or now - self._checked < RELOAD_SECONDS:
            return
        self._checked = now
        try:
            if os.stat(self.path).st_mtime != self._mtime:
                self._load()
        except (OSError, KeyFileError):
            pass  # keep serving with the keys we have; the start-up check reports a broken file

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal for an Authorization header, or None when it carries no valid key."""
        if self.path is None:
            return OPEN
        self._maybe_reload()
        token = bearer_token(authorization)
        if token is None:
            return None
        # Looked up by digest: timing can at most reveal a digest prefix, which says nothing about any token.
        return self._keys.get(digest(token))


class Unauthorized(Exception):
    """No valid API key on a request that needs one."""


def principal(request: Request) -> Principal:
    """FastAPI dependency: who the request acts for; Unauthorized (a JSON 401) without a valid key."""
    keys: KeyRing = request.app.state.keys
    found = keys.authenticate(request.headers.get("authorization"))
    if found is None:
        raise Unauthorized()
    return found


Caller = Annotated[Principal, Depends(principal)]
