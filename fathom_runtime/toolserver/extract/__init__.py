"""Goal-conditioned extraction for query_url: a query LLM when configured, ranked page passages otherwise."""
