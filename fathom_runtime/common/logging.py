"""JSON log lines with stable keys, for every runtime service."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from fathom_runtime.common import redact

EXTRA_KEYS = ("component", "research_id", "tool", "host", "url", "outcome", "seconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in EXTRA_KEYS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # The last line of defence: whatever a message or traceback quotes, URL credentials never get out.
        return redact.mask_urls(json.dumps(line, default=str))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
