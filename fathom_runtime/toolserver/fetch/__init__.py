"""Page fetching: the guarded HTTP client, the fetchers, and the per-domain fallback chain (docs/protocol.md)."""
