"""The agent's trace as readable text for the synthesizer (protocol §4): the system block removed, ChatML markers
turned into speaker labels, tool responses marked."""

from __future__ import annotations

import re

from fathom_runtime.protocol.chatml import IM_END, IM_START, TOOL_RESPONSE_CLOSE, TOOL_RESPONSE_OPEN

_SYSTEM_BLOCK = re.compile(re.escape(IM_START) + r"system\n.*?" + re.escape(IM_END) + r"\n?", re.S)
_SPEAKERS = {f"{IM_START}user\n": "\n[USER]\n", f"{IM_START}assistant\n": "\n[ASSISTANT]\n"}


def readable_trace(trace: str) -> str:
    text = _SYSTEM_BLOCK.sub("", trace, count=1)
    for marker, label in _SPEAKERS.items():
        text = text.replace(marker, label)
    text = text.replace(TOOL_RESPONSE_OPEN, "[TOOL RESPONSE]\n").replace(TOOL_RESPONSE_CLOSE, "[END TOOL RESPONSE]")
    return re.sub(r"\n{3,}", "\n\n", text.replace(IM_END, "")).strip()
