"""NetworkPolicies: only the orchestrator reaches the model servers and the tool server (the tool server also
reaches the query LLM), only the clients the spec allows reach the orchestrator, and the tool server's egress avoids
cluster-internal ranges and cloud metadata. Pure."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fathom_operator import constants as c
from fathom_operator.api.spec import ClientPeer, DeepResearchStackSpec
from fathom_operator.render import Manifest, corpus, meta
from fathom_operator.render.meta import StackRef

# Addresses the tool server must never reach on the open internet path: private, CGNAT, loopback, link-local
# (169.254.169.254 is the cloud metadata service), and the metadata endpoints elsewhere: Oracle's 192.0.0.192 and
# Azure's WireServer 168.63.129.16 (a public address).
METADATA_V4 = ["192.0.0.192/32", "168.63.129.16/32"]
BLOCKED_EGRESS_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                     *METADATA_V4]  # fmt: skip
BLOCKED_EGRESS_V6 = ["fc00::/7", "fe80::/10", "fec0::/10", "::1/128"]
# Alibaba's metadata endpoint sits inside the CGNAT range that allowPrivateNetworks opens.
ALWAYS_EXCEPT = {"100.64.0.0/10": ["100.100.100.200/32"]}
# What `egress.allowPrivateNetworks` opens: RFC 1918, CGNAT and unique-local IPv6. Link-local (cloud metadata)
# and loopback stay refused whatever the spec says.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


def in_cluster_peer(url: str, namespace: str) -> tuple[str, str, int] | None:
    """(host, namespace, port) when `url` names a Service of this cluster (`svc`, `svc.ns.svc`,
    `svc.ns.svc.cluster.local`); None for any other host. Pure."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    labels = host.split(".")
    if len(labels) == 1 and host:
        service_namespace = namespace
    elif host.endswith(".svc") or host.endswith(".svc.cluster.local"):
        service_namespace = labels[1]
    else:
        return None
    return host, service_namespace, parts.port or (443 if parts.scheme == "https" else 80)


def toolserver_upstreams(stack: StackRef, spec: DeepResearchStackSpec) -> list[str]:
    """URLs the tool server is configured to call, some perhaps inside the cluster: the search backend, the corpus
    pages and an external extraction LLM."""
    pages = corpus.corpus_url(stack, spec.tool_server.search.corpus)
    urls = [url for url in (spec.tool_server.search.url, pages) if url]
    role = spec.extraction_role()
    extractor = spec.models.enabled()[role] if role else None
    if extractor is not None and extractor.engine == "external" and extractor.endpoint:
        urls.append(extractor.endpoint)
    return urls


def _ip_block(cidr: str) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if cidr in ALWAYS_EXCEPT:
        block["except"] = ALWAYS_EXCEPT[cidr]
    return {"ipBlock": block}


def _peer(stack: StackRef, component: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": meta.selector(stack, component)}}


def _scrapers(spec: DeepResearchStackSpec) -> list[dict[str, Any]]:
    """Who scrapes /metrics (monitoring.scrapers): every policy admits them."""
    return [_client_peer(peer) for peer in spec.monitoring.scrapers]


def _ingress_policy(
    stack: StackRef, spec: DeepResearchStackSpec, component: str, port: int, clients: list[str]
) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta.metadata(stack, component),
        "spec": {
            "podSelector": {"matchLabels": meta.selector(stack, component)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [_peer(stack, client) for client in clients] + _scrapers(spec),
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            ],
        },
    }


def _selector(labels: dict[str, str]) -> dict[str, Any]:
    # `{}` selects everything; an empty matchLabels would mean the same but the API server drops it, and an
    # object that never reads back as applied is rewritten by every apply.
    return {"matchLabels": dict(labels)} if labels else {}


def _client_peer(peer: ClientPeer) -> dict[str, Any]:
    rendered: dict[str, Any] = {"podSelector": _selector(peer.pod_selector)}
    if peer.namespace_selector is not None:
        rendered["namespaceSelector"] = _selector(peer.namespace_selector)
    return rendered


def _orchestrator_policy(stack: StackRef, spec: DeepResearchStackSpec) -> Manifest:
    """The research API: reachable from the pods the spec allows (default: the stack's namespace) and Prometheus."""
    policy = _ingress_policy(stack, spec, c.ORCHESTRATOR, c.ORCHESTRATOR_PORT, [])
    peers = [_client_peer(p) for p in spec.orchestrator.allow_from] or [{"podSelector": {}}]
    policy["spec"]["ingress"][0]["from"] = [*peers, *_scrapers(spec)]
    return policy


def _toolserver_policy(stack: StackRef, spec: DeepResearchStackSpec) -> Manifest:
    policy = _ingress_policy(stack, spec, c.TOOL_SERVER, c.TOOLSERVER_PORT, [c.ORCHESTRATOR])
    dns = {
        "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    internet = {
        "to": [
            {"ipBlock": {"cidr": "0.0.0.0/0", "except": BLOCKED_EGRESS_V4}},
            {"ipBlock": {"cidr": "::/0", "except": BLOCKED_EGRESS_V6}},
        ]
    }
    egress = [dns, internet]
    llm = _extraction_role_in_cluster(spec)
    if llm is not None:
        egress.append({"to": [_peer(stack, llm)], "ports": [{"protocol": "TCP", "port": c.SGLANG_PORT}]})
    if spec.tool_server.cache.type == "redis":  # a shared cache lives inside the cluster
        egress.append({"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 6379}]})
    for url in toolserver_upstreams(
        stack, spec
    ):  # a configured in-cluster service, without opening every private range
        peer = in_cluster_peer(url, stack.namespace)
        if peer is not None:
            _, namespace, port = peer
            selector = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
            egress.append({"to": [selector], "ports": [{"protocol": "TCP", "port": port}]})
    allowed = [h for h in spec.tool_server.egress.allow_hosts if "/" in h]
    if spec.tool_server.egress.allow_private_networks:
        allowed += [net for net in PRIVATE_NETWORKS if net not in allowed]
    if allowed:
        egress.append({"to": [_ip_block(cidr) for cidr in allowed]})
    policy["spec"]["policyTypes"] = ["Ingress", "Egress"]
    policy["spec"]["egress"] = egress
    return policy


def _extraction_role_in_cluster(spec: DeepResearchStackSpec) -> str | None:
    """The model role the tool server calls for extraction, when the stack deploys it."""
    role = spec.extraction_role()
    return role if role is not None and spec.models.enabled()[role].deployed else None


def render_network_policies(stack: StackRef, spec: DeepResearchStackSpec) -> list[Manifest]:
    extractor = _extraction_role_in_cluster(spec)
    policies = []
    for role, model in spec.models.enabled().items():
        if not model.deployed:
            continue
        clients = [c.ORCHESTRATOR] if role != c.QUERY_LLM else []
        if role == extractor:
            clients.append(c.TOOL_SERVER)
        policies.append(_ingress_policy(stack, spec, role, c.SGLANG_PORT, clients))
    return [*policies, _toolserver_policy(stack, spec), _orchestrator_policy(stack, spec)]
