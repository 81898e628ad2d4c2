#!/usr/bin/env bash
# TX-path benchmark (release build): UDP sends through qdisc and TX ring into a second stack's socket.
# bench/tx.sh [datagrams]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product txbench 2>&1 | tail -n 1
.build/release/txbench "${1:-2000000}"
