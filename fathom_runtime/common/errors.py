"""The JSON error body every runtime API uses: {"error": {"type", "message", ...}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """`code` is stable (clients branch on it); `type` repeats it for OpenAI-style clients."""
    return JSONResponse({"error": {"code": code, "type": code, "message": message, **extra}}, status_code=status)


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        out.append({"field": ".".join(loc) or "body", "message": str(error.get("msg", "invalid"))})
    return out


def install_error_handlers(app: FastAPI) -> None:
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc)
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return error_response(422, "invalid_request", message, fields=fields)

    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error: %s: %s", type(exc).__name__, exc, exc_info=exc)
        return error_response(500, "internal_error", "internal error; the server log has the details")

    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]  # Starlette's handler type is loose
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
