"""The real node's network: a network namespace of its own, joined to the host by one veth pair, with no route out.

    host netns                                    node netns (fathom-node)
    HOST_IP:6443 -> kube-apiserver on 127.0.0.1  <-veth->  NODE_IP: containerd, kubelet, kube-proxy, kube-router
                                                           bridge fathom0 (POD_CIDR): the pods

Nothing may leave the machine, so the node namespace has no default route, and three guards stand between it and the
uplink: a rule in the node namespace that drops every packet leaving through the veth except to HOST_IP, a rule in
the host's FORWARD chain that drops whatever arrives from the veth, and the host not forwarding in the first place.
`guard_problems()` checks all of it; the node refuses to start a pod while it reports anything."""

from __future__ import annotations

from pathlib import Path

from localcluster.tools import run

NETNS = "fathom-node"
HOST_VETH = "fathom-h"
NODE_VETH = "fathom-n"
HOST_IP = "10.240.0.1"
NODE_IP = "10.240.0.2"
LINK_PREFIX = 24
BRIDGE = "fathom0"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
GUARD_COMMENT = "fathom-node-no-egress"
API_SERVER_PORT = 6443
API_COMMENT = "fathom-node-api-server"


def node_guard_rule() -> list[str]:
    """In the node namespace (mangle POSTROUTING, which kube-proxy and kube-router leave alone): whatever leaves
    through the veth must be addressed to the host side. Pure."""
    return ["-t", "mangle", "POSTROUTING", "-o", NODE_VETH, "!", "-d", f"{HOST_IP}/32",
            "-m", "comment", "--comment", GUARD_COMMENT, "-j", "DROP"]  # fmt: skip


def host_guard_rules() -> list[list[str]]:
    """In the host namespace: nothing from or to the veth is ever forwarded. Pure."""
    comment = ["-m", "comment", "--comment", GUARD_COMMENT, "-j", "DROP"]
    return [
        ["-t", "filter", "FORWARD", "-i", HOST_VETH, *comment],
        ["-t", "filter", "FORWARD", "-o", HOST_VETH, *comment],
    ]


def api_server_rule() -> list[str]:
    """In the host namespace: connections from the node to HOST_IP:API_SERVER_PORT reach the API server, which
    listens on loopback only (with route_localnet on the veth alone). Pure."""
    return ["-t", "nat", "PREROUTING", "-i", HOST_VETH, "-d", f"{HOST_IP}/32", "-p", "tcp", "--dport",
            str(API_SERVER_PORT), "-m", "comment", "--comment", API_COMMENT, "-j", "DNAT", "--to-destination",
            f"127.0.0.1:{API_SERVER_PORT}"]  # fmt: skip


def _iptables(rule: list[str], action: str, *, netns: bool) -> bool:
    """`action` is -C (check), -I (insert first) or -D (delete); True when the command succeeded."""
    table, chain, rest = rule[1], rule[2], rule[3:]
    prefix = ["ip", "netns", "exec", NETNS] if netns else []
    return run(*prefix, "iptables", "-w", "-t", table, action, chain, *rest, check=False, quiet=True).returncode == 0


def _in_node(*args: str, check: bool = True) -> str:
    return run("ip", "netns", "exec", NETNS, *args, check=check, quiet=not check).stdout


def exists() -> bool:
    return Path(f"/run/netns/{NETNS}").exists()


# `ip netns add` makes /run/netns a mount point and leaves it; remember whether it was one already.
MOUNT_MARKER = Path("/run/fathom-node-made-run-netns")


def _is_mount_point(path: str) -> bool:
    return any(line.split()[1] == path for line in Path("/proc/mounts").read_text().splitlines())


def up() -> None:
    """Create the namespace, the veth pair and the guards (idempotent)."""
    if not exists():
        if not _is_mount_point("/run/netns"):
            MOUNT_MARKER.write_text("")
        run("ip", "netns", "add", NETNS)
    if run("ip", "link", "show", HOST_VETH, check=False, quiet=True).returncode != 0:
        run("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", NODE_VETH, "netns", NETNS)
        run("ip", "addr", "add", f"{HOST_IP}/{LINK_PREFIX}", "dev", HOST_VETH)
        run("ip", "-n", NETNS, "addr", "add", f"{NODE_IP}/{LINK_PREFIX}", "dev", NODE_VETH)
    run("ip", "link", "set", HOST_VETH, "up")
    run("ip", "-n", NETNS, "link", "set", NODE_VETH, "up")
    run("ip", "-n", NETNS, "link", "set", "lo", "up")
    # Forwarding inside the node namespace only (pods <-> node); IPv6 off there, so only IPv4 needs guarding.
    _in_node("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1")  # fmt: skip
    # Bridged pod-to-pod traffic must pass through iptables for Services and NetworkPolicy to apply.
    _in_node("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1")
    if not _iptables(node_guard_rule(), "-C", netns=True):
        _iptables(node_guard_rule(), "-I", netns=True)
    run("sysctl", "-q", "-w", f"net.ipv4.conf.{HOST_VETH}.route_localnet=1")
    if not _iptables(api_server_rule(), "-C", netns=False):
        _iptables(api_server_rule(), "-I", netns=False)
    # The host reaches pods and Services through the node (and answers pods through it, never the uplink).
    for cidr in (POD_CIDR, SERVICE_CIDR):
        run("ip", "route", "replace", cidr, "via", NODE_IP, "dev", HOST_VETH)
    for rule in host_guard_rules():
        if not _iptables(rule, "-C", netns=False):
            _iptables(rule, "-I", netns=False)


def guard_problems() -> list[str]:
    """Everything that would let a packet from the node namespace reach the uplink; empty when the guard holds."""
    if not exists():
        return [f"network namespace {NETNS} does not exist"]
    problems = []
    routes = _in_node("ip", "-4", "route", "show")
    if any(line.startswith("default") for line in routes.splitlines()):
        problems.append(f"the node namespace has a default route: {routes.strip()}")
    links = _in_node("ip", "-o", "link", "show")
    extra = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
    foreign = [name for name in extra if name not in ("lo", NODE_VETH, BRIDGE) and not name.startswith("veth")]
    if foreign:
        problems.append(f"unexpected links in the node namespace: {', '.join(foreign)}")
    if not _iptables(node_guard_rule(), "-C", netns=True):
        problems.append("the node namespace's no-egress rule is missing")
    for rule in host_guard_rules():
        if not _iptables(rule, "-C", netns=False):
            problems.append(f"the host's FORWARD drop rule for {rule[4]} {HOST_VETH} is missing")
    for cidr in (POD_CIDR, SERVICE_CIDR):
        route = run("ip", "-4", "route", "get", cidr.split("/")[0], check=False, quiet=True).stdout
        if f"dev {HOST_VETH}" not in route:
            problems.append(f"the host does not route {cidr} into the node: {route.strip() or 'no route'}")
    if _in_node("sysctl", "-n", "net.ipv6.conf.all.disable_ipv6").strip() != "1":
        problems.append("IPv6 is enabled in the node namespace")
    return problems


def down() -> None:
    """Remove the namespace (its links and rules go with it) and the host's rules; the host is as it was."""
    for rule in [*host_guard_rules(), api_server_rule()]:
        while _iptables(rule, "-C", netns=False):
            _iptables(rule, "-D", netns=False)
    if exists():
        run("ip", "netns", "del", NETNS, check=False)
    run("ip", "link", "del", HOST_VETH, check=False, quiet=True)
    if MOUNT_MARKER.exists() and not any(Path("/run/netns").iterdir()):
        run("umount", "/run/netns", check=False)
        MOUNT_MARKER.unlink()
