"""The local search provider's corpus: inside the tool server pod, a ConfigMap or a PVC mounted read-only, or an
image whose files an init container copies into an emptyDir; and, with `serve`, that image running as the site of
the files (`<stack>-corpus`). Pure."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from fathom_operator import constants as c
from fathom_operator.api.spec import CorpusSpec, PlacementSpec
from fathom_operator.render import Manifest, meta, pods
from fathom_operator.render.meta import StackRef

MOUNT = "/corpus"


@dataclass(frozen=True)
class CorpusMount:
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    init_containers: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def corpus_url(stack: StackRef, corpus: CorpusSpec | None) -> str | None:
    """Where the corpus pages are served: the spec's baseUrl, else the corpus site the stack runs."""
    if corpus is None:
        return None
    if corpus.base_url:
        return corpus.base_url
    return meta.service_url(stack, c.CORPUS, c.CORPUS_PORT) if corpus.serve else None


def render_corpus(stack: StackRef, corpus: CorpusSpec | None) -> CorpusMount:
    if corpus is None:
        return CorpusMount()
    mount = {"name": "corpus", "mountPath": MOUNT, "readOnly": True}
    inner = corpus.path.strip("/")
    init: list[dict[str, Any]] = []
    if corpus.config_map:  # `path` is then a key of the ConfigMap (a JSONL file), or the whole map as a directory
        volume: dict[str, Any] = {"name": "corpus", "configMap": {"name": corpus.config_map}}
        location = posixpath.join(MOUNT, inner) if inner else MOUNT
    elif corpus.pvc:
        volume = {"name": "corpus", "persistentVolumeClaim": {"claimName": corpus.pvc, "readOnly": True}}
        location = posixpath.join(MOUNT, inner) if inner else MOUNT
    else:
        volume = pods.empty_dir("corpus", size_limit="5Gi")
        copy = {
            "name": "corpus",
            "image": str(corpus.image),
            # -L: corpora are often symlinks (Debian's python3.11-doc/html is one); copy what they point to.
            "command": ["cp", "-R", "-L", corpus.path.rstrip("/") or "/", f"{MOUNT}/"],
            "volumeMounts": [{"name": "corpus", "mountPath": MOUNT}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": pods.container_security_context(),
        }
        location = posixpath.join(MOUNT, posixpath.basename(corpus.path.rstrip("/"))) if inner else MOUNT
        init = [copy]
    env = {c.ENV_LOCAL_CORPUS: location}
    url = corpus_url(stack, corpus)
    if url:
        env[c.ENV_LOCAL_CORPUS_BASE_URL] = url
    return CorpusMount([volume], [mount], init, env)


def render_corpus_site(
    stack: StackRef, corpus: CorpusSpec | None, *, runtime_service_account: str, placement: PlacementSpec
) -> list[Manifest]:
    """Deployment and Service of the corpus site, when the spec asks the stack to serve its corpus image. It goes
    where the tool server goes (its node selector and tolerations)."""
    if corpus is None or not corpus.serve or corpus.image is None:
        return []
    container = {
        "name": "site",
        "image": corpus.image,
        "ports": [{"name": "http", "containerPort": c.CORPUS_PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": pods.container_security_context(),
    }
    template = pods.pod_template(
        meta.labels(stack, c.CORPUS),
        [container],
        [pods.empty_dir("tmp", size_limit="64Mi")],
        service_account=runtime_service_account,
        placement=placement,
        affinity=pods.avoid_gpu_nodes(),
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta.metadata(stack, c.CORPUS),
        "spec": {"replicas": 1, "selector": {"matchLabels": meta.selector(stack, c.CORPUS)}, "template": template},
    }
    return [deployment, meta.service(stack, c.CORPUS, c.CORPUS_PORT)]
