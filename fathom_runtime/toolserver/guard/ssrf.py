"""Egress policy for URLs chosen by the model. Pure: no DNS, no sockets.

A URL may be fetched only over http(s), without credentials, and only when every address its host resolves to
is globally routable, unless an operator allowlist (hosts or CIDRs) says otherwise."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
# Never reachable, whatever the allowlist says: the cloud metadata endpoints.
ALWAYS_BLOCKED = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class EgressRefused(Exception):
    """A URL or address the policy does not allow. The message says why, for the agent to read."""


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _unmapped(address: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 must be judged as 127.0.0.1, and 6to4/NAT64 forms likewise hide IPv4 targets.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_globally_routable(address: IPAddress) -> bool:
    """True for public unicast addresses; False for loopback, private, link-local, CGNAT, multicast, reserved,
    unspecified, documentation and every IPv4 address hidden inside IPv6."""
    inner = _unmapped(address)
    if inner is not address and not is_globally_routable(inner):
        return False
    return address.is_global and not address.is_multicast and not inner.is_multicast


@dataclass(frozen=True)
class EgressPolicy:
    """`allow_hosts`: exact host names (or `.suffix` for a domain and its subdomains); `allow_networks`: CIDRs
    whose addresses may be reached although not globally routable."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> EgressPolicy:
        """Parse FATHOM_EGRESS_ALLOW entries: each one a CIDR, an IP address or a host name."""
        hosts, networks = set(), []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or (h.startswith(".") and host.endswith(h)) for h in self.allow_hosts)

    def check_address(self, host: str, address: IPAddress) -> None:
        """Raise EgressRefused unless `address` (one answer for `host`) may be connected to."""
        inner = _unmapped(address)
        if any(inner in net or address in net for net in ALWAYS_BLOCKED):
            raise EgressRefused(f"refused: {host} resolves to {address}, a cloud metadata address")
        if is_globally_routable(address) or self.host_allowed(host):
            return
        if any(address in net or inner in net for net in self.allow_networks):
            return
        raise EgressRefused(f"refused: {host} resolves to {address}, which is not a public address")


def check_url(url: str) -> tuple[str, str, int]:
    """Validate the shape of a URL; return (scheme, host, port). Raises EgressRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EgressRefused(f"refused: malformed URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise EgressRefused(f"refused: scheme {scheme or '(none)'!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise EgressRefused("refused: URLs with credentials are not fetched")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise EgressRefused(f"refused: URL {url!r} has no host")
    return scheme, host, port or (443 if scheme == "https" else 80)
