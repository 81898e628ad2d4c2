#!/usr/bin/env bash
# Builds (release) and starts packetstackd; extra arguments go to it (e.g. --listen 127.0.0.1:9000 --db /tmp/x.db).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product packetstackd
exec .build/release/packetstackd "$@"
