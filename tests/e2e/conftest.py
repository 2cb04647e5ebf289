"""End-to-end fixtures reuse the operator's (CRD once per session, one operator process per test namespace)."""

from tests.integration.operator.conftest import crd, custom, operator  # noqa: F401  (fixtures)
