"""The Fathom wire protocol (docs/protocol.md): ChatML prompts, tool calls, answers, transcripts.
Pure text in, text out: no asyncio, httpx, fastapi or sqlalchemy."""
