#!/usr/bin/env bash
# GET /healthz side by side in one run (release builds, client and servers on this machine):
#   h2:       PacketStack vs nghttpd, the C reference server (h2load -c10 -m10, prior knowledge)
#   HTTP/1.1: PacketStack vs a Hummingbird 2 hello-JSON app (bench/hbhello; wrk -t2 -c20)
# Each server answers {"status":"ok"}. The servers take turns for `rounds` rounds so a change of
# the machine's speed meets all alike; the figures are the rounds' medians.
#   bench/http_compare.sh [seconds per run] [rounds]   (default 8 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
rounds=${2:-3}
scripts/setup.sh --bench >/dev/null
if ! command -v nghttpd >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nghttp2-server >/dev/null
fi
export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --product packetstackd 2>&1 | tail -n 1
(cd bench/hbhello && swift build -c release 2>&1 | tail -n 1)

tmp=$(mktemp -d)
ps_port=18780 ng_port=18781 hb_port=18782
mkdir "$tmp/docroot"
printf '{"status":"ok"}' > "$tmp/docroot/healthz"
.build/release/packetstackd --listen 127.0.0.1:$ps_port --db "$tmp/bench.db" 2>"$tmp/ps.log" &
ps_pid=$!
nghttpd --no-tls -d "$tmp/docroot" $ng_port 2>"$tmp/ng.log" &
ng_pid=$!
bench/hbhello/.build/release/HelloJSON $hb_port >"$tmp/hb.log" 2>&1 &
hb_pid=$!
trap 'kill $ps_pid $ng_pid $hb_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for url in http://127.0.0.1:$ps_port/healthz http://127.0.0.1:$hb_port/healthz; do
  for _ in $(seq 100); do curl -sf "$url" >/dev/null && break; sleep 0.1; done
done
for _ in $(seq 100); do curl -sf --http2-prior-knowledge http://127.0.0.1:$ng_port/healthz >/dev/null && break; sleep 0.1; done
for url in http://127.0.0.1:$ps_port/healthz http://127.0.0.1:$hb_port/healthz; do
  echo "$url: $(curl -s "$url")"
done
echo "http://127.0.0.1:$ng_port/healthz (h2): $(curl -s --http2-prior-knowledge http://127.0.0.1:$ng_port/healthz)"

h2rate() { # url -> requests/s; fails when a request failed
  local out
  out=$(h2load -c10 -m10 -D "$secs" --warm-up-time=1 "$1")
  grep -qE "^requests: .* 0 failed, 0 errored" <<<"$out" || { echo "h2load: failures against $1" >&2; echo "$out" >&2; exit 1; }
  grep -E "^finished in" <<<"$out" | sed -E 's/.*, ([0-9.]+) req\/s.*/\1/'
}
h1rate() { # url -> requests/s; fails on socket errors or non-2xx answers
  local out
  out=$(wrk -t2 -c20 -d"${secs}s" "$1")
  if grep -qE "Socket errors|Non-2xx" <<<"$out"; then echo "wrk: errors against $1" >&2; echo "$out" >&2; exit 1; fi
  grep Requests/sec <<<"$out" | awk '{print $2}'
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ps2="" ng2="" ps1="" hb1=""
for r in $(seq "$rounds"); do
  ps2="$ps2 $(h2rate http://127.0.0.1:$ps_port/healthz)"
  ng2="$ng2 $(h2rate http://127.0.0.1:$ng_port/healthz)"
  ps1="$ps1 $(h1rate http://127.0.0.1:$ps_port/healthz)"
  hb1="$hb1 $(h1rate http://127.0.0.1:$hb_port/healthz)"
  echo "round $r: h2 PacketStack ${ps2##* } vs nghttpd ${ng2##* } req/s; h1 PacketStack ${ps1##* } vs Hummingbird ${hb1##* } req/s"
done
m_ps2=$(median <<<"$ps2") m_ng2=$(median <<<"$ng2") m_ps1=$(median <<<"$ps1") m_hb1=$(median <<<"$hb1")
echo "== medians of $rounds rounds, ${secs}s each"
echo "h2  (h2load -c10 -m10): PacketStack $m_ps2 req/s, nghttpd $m_ng2 req/s: $(awk -v a="$m_ps2" -v b="$m_ng2" 'BEGIN {printf "%.2f", a/b}')x (target at least 0.8x)"
echo "h1  (wrk -t2 -c20):     PacketStack $m_ps1 req/s, Hummingbird 2 $m_hb1 req/s: $(awk -v a="$m_ps1" -v b="$m_hb1" 'BEGIN {printf "%.2f", a/b}')x (target at least 3x)"
