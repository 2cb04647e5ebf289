"""Spec parsing: defaults, cross-field rules (the same ones the CRD carries as CEL) and field-naming errors."""

from __future__ import annotations

from typing import Any

import pytest
from fathom_operator.errors import SpecError
from fathom_operator.reconcile import parse_spec

from tests.unit.operator.render.factories import MINIMAL_SPEC, deep_merge


def test_minimal_spec_gets_the_protocol_defaults() -> None:
    spec = parse_spec(MINIMAL_SPEC)
    assert spec.models.search.served_name == "Fathom-Search-4B"
    assert spec.models.search.context_length == 40960
    assert spec.models.synthesizer.rope_scaling is not None
    assert spec.models.synthesizer.rope_scaling.factor == 2.0
    assert spec.orchestrator.max_turns == 64
    assert spec.orchestrator.temperature == 0.6
    assert spec.models.query_llm.enabled is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"models": {"search": {"engine": "external"}}}, "endpoint is required when engine is external"),
        ({"models": {"search": {"tensorParallel": 4, "gpu": {"count": 2}}}}, "tensorParallel must not exceed"),
        ({"models": {"synthesizer": {"contextLength": 131072}}}, "contextLength must not exceed ropeScaling.factor"),
        ({"toolServer": {"search": {"provider": "searxng"}}}, "url is required when provider is searxng"),
        ({"toolServer": {"cache": {"type": "redis"}}}, "url is required when type is redis"),
        ({"toolServer": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}, "minReplicas must not exceed"),
        ({"orchestrator": {"storage": {"type": "postgres"}}}, "dsnSecretRef is required when type is postgres"),
        ({"orchestrator": {"replicas": 3}}, "replicas must be at most 1 with sqlite storage"),
        ({"models": {"search": {"engine": "llamacpp"}}}, "model must be the path of a .gguf file"),
        ({"orchestrator": {"reportMaxTokens": 50_000}}, "reportMaxTokens must be at most half of"),
        ({"toolServer": {"resources": {"requests": {"cpu": "lots"}}}}, "requests values must be quantities"),
        ({"models": {"search": {"resources": {"limits": {"memory": "4 GB"}}}}}, "limits values must be quantities"),
        (
            {"models": {"synthesizer": {"contextLength": 8192}}, "orchestrator": {"reportMaxTokens": 5000}},
            "reportMaxTokens must be at most half of",
        ),
        (
            {"models": {"search": {"engine": "external", "endpoint": "http://169.254.169.254/latest/meta-data"}}},
            "endpoint must not be a link-local or cloud metadata address",
        ),
        (
            {"models": {"search": {"engine": "external", "endpoint": "http://metadata.google.internal/"}}},
            "endpoint must not be a link-local or cloud metadata address",
        ),
        ({"toolServer": {"egress": {"allowHosts": ["10.0.0.0/33"]}}}, "allowHosts entries with a '/' must be CIDRs"),
        (
            {
                "toolServer": {
                    "search": {"provider": "local", "corpus": {"configMap": "a", "pvc": "b", "baseUrl": "http://d"}}
                }
            },
            "exactly one of configMap, pvc and image",
        ),
        (
            {"toolServer": {"search": {"provider": "local", "corpus": {"pvc": "docs", "serve": True}}}},
            "serve needs image",
        ),
        (
            {"toolServer": {"search": {"provider": "local", "corpus": {"configMap": "docs"}}}},
            "baseUrl is required unless serve is true",
        ),
    ],
)
def test_cross_field_rules_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(deep_merge(MINIMAL_SPEC, overrides))


def test_serper_without_key_is_refused() -> None:
    with pytest.raises(SpecError, match="apiKeySecretRef is required when provider is serper"):
        parse_spec({"toolServer": {"search": {"provider": "serper"}}})


def test_errors_carry_the_camel_case_path() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(deep_merge(MINIMAL_SPEC, {"models": {"search": {"replicas": -1, "tensorParallel": 0}}}))
    assert "spec.models.search.replicas" in str(caught.value)
    assert "spec.models.search.tensorParallel" in str(caught.value)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(SpecError, match="spec.models.search.gpus"):
        parse_spec(deep_merge(MINIMAL_SPEC, {"models": {"search": {"gpus": 2}}}))


def test_yarn_factor_four_allows_the_reference_context_length() -> None:
    spec = parse_spec(
        deep_merge(MINIMAL_SPEC, {"models": {"synthesizer": {"contextLength": 131072, "ropeScaling": {"factor": 4.0}}}})
    )
    assert spec.models.synthesizer.context_length == 131072
