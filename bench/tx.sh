#!/usr/bin/env bash
# TX-path benchmark (release build): UDP sends through qdisc and TX ring into a second stack's socket,
# then to 127.0.0.1 over lo; as root, the real kernel's figure over lo beside it (bench/kernel/udplo.c
# in a namespace of its own).
# bench/tx.sh [datagrams] [kernel seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product txbench 2>&1 | tail -n 1
.build/release/txbench "${1:-2000000}"
if [ "$(id -u)" = 0 ]; then
    tmp=$(mktemp -d); ns=psudplo$$
    trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"' EXIT
    cc -O2 -o "$tmp/udplo" bench/kernel/udplo.c
    ip netns add "$ns"; ip -n "$ns" link set lo up
    ip netns exec "$ns" "$tmp/udplo" "${2:-5}"
fi
