"""python -m localcluster up | down | kubeconfig | images"""

from __future__ import annotations

import argparse
import sys

from localcluster import cluster, controlplane, node


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localcluster",
        description="The local Kubernetes cluster: a real control plane, simulated GPU/CPU nodes (kwok) and, as root "
        "with containerd installed, one real kubelet node that runs this project's images.",
    )
    parser.add_argument("action", choices=["up", "down", "kubeconfig", "images"],
                        help="up: start or reuse (last line: export KUBECONFIG=...); down: stop and clean up; "
                        "images: build the project's images and load them into the real node")  # fmt: skip
    parser.add_argument("--name", default=cluster.DEFAULT_NAME, help="cluster name (default: %(default)s)")
    parser.add_argument("--no-real-node", action="store_true", help="only the simulated nodes")
    parser.add_argument("--optional", action="store_true", help="images: skip quietly where no real node can run")
    args = parser.parse_args(argv)
    if args.action == "up":
        kubeconfig = cluster.up(args.name, real_node=False if args.no_real_node else None)
        sys.stdout.write(f"export KUBECONFIG={kubeconfig}\n")
    elif args.action == "down":
        cluster.down(args.name)
    elif args.action == "images":
        reason = node.unavailable_reason()
        if reason and args.optional:
            sys.stderr.write(f"[cluster] no images built: {reason}\n")
            return 0
        for archive in cluster.build_images():
            sys.stdout.write(f"{archive}\n")
    else:
        sys.stdout.write(f"{controlplane.kubeconfig_path(args.name)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
