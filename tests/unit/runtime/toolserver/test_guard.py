"""Egress policy: which addresses and URLs a model-chosen URL may reach."""

from __future__ import annotations

import ipaddress

import pytest

from fathom_runtime.toolserver.guard.ssrf import EgressPolicy, EgressRefused, check_url, is_globally_routable


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "100.127.255.254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.10", "::1", "::",
     "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1",
     "64:ff9b::1",
     # IPv4-compatible and SIIT forms, local-use NAT64, site-local and Teredo: refused whatever they embed.
     "::127.0.0.1", "::10.0.0.1", "::8.8.8.8", "::ffff:0:127.0.0.1", "::ffff:0:8.8.8.8", "64:ff9b:1::7f00:1",
     "64:ff9b:1::808:808", "fec0::1", "fef0::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
)  # fmt: skip
def test_internal_addresses_are_not_routable(address: str) -> None:
    assert not is_globally_routable(ipaddress.ip_address(address))
    with pytest.raises(EgressRefused, match="refused"):
        EgressPolicy().check_address("host.example", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    EgressPolicy().check_address("host.example", ipaddress.ip_address(address))


def test_allowlist_by_cidr_host_and_domain_suffix() -> None:
    policy = EgressPolicy.from_entries(["10.20.0.0/16", "docs.internal", ".corp.example", " "])
    policy.check_address("any", ipaddress.ip_address("10.20.3.4"))
    policy.check_address("docs.internal", ipaddress.ip_address("10.99.0.1"))
    policy.check_address("wiki.corp.example", ipaddress.ip_address("192.168.0.5"))
    with pytest.raises(EgressRefused):
        policy.check_address("other.internal", ipaddress.ip_address("10.99.0.1"))


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.170.2", "192.0.0.192", "168.63.129.16", "100.100.100.200", "fd00:ec2::254",
     "fe80::a9fe:a9fe", "::ffff:169.254.169.254", "::ffff:168.63.129.16", "64:ff9b::a9fe:a9fe"],
)  # fmt: skip
def test_metadata_endpoints_stay_blocked_even_when_allowlisted(address: str) -> None:
    # AWS/GCP/Azure/OpenStack, ECS, Oracle, Azure WireServer, Alibaba, AWS over IPv6, and their IPv6 disguises; the
    # allowlist opens everything a stack's allowPrivateNetworks would, and more.
    policy = EgressPolicy.from_entries(
        ["0.0.0.0/0", "::/0", "169.254.0.0/16", "100.64.0.0/10", "metadata.google.internal", "host.example"]
    )
    with pytest.raises(EgressRefused, match="metadata"):
        policy.check_address("host.example", ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme"),
        ("gopher://x/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http://user:pw@example.org/", "credentials"),
        ("http://@example.org/", "credentials"),
        ("http:///nohost", "no host"),
        ("http://example.org:99999/", "malformed"),
    ],
)
def test_url_shapes_that_are_refused(url: str, reason: str) -> None:
    with pytest.raises(EgressRefused, match=reason):
        check_url(url)


def test_url_parts() -> None:
    assert check_url("HTTPS://Example.org./a?b") == ("https", "example.org", 443)
    assert check_url("http://example.org:8080/") == ("http", "example.org", 8080)
