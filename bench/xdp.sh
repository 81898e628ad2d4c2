#!/usr/bin/env bash
# XDP benchmark (release build): the interpreter alone and the stack's native XDP path for a
# drop-by-port program and an XDP_TX reflector, a tc ingress drop-by-port on clsact, then (as root) the kernel's own figures for the
# same objects on a veth, in one run.   bench/xdp.sh [packets] [kernel seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for p in drop_port reflect tc_drop_port; do clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "bench/xdp/$p.c" -o "$tmp/$p.o"; done
swift build -c release --product xdpbench 2>&1 | tail -n 1
.build/release/xdpbench "$tmp/drop_port.o" "$tmp/reflect.o" "${1:-5000000}" "$tmp/tc_drop_port.o"
if [ "$(id -u)" = 0 ]; then bench/kernel/xdp.sh "${2:-5}"; else echo "kernel side skipped: needs root"; fi
