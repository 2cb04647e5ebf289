"""The tools, declared once (docs/protocol.md): one argument model per tool and the tool response model. The tool
list shown to the search model, the validation of the model's calls, the tool server's request bodies and its
`/execute` binding all derive from these declarations. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

MAX_QUERY_CHARS = 2000
MAX_URL_CHARS = 4096
MAX_TOP_K = 50


class ToolArguments(BaseModel):
    # Strict: the model must write `5`, not `"5"` or `5.0`; unknown arguments are an error it should see.
    model_config = ConfigDict(extra="forbid", strict=True)


class SearchUrlsArgs(ToolArguments):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="Search query.")
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K, description="Number of results.")


class QueryUrlArgs(ToolArguments):
    url: str = Field(min_length=1, max_length=MAX_URL_CHARS, description="Page to read.")
    goal: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="What the agent wants from the page.")


class WebSearchArgs(ToolArguments):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="Search query.")


class WebVisitArgs(ToolArguments):
    url: str = Field(min_length=1, max_length=MAX_URL_CHARS, description="Page to read.")


class ToolResponse(BaseModel):
    """What every tool endpoint answers; `result` is the text the model sees."""

    result: str = Field(description="Text exactly as the model sees it.")
    cached: bool = False
    source: str = Field(default="", description="Search backend or fetcher that produced the result.")
    method: str = Field(default="", description="query_url extraction method: llm, passages or truncated.")
    hits: list[dict[str, str]] = Field(default_factory=list, description="Search hits (title, url, snippet).")
    truncated: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[ToolArguments]


SEARCH_URLS = Tool(
    "search_urls", "Search the web for a query; returns links with a short snippet each.", SearchUrlsArgs
)
QUERY_URL = Tool("query_url", "Open a web page and return the evidence it holds for the given goal.", QueryUrlArgs)
WEB_SEARCH = Tool("web_search", "Search the web for a query; returns ten links with snippets.", WebSearchArgs)
WEB_VISIT = Tool("web_visit", "Open a web page and return its whole text.", WebVisitArgs)

TOOLS: dict[str, Tool] = {tool.name: tool for tool in (SEARCH_URLS, QUERY_URL, WEB_SEARCH, WEB_VISIT)}
# What Fathom-Search-4B was trained with; web_search and web_visit serve other small search agents.
AGENT_TOOLS: tuple[Tool, ...] = (SEARCH_URLS, QUERY_URL)

_JSON_TYPES = {str: "string", int: "integer"}


def build_schema(tool: Tool) -> dict[str, Any]:
    """The flat `{name, description, parameters}` dict of the published Fathom code: a JSON type and a default per
    argument, nothing else."""
    properties: dict[str, Any] = {}
    required = []
    for name, field in tool.arguments.model_fields.items():
        prop: dict[str, Any] = {"type": _JSON_TYPES[field.annotation]}  # type: ignore[index]  # str or int only
        if field.is_required():
            required.append(name)
        else:
            prop["default"] = field.default
        properties[name] = prop
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"name": tool.name, "description": tool.description, "parameters": parameters}


def render_tool_list(tools: tuple[Tool, ...] = AGENT_TOOLS) -> str:
    """The text between the ```json fences of the search system prompt: ONE line, the Python repr of the list of
    schemas, because the reference formats a Python list into its template (docs/protocol.md)."""
    return repr([build_schema(tool) for tool in tools])


class ArgumentError(ValueError):
    """A call's arguments do not fit its tool; the message is written for the model to read."""


def _describe(tool: Tool, error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "arguments"
    field = tool.arguments.model_fields.get(key)
    kind = _JSON_TYPES.get(field.annotation, "value") if field else "value"  # type: ignore[arg-type]
    match error["type"]:
        case "missing" | "string_too_short":
            return f"{tool.name} needs a non-empty {kind} argument {key!r}"
        case "extra_forbidden":
            return f"{tool.name} has no argument {key!r}; its arguments: {', '.join(tool.arguments.model_fields)}"
        case "string_type" | "int_type":
            return f"{tool.name} argument {key!r} must be a{'n' if kind == 'integer' else ''} {kind}"
        case _:
            return f"{tool.name} argument {key!r}: {error['msg']}"


def validate_arguments(tool: Tool, arguments: Any) -> ToolArguments:
    """The typed arguments of a call, or ArgumentError naming every problem."""
    if not isinstance(arguments, dict):
        raise ArgumentError("arguments must be a JSON object")
    try:
        return tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        raise ArgumentError("; ".join(_describe(tool, error) for error in exc.errors())) from exc
