"""The orchestrator: the research API, the Fathom-Search agent loop and plan-then-write synthesis."""
