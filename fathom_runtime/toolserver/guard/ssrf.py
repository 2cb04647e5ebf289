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
# Never reachable, whatever the allowlist says: the cloud metadata and host-agent endpoints. Link-local holds AWS,
# GCP, Azure and OpenStack metadata (169.254.169.254) and the ECS task endpoint; the others are Oracle's
# (192.0.0.192), Azure's WireServer (168.63.129.16, a public address) and Alibaba's (100.100.100.200, inside the
# CGNAT range that allowPrivateNetworks opens).
METADATA_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("169.254.0.0/16", "192.0.0.192/32", "168.63.129.16/32", "100.100.100.200/32", "fe80::/10",
                "fd00:ec2::254/128")
)  # fmt: skip
ALWAYS_BLOCKED = METADATA_NETWORKS


class EgressRefused(Exception):
    """A URL or address the policy does not allow. The message says why, for the agent to read."""


# IPv6 forms whose last 32 bits are an IPv4 address that decides: IPv4-mapped and the well-known NAT64 prefix.
EMBEDDED_V4 = tuple(ipaddress.ip_network(net) for net in ("::ffff:0:0/96", "64:ff9b::/96"))
# IPv6 ranges that are never public, whatever a library's table says or what they embed: IPv4-compatible
# (deprecated; ::/96 also holds :: and ::1), SIIT, local-use NAT64 (RFC 8215), site-local (deprecated) and Teredo.
NEVER_PUBLIC_V6 = tuple(
    ipaddress.ip_network(net) for net in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "fec0::/10", "2001::/32")
)


def _unmapped(address: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 must be judged as 127.0.0.1, and the other IPv4-carrying forms likewise.
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in net for net in EMBEDDED_V4):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def is_globally_routable(address: IPAddress) -> bool:
    """True for public unicast addresses; False for loopback, private, link-local, CGNAT, multicast, reserved,
    unspecified, documentation, site-local, local-use NAT64, Teredo, and every IPv4-carrying IPv6 form whose IPv4
    address is not public (the IPv4 address decides)."""
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in NEVER_PUBLIC_V6):
        return False
    inner = _unmapped(address)
    if inner is not address:
        return is_globally_routable(inner)
    return address.is_global and not address.is_multicast


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
                # Something that looks like an address but is not one must not quietly become a host name.
                if "/" in entry or ":" in entry or entry.replace(".", "").isdigit():
                    raise ValueError(
                        f"egress allow entry {raw.strip()!r} is neither a CIDR, an IP address nor a host name"
                    ) from None
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
