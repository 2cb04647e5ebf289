"""Request and response bodies of the tool server API beyond the tools themselves (whose argument and response
models are declared once in protocol/tools.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExecuteRequest(BaseModel):
    """The reference executor's request shape. `env` is accepted and ignored; `call` is parsed, never run."""

    model_config = ConfigDict(extra="ignore")
    env: Any = None
    call: str = Field(max_length=20_000)
    timeout: float | None = Field(default=None, gt=0, le=600)


class ExecuteResponse(BaseModel):
    """The reference executor's reply: a ReCall client prints every non-empty section, so `output` stays empty
    (docs/protocol.md)."""

    result: str | None
    output: str = ""
    error: str | None = None
