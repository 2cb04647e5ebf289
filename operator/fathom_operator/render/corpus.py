"""The local search provider's corpus inside the tool server pod: a ConfigMap or a PVC mounted read-only, or an
image whose files an init container copies into an emptyDir. Pure."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from fathom_operator import constants as c
from fathom_operator.api.spec import CorpusSpec
from fathom_operator.render import pods

MOUNT = "/corpus"


@dataclass(frozen=True)
class CorpusMount:
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    init_containers: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def render_corpus(corpus: CorpusSpec | None) -> CorpusMount:
    if corpus is None:
        return CorpusMount()
    mount = {"name": "corpus", "mountPath": MOUNT, "readOnly": True}
    inner = corpus.path.strip("/")
    init: list[dict[str, Any]] = []
    if corpus.config_map:
        volume: dict[str, Any] = {"name": "corpus", "configMap": {"name": corpus.config_map}}
        location = MOUNT
    elif corpus.pvc:
        volume = {"name": "corpus", "persistentVolumeClaim": {"claimName": corpus.pvc, "readOnly": True}}
        location = posixpath.join(MOUNT, inner) if inner else MOUNT
    else:
        volume = pods.empty_dir("corpus", size_limit="5Gi")
        copy = {
            "name": "corpus",
            "image": str(corpus.image),
            "command": ["cp", "-R", corpus.path.rstrip("/") or "/", f"{MOUNT}/"],
            "volumeMounts": [{"name": "corpus", "mountPath": MOUNT}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": pods.container_security_context(),
        }
        location = posixpath.join(MOUNT, posixpath.basename(corpus.path.rstrip("/"))) if inner else MOUNT
        init = [copy]
    env = {c.ENV_LOCAL_CORPUS: location}
    if corpus.base_url:
        env[c.ENV_LOCAL_CORPUS_BASE_URL] = corpus.base_url
    return CorpusMount([volume], [mount], init, env)
