#!/usr/bin/env bash
# The demo on its embedded default: bring up the local control plane (simulated GPU nodes) and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export PATH="$PWD/.venv/bin:$PATH"
export KUBECONFIG=$($PY -m tests.support.cluster up | tail -n 1 | sed 's/^export KUBECONFIG=//')
kubectl version
kubectl get nodes -L nvidia.com/gpu.product -o wide
echo
echo "Cluster is up. Use it with: export KUBECONFIG=$KUBECONFIG   (stop it with: make cluster-down)"
