"""Grammars for protocol-constrained decoding, in GBNF (llama.cpp's server takes it as `grammar`, SGLang's xgrammar as
`ebnf`): what the search model may write after its `</think>` (one to three `<tool_call>` blocks for the declared
tools, derived from protocol/tools.py, or an answer with `\\boxed{…}`), and a report whose citations can only be
URLs the agent saw. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from fathom_runtime.protocol.tools import AGENT_TOOLS, Tool

MAX_CALLS_PER_ROUND = 3
_VALUE_RULES = {"string": "str", "integer": "int"}
_JSON_TYPES = {str: "string", int: "integer"}

# Bounded, so that an action always ends within its token budget; an answer's lead-in cannot open a tag, a brace or
# a command, so a model that wants to call a tool has to write the <tool_call> form.
_PRIMITIVES = {
    "str": r'"\"" [^"\\\n]{1,300} "\""',
    "int": r"[1-9] [0-9]{0,5}",
    "answer": r'[^<\\\n{}]{0,200} ( "\\[ " )? "\\boxed{" [^{}\n]{1,120} "}" ( " \\]" )? "."?',
}


def _literal(text: str) -> str:
    """A GBNF string literal for `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _call_rule(tool: Tool) -> str:
    """`<tool_call>` + the JSON call with every required argument, in declaration order."""
    parts = [_literal(f'<tool_call>\n{{"name": "{tool.name}", "arguments": {{')]
    required = [name for name, field in tool.arguments.model_fields.items() if field.is_required()]
    for index, name in enumerate(required):
        field = tool.arguments.model_fields[name]
        separator = ", " if index else ""
        parts += [_literal(f'{separator}"{name}": '), _VALUE_RULES[_JSON_TYPES[field.annotation]]]  # type: ignore[index]  # str or int
    parts.append(_literal("}}\n</tool_call>"))
    return " ".join(parts)


def build_action_grammar(tools: tuple[Tool, ...] = AGENT_TOOLS, *, allow_answer: bool = True) -> str:
    """GBNF for one action: tool calls (only the required arguments, so a call always validates) or, when
    `allow_answer`, an answer (a research agent's first action is a search: small models otherwise answer from
    memory)."""
    calls = " | ".join(f"call-{tool.name.replace('_', '-')}" for tool in tools)
    more = " ".join([f"( {_literal(chr(10))} call )?"] * (MAX_CALLS_PER_ROUND - 1))
    lines = [
        "root ::= calls | answer" if allow_answer else "root ::= calls",
        f"calls ::= call {more}",
        f"call ::= {calls}",
        *(f"call-{tool.name.replace('_', '-')} ::= {_call_rule(tool)}" for tool in tools),
    ]
    body = "\n".join(lines)
    used = [name for name in _PRIMITIVES if f" {name}" in body or (name == "answer" and allow_answer)]
    primitives = [f"{name} ::= {_PRIMITIVES[name]}" for name in used]
    return "\n".join([*lines, *primitives]) + "\n"


def build_citation_grammar(urls: Sequence[str]) -> str | None:
    """GBNF for a report whose every `[` opens a citation of one of `urls` (the pages the agent saw), so that no
    invented URL can be cited; None without URLs. The report opens with a heading, as the synthesis prompt's layout
    asks (`# Executive Summary`): a small model after a long plan otherwise sometimes ends at once, with nothing."""
    if not urls:
        return None
    choices = " | ".join(_literal(url) for url in dict.fromkeys(urls))
    return f'root ::= [ \\t\\n]* "#" ( [^[] | citation )+\ncitation ::= "[" ( {choices} ) "]"\n'
