"""Tool server settings, from FATHOM_* environment variables (and the reference's SERPER_API_KEY / JINA_API_KEY).

Secrets are SecretStr: they never appear in logs or reprs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fathom_runtime.common import redact


class ToolServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FATHOM_", extra="ignore", populate_by_name=True)

    search_provider: Literal["serper", "searxng", "local"] = Field(default="serper", description="Search backend.")
    serper_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("FATHOM_SERPER_API_KEY", "SERPER_API_KEY", "serper_api_key"),
        description="Serper API key.",
    )
    serper_url: str = Field(default="https://google.serper.dev/search", description="Serper search endpoint.")
    searxng_url: str | None = Field(default=None, description="SearXNG base URL (provider searxng).")
    local_corpus: str | None = Field(
        default=None, description="Directory of HTML/Markdown/text files, or a JSONL of {url, title, text}."
    )
    local_corpus_base_url: str | None = Field(
        default=None, description="URL under which the corpus directory is served (hits point there)."
    )
    local_index: str | None = Field(default=None, description="SQLite file for the corpus index (default: memory).")

    jina_enabled: bool = Field(default=True, description="Use the Jina reader first in the fetch chain.")
    jina_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("FATHOM_JINA_API_KEY", "JINA_API_KEY", "jina_api_key"),
        description="Jina reader API key (optional).",
    )
    jina_url: str = Field(default="https://r.jina.ai", description="Jina reader base URL.")
    github_token: SecretStr | None = Field(default=None, description="GitHub token for README and raw files.")
    github_api_url: str = Field(default="https://api.github.com", description="GitHub API base URL.")
    browser_enabled: bool = Field(default=False, description="Render pages with headless Chromium (Crawl4AI).")
    max_body_bytes: int = Field(default=65_536, ge=1024, description="Largest request body accepted (413 above).")
    chromium_path: str = Field(default="/usr/bin/chromium", description="Chromium executable for the browser.")
    browser_settle_seconds: float = Field(
        default=1.0, ge=0, le=30, description="Time a page's scripts get after it loads before its text is read."
    )

    query_llm_url: str | None = Field(default=None, description="OpenAI-compatible base URL (…/v1) for query_url.")
    query_llm_model: str = Field(default="Query-LLM", description="Model name for the query LLM.")
    query_llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("FATHOM_QUERY_LLM_API_KEY", "OPENAI_API_KEY", "query_llm_api_key"),
        description="Bearer token for the query LLM endpoint.",
    )
    query_llm_timeout_seconds: float = Field(default=60.0, gt=0, description="Timeout of one extraction call.")

    cache: Literal["memory", "disk", "redis"] = Field(default="memory", description="Cache backend.")
    cache_url: str | None = Field(default=None, description="Redis URL, or the directory of the disk cache.")
    cache_max_entries: int = Field(default=10_000, ge=1, description="Entries kept by the memory cache.")
    search_ttl_seconds: int = Field(default=86_400, ge=0, description="How long search results are reused.")
    page_ttl_seconds: int = Field(default=86_400, ge=0, description="How long fetched pages are reused.")

    egress_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hosts or CIDRs that may be fetched although not globally routable."
    )
    max_outbound: int = Field(default=256, ge=1, description="Concurrent outbound requests, in total.")
    max_per_host: int = Field(default=8, ge=1, description="Concurrent outbound requests per host.")
    max_page_bytes: int = Field(default=2_000_000, ge=1024, description="Bytes read from one HTML/text response.")
    max_pdf_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="Bytes read from one PDF.")
    max_pdf_pages: int = Field(default=40, ge=1, description="PDF pages turned into text.")
    max_pdf_chars: int = Field(default=40_000, ge=100, description="Characters kept from one PDF.")
    max_page_chars: int = Field(default=400_000, ge=1000, description="Characters kept from one page.")
    max_visit_chars: int = Field(
        default=24_000, ge=1000, description="Characters returned by web_visit (~6,000 tokens)."
    )
    max_redirects: int = Field(default=5, ge=0, le=20, description="Redirect hops followed per fetch.")
    timeout_seconds: float = Field(default=90.0, gt=0, description="Deadline of one tool call.")

    @field_validator("egress_allow", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def masked(self) -> dict[str, object]:
        """Effective settings for the start-up log; secrets shown as set or unset only."""
        return {
            name: ("***" if value is not None else None)
            if isinstance(value, SecretStr) or name.endswith("_key") or name.endswith("_token")
            else redact.mask_value(value)
            for name, value in self.model_dump().items()
        }
