#!/usr/bin/env bash
# Records nft's `redirect` in the output hook sending what a host sends to a remote DNS server to a
# resolver of its own on 127.0.0.1:5353 (the local-redirect recipe), through lo, on the real kernel
# (6.18): kb (198.18.0.1) sends from port 5000 to 198.18.0.9:53; the local server reads it and answers;
# the client reads the answer (from 198.18.0.9:53 again: conntrack undoes the redirect). Prints what
# each side read, kb's conntrack entry, the nft trace, counters and lo's stats.
set -e
out=${1:-$(mktemp -d)}
mkdir -p "$out"
. "$(dirname "$0")/netns_pair.sh"
trace_in kb $out/trace.txt "$(cat <<'NFT'
table ip t {
  chain out { type filter hook output priority -200; policy accept; meta nftrace set 1; }
  chain nat_out { type nat hook output priority -100; policy accept; udp dport 53 counter redirect to :5353; }
  chain pre { type filter hook prerouting priority 0; policy accept; counter; }
  chain in { type filter hook input priority 0; policy accept; counter; }
  chain post { type filter hook postrouting priority 0; policy accept; counter; }
}
NFT
)"
ip netns exec kb nstat -az > /dev/null
ip netns exec kb python3 - > $out/calls.txt <<'PY'
import socket, time
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); srv.bind(('127.0.0.1', 5353))
cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); cli.bind(('0.0.0.0', 5000))
cli.sendto(b'query', ('198.18.0.9', 53)); time.sleep(0.2)
q, peer = srv.recvfrom(100); print('server read', q, peer)
srv.sendto(b'answer', peer); time.sleep(0.2)
a, frm = cli.recvfrom(100); print('client read', a, frm)
PY
sleep 0.3
ip netns exec kb conntrack -L > $out/ct.txt 2>&1 || true
ip netns exec kb nstat -a > $out/nstat.txt
ip netns exec kb ip -s -j link show lo > $out/lo.json
ip netns exec kb nft list ruleset > $out/ruleset.txt
kill $MON
echo "recorded into $out"
