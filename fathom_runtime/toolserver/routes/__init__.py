"""HTTP routes of the tool server; only these translate domain errors to statuses."""
