"""The operator's exceptions, and how each becomes a Kopf retry decision.

OperatorError
 ├── SpecError        the spec cannot be acted on: no retry until it changes (kopf.PermanentError)
 └── KubeError        the API server refused or failed a request
      └── retryable   409 conflicts, 429 throttling, 5xx and connection errors (kopf.TemporaryError)
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of every error raised by the operator."""


class SpecError(OperatorError):
    """An invalid spec; the message names the field."""


class KubeError(OperatorError):
    """A failed Kubernetes API request."""

    def __init__(self, status: int, reason: str, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.api_message = message
        self.method, self.path = method, path

    @property
    def retryable(self) -> bool:
        return self.status in (0, 409, 429) or self.status >= 500

    @property
    def not_found(self) -> bool:
        return self.status == 404
