"""Fathom operator: reconciles DeepResearchStack resources. Importing it has no side effects."""

__version__ = "0.1.0"
