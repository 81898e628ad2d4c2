#!/usr/bin/env bash
# Netfilter benchmark (release build): linear chains of 10/1,000/10,000 rules and a 10,000-element set.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product nftbench 2>&1 | tail -n 1
.build/release/nftbench "${1:-200000}"
