"""HTTP routes of the orchestrator; only these translate domain errors to statuses."""
