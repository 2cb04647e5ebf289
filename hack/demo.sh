#!/usr/bin/env bash
# The demo on its embedded default: a local control plane with simulated GPU nodes, the CRD, the operator
# (a local process), and examples/01-minimal.yaml reconciled to Ready. Leaves the cluster up for exploring.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
PY=.venv/bin/python
NS=${DEMO_NAMESPACE:-fathom-demo}
export KUBECONFIG=$($PY -m localcluster up | tail -n 1 | sed 's/^export KUBECONFIG=//')

echo "== cluster"
kubectl version 2>/dev/null | grep Server
kubectl get nodes -L nvidia.com/gpu.product

echo "== CRDs"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established crd/deepresearchstacks.fathom.dev >/dev/null
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$NS" create secret generic serper --from-literal=api-key=demo-placeholder \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null

echo "== operator (local process, log: /tmp/fathom-demo-operator.log)"
fathom operator --namespace "$NS" --port 18080 >/tmp/fathom-demo-operator.log 2>&1 &
OPERATOR=$!
trap 'kill $OPERATOR 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.2; done

echo "== kubectl apply -f examples/01-minimal.yaml"
kubectl -n "$NS" apply -f examples/01-minimal.yaml
start=$SECONDS
kubectl -n "$NS" wait drs/research --for=jsonpath='{.status.phase}'=Ready --timeout=120s
echo "Ready after $((SECONDS - start))s"
kubectl -n "$NS" get drs,deployments,services,pods -o wide
echo
kubectl -n "$NS" get drs research -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}){"\n"}{end}'
echo
echo "The cluster stays up: export KUBECONFIG=$KUBECONFIG   (stop it with: make cluster-down)"
echo "Run the operator yourself with: .venv/bin/fathom operator --namespace $NS"
