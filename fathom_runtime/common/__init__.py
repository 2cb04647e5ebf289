"""Helpers shared by the runtime services: logging, HTTP error bodies."""
