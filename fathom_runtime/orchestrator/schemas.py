"""Request and response bodies of the research API (DESIGN.md: research request and record)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

INTERNAL_FIELDS = ("created_ts", "runner")
SUMMARY_FIELDS = ("id", "status", "question", "mode", "answer", "turns", "error", "created_at", "finished_at", "owner")


class ResearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="The research question.")
    mode: Literal["search", "deepresearch"] = Field(default="search", description="Answer only, or a full report.")
    max_turns: int | None = Field(default=None, ge=1, le=1024, description="Agent rounds (default from settings).")
    deadline_seconds: int | None = Field(default=None, ge=1, description="Wall-clock limit of the run.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = "fathom-search"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in INTERNAL_FIELDS}


def summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in SUMMARY_FIELDS}
