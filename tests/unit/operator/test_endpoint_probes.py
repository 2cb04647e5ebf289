"""External endpoints are probed at most once per interval, never when their name resolves to a link-local or
metadata address (numeric forms resolve locally: nothing here sends a packet)."""

from __future__ import annotations

import pytest
from fathom_operator.k8s.observe import EndpointObservation, EndpointProbes, refused_destination


def test_an_endpoint_is_probed_once_per_interval() -> None:
    calls: list[str] = []

    def probe(url: str) -> EndpointObservation:
        calls.append(url)
        return EndpointObservation(url, True)

    probes = EndpointProbes(interval=3600, probe=probe)
    for _ in range(50):  # a burst of pod events, each refreshing the status
        assert probes.observe("http://models.example:8000").reachable
    assert calls == ["http://models.example:8000"]
    assert EndpointProbes(interval=0, probe=probe).observe("http://models.example:8000").reachable
    assert len(calls) == 2


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/", "http://2852039166/", "http://0xa9fea9fe:80/", "http://[fe80::1]/",
     "http://192.0.0.192/", "http://100.100.100.200/"],
)  # fmt: skip
def test_metadata_destinations_are_refused_whatever_their_spelling(url: str) -> None:
    assert "link-local or cloud metadata" in (refused_destination(url) or "")


def test_ordinary_destinations_are_left_to_the_probe() -> None:
    assert refused_destination("http://127.0.0.1:8000/v1") is None
