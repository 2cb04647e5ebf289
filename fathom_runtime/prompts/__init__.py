"""Prompt files shipped with the runtime; FATHOM_SEARCH_PROMPT_FILE and FATHOM_SYNTHESIS_PROMPT_FILE override them."""
