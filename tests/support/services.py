"""Runs an ASGI app under a real uvicorn server on loopback, in a background thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from fathom_runtime.common import server
from tests.support.operator import free_port


class ServedApp:
    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            **server.uvicorn_options(),  # as `fathom orchestrator` and `fathom toolserver` serve
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the app failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start within 30 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
