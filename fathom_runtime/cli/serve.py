"""`fathom toolserver` and `fathom orchestrator`: run a service with uvicorn on one asyncio loop."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import uvicorn
from pydantic import ValidationError

from fathom_runtime.common import logging as jsonlog
from fathom_runtime.common import server


def _serve(args: argparse.Namespace, name: str, settings_class: Any, create_app: Any) -> int:
    """Parse the FATHOM_* settings (a readable error if they are wrong), then serve the app."""
    jsonlog.configure(args.log_level)
    try:
        settings = settings_class()
    except ValidationError as exc:
        sys.stderr.write(f"fathom {name}: invalid configuration:\n{exc}\n")
        return 2
    try:
        app = create_app(settings)
    except ValueError as exc:  # a configuration problem found at start (a key file, an egress entry): one line
        sys.stderr.write(f"fathom {name}: {exc}\n")
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, **server.uvicorn_options())
    return 0


def run_toolserver(args: argparse.Namespace) -> int:
    from fathom_runtime.toolserver.app import create_app
    from fathom_runtime.toolserver.settings import ToolServerSettings

    return _serve(args, "toolserver", ToolServerSettings, create_app)


def run_orchestrator(args: argparse.Namespace) -> int:
    from fathom_runtime.orchestrator.app import create_app
    from fathom_runtime.orchestrator.settings import OrchestratorSettings

    return _serve(args, "orchestrator", OrchestratorSettings, create_app)
