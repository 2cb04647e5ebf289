"""Request and response bodies of the tool server API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchUrlsRequest(Strict):
    query: str = Field(min_length=1, max_length=2000, description="Search query.")
    top_k: int = Field(default=10, ge=1, le=50, description="Number of results.")


class QueryUrlRequest(Strict):
    url: str = Field(min_length=1, max_length=4096, description="Page to read.")
    goal: str = Field(min_length=1, max_length=2000, description="What the agent wants from the page.")


class WebSearchRequest(Strict):
    query: str = Field(min_length=1, max_length=2000)


class WebVisitRequest(Strict):
    url: str = Field(min_length=1, max_length=4096)


class ToolResponse(BaseModel):
    result: str = Field(description="Text exactly as the model sees it.")
    cached: bool = False
    source: str = Field(default="", description="Search backend or fetcher that produced the result.")
    method: str = Field(default="", description="query_url extraction method: llm, passages or truncated.")
    hits: list[dict[str, str]] = Field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0


class ExecuteRequest(BaseModel):
    """The reference executor's request shape. `env` is accepted and ignored; `call` is parsed, never run."""

    model_config = ConfigDict(extra="ignore")
    env: Any = None
    call: str = Field(max_length=20_000)
    timeout: float | None = Field(default=None, gt=0, le=600)


class ExecuteResponse(BaseModel):
    result: str | None
    output: str = ""
    error: str | None = None
