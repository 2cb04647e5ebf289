"""The JSON error body every runtime API uses: {"error": {"type", "message", ...}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


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

    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]  # Starlette's handler type is loose
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
