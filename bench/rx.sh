#!/usr/bin/env bash
# RX-path benchmark (release build): prints packets/s and ns/packet. bench/rx.sh [packets] [burst]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product psbench 2>&1 | tail -n 1
.build/release/psbench "${1:-5000000}" "${2:-64}"
