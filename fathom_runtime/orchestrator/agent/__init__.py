"""The research run: the search agent loop, the tool pool it calls, and report synthesis."""
