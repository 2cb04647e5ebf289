"""The web tool server: search, page fetching and goal-conditioned extraction for the agent (docs/protocol.md)."""
