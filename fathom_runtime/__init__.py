"""Fathom runtime: protocol, model clients, tool server, orchestrator and the `fathom` command."""

__version__ = "0.1.0"
