"""Async clients for the model servers: SGLang's native /generate and OpenAI-compatible /v1/completions."""
