"""Search backends: Serper (Google results), SearXNG (self-hosted), local (an offline corpus)."""
