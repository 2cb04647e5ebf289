"""`fathom operator`: imports the operator package only when asked, so the runtime never depends on it."""

from __future__ import annotations

import argparse
import asyncio
import os

from fathom_runtime.common import logging as jsonlog


def run(args: argparse.Namespace) -> int:
    from fathom_operator import main

    jsonlog.configure(args.log_level)  # one log format across the product, at the level asked for
    if args.kubeconfig:  # Kopf logs in through the kubernetes package's defaults, which read this variable
        os.environ["KUBECONFIG"] = args.kubeconfig
    try:
        asyncio.run(
            main.run(
                namespaces=args.namespace,
                all_namespaces=args.all_namespaces,
                peering_name=args.peering,
                host=args.host,
                port=args.port,
                kubeconfig=args.kubeconfig,
            )
        )
    except KeyboardInterrupt:
        return 130
    return 0
