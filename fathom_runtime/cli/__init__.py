"""The `fathom` command line."""
