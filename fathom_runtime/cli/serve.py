"""`fathom toolserver` and `fathom orchestrator`: run a service with uvicorn on one asyncio loop."""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError

from fathom_runtime.common import logging as jsonlog


def run_toolserver(args: argparse.Namespace) -> int:
    from fathom_runtime.toolserver.app import create_app
    from fathom_runtime.toolserver.settings import ToolServerSettings

    jsonlog.configure(args.log_level)
    try:
        settings = ToolServerSettings()
    except ValidationError as exc:
        sys.stderr.write(f"fathom toolserver: invalid configuration:\n{exc}\n")
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def run_orchestrator(args: argparse.Namespace) -> int:
    from fathom_runtime.orchestrator.app import create_app
    from fathom_runtime.orchestrator.settings import OrchestratorSettings

    jsonlog.configure(args.log_level)
    try:
        settings = OrchestratorSettings()
    except ValidationError as exc:
        sys.stderr.write(f"fathom orchestrator: invalid configuration:\n{exc}\n")
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None, access_log=False)
    return 0
