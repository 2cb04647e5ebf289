#!/usr/bin/env bash
# Debian packages the test suite starts or reads. Idempotent; needs root for apt-get.
#   hack/test-deps.sh        Python's HTML documentation (a real corpus for the local search backend),
#                            redis-server and PostgreSQL (real cache and database servers), Chromium (the browser
#                            fetcher) and wrk (the tool server benchmark's load generator)
#   hack/test-deps.sh node   the real node: containerd, runc, CNI plugins, iptables, ipset, debootstrap and buildah
set -euo pipefail
if [[ ${1:-} == node ]]; then
  PACKAGES=(containerd runc containernetworking-plugins iptables ipset debootstrap buildah)
else
  PACKAGES=(python3.11-doc redis-server postgresql chromium wrk)
fi
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "test-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  # The real node needs root anyway: without it, its tests are skipped rather than the whole suite failing.
  [[ ${1:-} == node ]] && exit 0
  exit 1
fi
echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The test suite starts its own servers on loopback and its own containerd; the distribution's instances are not needed.
for service in redis-server postgresql containerd; do
  command -v service >/dev/null && service "$service" stop >/dev/null 2>&1 || true
done
