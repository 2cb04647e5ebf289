"""The DeepResearchStack API: spec and status models, and the CRD built from them. Pure; imports only constants."""
