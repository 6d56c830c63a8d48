#!/usr/bin/env bash
# Installs what schism's tests and its local clusters need on a fresh Debian machine, as root:
# iproute2 (network namespaces), iptables (partitions, packet loss), faketime (clock skew),
# python3 (small listeners in the nemesis tests), chromium (the report's headless-browser test).
# Safe to run again.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: not root; skipping package installation (namespace and fault tests will be skipped)" >&2
  exit 0
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v iptables >/dev/null || need+=(iptables)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || need+=(faketime)
command -v python3 >/dev/null || need+=(python3)
command -v chromium >/dev/null || need+=(chromium)
if [ "${#need[@]}" -gt 0 ] || [ "${SCHISM_SETUP_UPDATE:-}" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The fallback route of NETWORK.md: traffic to the test range dies here if a cluster's link is
# missing, instead of leaving the machine.
ip route add blackhole 192.168.240.0/20 metric 4096 2>/dev/null || true
echo "setup.sh: iproute2, iptables, faketime, chromium ready; blackhole route for 192.168.240.0/20 in place" >&2
