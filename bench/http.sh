#!/usr/bin/env bash
# HTTP benchmark of GET /healthz on a release build: h2load over h2c and wrk over HTTP/1.1,
# client and server on this machine. Prints requests/s and p99 latency for each.
#   bench/http.sh [seconds]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
scripts/setup.sh --bench >/dev/null
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product packetstackd 2>&1 | tail -n 1
tmp=$(mktemp -d)
port=18780
.build/release/packetstackd --listen 127.0.0.1:$port --db "$tmp/bench.db" 2>"$tmp/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done

echo "== h2 (h2load -c10 -m10, ${secs}s, prior knowledge)"
h2load -c10 -m10 -D "$secs" --warm-up-time=1 --log-file="$tmp/h2.log" http://127.0.0.1:$port/healthz > "$tmp/h2.out"
grep -E "^finished in|^requests:" "$tmp/h2.out"
# Column 3 of the log is the response time in microseconds.
p99=$(awk '{print $3}' "$tmp/h2.log" | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2f", a[i]/1000}')
rps=$(grep -E "^finished in" "$tmp/h2.out" | sed -E 's/.*, ([0-9.]+) req\/s.*/\1/')
echo "h2: ${rps} req/s, p99 ${p99} ms"

echo "== h1 (wrk -t2 -c20, ${secs}s)"
wrk -t2 -c20 -d"${secs}s" --latency http://127.0.0.1:$port/healthz > "$tmp/h1.out"
grep -E "Requests/sec|99%" "$tmp/h1.out"
echo "h1: $(grep Requests/sec "$tmp/h1.out" | awk '{print $2}') req/s, p99 $(grep ' 99%' "$tmp/h1.out" | awk '{print $2}')"
