"""The real node cannot send a packet off the machine: its network namespace has no route out, and the guards
between it and the uplink are in place (checked again here, and before the node starts any pod)."""

from __future__ import annotations

from localcluster import network
from localcluster.tools import run


def _node(*args: str) -> str:
    return run("ip", "netns", "exec", network.NETNS, *args).stdout


def test_the_node_namespace_has_no_route_off_the_machine(real_node: str) -> None:
    routes = _node("ip", "-4", "route", "show").splitlines()
    assert routes and not [r for r in routes if r.startswith("default")]
    destinations = {r.split()[0] for r in routes}
    assert destinations <= {"10.240.0.0/24", network.POD_CIDR}, routes
    assert _node("sysctl", "-n", "net.ipv6.conf.all.disable_ipv6").strip() == "1"


def test_the_guards_are_in_place(real_node: str) -> None:
    assert network.guard_problems() == []
    mangle = _node("iptables", "-t", "mangle", "-S", "POSTROUTING")
    assert f"! -d {network.HOST_IP}/32 -o {network.NODE_VETH}" in mangle and "-j DROP" in mangle
    forward = run("iptables", "-S", "FORWARD").stdout
    assert f"-i {network.HOST_VETH}" in forward and f"-o {network.HOST_VETH}" in forward
    assert run("ip", "-4", "route", "get", "10.96.0.1").stdout.split()[1:5] == [
        "via",
        network.NODE_IP,
        "dev",
        network.HOST_VETH,
    ]


def test_a_missing_guard_is_reported(real_node: str) -> None:
    rule = network.node_guard_rule()
    table, chain, rest = rule[1], rule[2], rule[3:]
    _node("iptables", "-w", "-t", table, "-D", chain, *rest)
    try:
        assert "the node namespace's no-egress rule is missing" in network.guard_problems()
    finally:
        _node("iptables", "-w", "-t", table, "-I", chain, *rest)
    assert network.guard_problems() == []
