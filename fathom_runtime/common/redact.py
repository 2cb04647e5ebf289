"""Credentials inside URLs (`scheme://user:password@host`, as SearXNG, Redis, PostgreSQL and model URLs may carry)
never reach a log line or a stored error. Pure."""

from __future__ import annotations

import re
from typing import Any

# userinfo of an authority: everything between "//" and the last "@" before the host, without "/" or whitespace.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")


def mask_urls(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***`."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)


def mask_value(value: Any) -> Any:
    """A settings value for the start-up log: strings (and strings in lists) with URL credentials masked."""
    if isinstance(value, str):
        return mask_urls(value)
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
