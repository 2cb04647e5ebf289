"""A small JSON-over-REST client on top of the kubernetes package's configuration and connection pool.

It exists because server-side apply, label-selected lists and discovery are plain REST calls; the generated typed
API adds nothing here. Every error becomes a KubeError (errors.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from fathom_operator.errors import KubeError

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
REQUEST_TIMEOUT_SECONDS = 30


def load_api_client(kubeconfig: str | None = None) -> k8s_client.ApiClient:
    """In-cluster credentials inside a pod, else the given kubeconfig (or the default one)."""
    if kubeconfig is None:
        try:
            k8s_config.load_incluster_config()
            return k8s_client.ApiClient()
        except k8s_config.ConfigException:
            pass
    return k8s_config.new_client_from_config(config_file=kubeconfig)


class Kube:
    """JSON requests against the API server. Thread-safe (the pool is), so Kopf's sync handlers may share it."""

    def __init__(self, api_client: k8s_client.ApiClient) -> None:
        self._api = api_client

    def request(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> JSON:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            m, url, hdrs, payload, _ = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(
                m, url, header_params=hdrs, body=payload, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
            response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(0, "ConnectionError", str(exc), method=method, path=path) from exc
        data = _decode(response.data)
        if response.status >= 400:
            reason, message = str(data.get("reason", "")), str(data.get("message", data.get("text", "")))
            raise KubeError(response.status, reason, message, method=method, path=path)
        return data

    def get(self, path: str, **query: str) -> JSON:
        return self.request("GET", path, query=list(query.items()))

    def get_or_none(self, path: str) -> JSON | None:
        try:
            return self.get(path)
        except KubeError as exc:
            if exc.not_found:
                return None
            raise


def _decode(raw: bytes | None) -> JSON:
    """The JSON body; some errors (an unknown API group's 404) come back as plain text."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"text": raw.decode(errors="replace")[:500]}
    return data if isinstance(data, dict) else {"items": data}
