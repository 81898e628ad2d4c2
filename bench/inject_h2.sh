#!/usr/bin/env bash
# One-packet injections over h2 (h2load -c10 -m10 with a POST body) on a release build, client and
# server on this machine: requests/s with summary traces (the issue's 100,000 req/s goal) and none.
#   bench/inject_h2.sh [seconds]   (default 6)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-6}
scripts/setup.sh --bench >/dev/null
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product packetstackd 2>&1 | tail -n 1
tmp=$(mktemp -d)
port=18783
# Enough room for every trace of the run (the default keeps 1,000,000 per stack).
.build/release/packetstackd --listen 127.0.0.1:$port --db "$tmp/bench.db" --max-traces 100000000 2>"$tmp/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
curl -sf -o /dev/null http://127.0.0.1:$port/v1/stacks \
  -d '{"name":"host","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}'
printf '%s' '{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}]}' > "$tmp/packet.json"
for mode in summary none; do
  out=$(h2load -c10 -m10 -D "$secs" --warm-up-time=1 -d "$tmp/packet.json" -H "content-type: application/json" \
        "http://127.0.0.1:$port/v1/stacks/host/packets?trace=$mode")
  grep -qE "^requests: .* 0 failed, 0 errored" <<<"$out" || { echo "h2load: failures with trace=$mode" >&2; echo "$out" >&2; exit 1; }
  grep -qE "^status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx" <<<"$out" || { echo "h2load: non-2xx answers with trace=$mode" >&2; echo "$out" >&2; exit 1; }
  echo "trace=$mode: $(grep -E '^finished in' <<<"$out" | sed -E 's/.*, ([0-9.]+) req\/s.*/\1/') req/s (goal for summary: 100,000)"
done
