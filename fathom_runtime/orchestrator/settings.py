"""Orchestrator settings from FATHOM_* environment variables (the names the operator injects)."""

from __future__ import annotations

import socket
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fathom_runtime.common import redact


class OrchestratorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FATHOM_", extra="ignore")

    search_model_url: str = Field(default="http://127.0.0.1:8902", description="Search model server base URL.")
    synthesizer_model_url: str = Field(default="http://127.0.0.1:8903", description="Synthesizer base URL.")
    model_api: Literal["generate", "completions"] = Field(
        default="generate", description="generate (SGLang native) or completions (OpenAI-compatible)."
    )
    search_model_api: Literal["generate", "completions"] | None = Field(
        default=None, description="The search model's API when it differs from FATHOM_MODEL_API (a llama.cpp role)."
    )
    synthesizer_model_api: Literal["generate", "completions"] | None = Field(
        default=None, description="The synthesizer's API when it differs from FATHOM_MODEL_API."
    )
    search_model_name: str = Field(default="Fathom-Search-4B", description="Model name sent to completions APIs.")
    synthesizer_model_name: str = Field(default="Fathom-Synthesizer-4B", description="Synthesizer model name.")
    toolserver_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8904"], description="Tool server base URLs (comma-separated)."
    )
    database_url: str = Field(default="sqlite+aiosqlite:///./fathom.db", description="SQLAlchemy async URL.")

    max_turns: int = Field(default=64, ge=1, le=1024, description="Agent rounds per run.")
    max_context_tokens: int = Field(default=40960, ge=1024, description="Context budget of the search model.")
    temperature: float = Field(default=0.6, ge=0, le=2, description="Search model temperature.")
    repetition_penalty: float = Field(default=1.05, ge=0.5, le=2, description="Repetition penalty.")
    max_turn_tokens: int | None = Field(
        default=None, ge=64, description="New tokens per search turn (default: what the context has left)."
    )
    constrained_citations: bool = Field(
        default=False,
        description="Write the report in two phases: the plan freely, then the report under a grammar that lets it "
        "cite only URLs the agent saw (for small models that invent URLs).",
    )
    constrained_actions: bool = Field(
        default=False,
        description="Decode each turn in two phases: free text until </think>, then only well-formed tool calls "
        "or a boxed answer (a grammar; for small models).",
    )
    synthesis_temperature: float = Field(default=0.4, ge=0, le=2)
    synthesis_max_new_tokens: int = Field(default=10_000, ge=256)
    synthesis_context_tokens: int = Field(default=81_920, ge=4096, description="Synthesizer context length.")
    model_timeout_seconds: float = Field(default=600, gt=0, description="Timeout of one model call.")
    model_retry_backoff_seconds: float = Field(default=0.5, ge=0, description="First retry delay (doubles, jittered).")

    max_concurrent_runs: int = Field(default=256, ge=1, description="Runs executing at once in this process.")
    max_queued_runs: int = Field(default=1024, ge=0, description="Runs waiting beyond that; more get HTTP 429.")
    max_question_chars: int = Field(default=8000, ge=10)
    max_body_bytes: int = Field(default=65_536, ge=1024)
    instance_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        description="This process's name on the runs it executes (the pod name by default): after a crash, the "
        "restarted process marks its own earlier runs interrupted at once, not after the heartbeat window.",
    )
    api_keys_file: str | None = Field(
        default=None, description="API key file (docs/orchestrator.md#api-keys); unset: the API is open."
    )
    default_deadline_seconds: int = Field(default=1800, ge=1)
    max_deadline_seconds: int = Field(default=7200, ge=1)
    tool_concurrency: int = Field(default=8, ge=1, description="Tool calls of one round running at once.")
    tool_timeout_seconds: float = Field(default=150, gt=0, description="Timeout of one tool call.")
    citation_mode: Literal["mark", "strip", "leave"] = Field(
        default="mark", description="What to do with report citations the agent never saw."
    )
    search_prompt_file: str | None = Field(default=None, description="Replaces the built-in search system prompt.")
    synthesis_prompt_file: str | None = Field(default=None, description="Replaces the built-in synthesis prompt.")
    heartbeat_seconds: float = Field(default=15, gt=0, description="How often running runs prove they are alive.")

    @field_validator("toolserver_urls", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _prompts_are_usable(self) -> OrchestratorSettings:
        """A prompt file that is missing or a search template that cannot take the tool list fails at start."""
        for which, path in (("search", self.search_prompt_file), ("synthesis", self.synthesis_prompt_file)):
            if path and not Path(path).is_file():
                raise ValueError(f"FATHOM_{which.upper()}_PROMPT_FILE: no such file {path}")
        try:
            self.prompt("search").format(tools="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                "the search prompt must be a template whose only field is {tools} (double every literal brace): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if "{tools}" not in self.prompt("search"):
            raise ValueError("the search prompt must hold {tools} where the tool list goes")
        return self

    def prompt(self, which: Literal["search", "synthesis"]) -> str:
        override = self.search_prompt_file if which == "search" else self.synthesis_prompt_file
        if override:
            return Path(override).read_text(encoding="utf-8")
        name = "search_system.md" if which == "search" else "synthesis_system.md"
        return resources.files("fathom_runtime.prompts").joinpath(name).read_text(encoding="utf-8")

    def masked(self) -> dict[str, object]:
        return {name: redact.mask_value(value) for name, value in self.model_dump().items()}
