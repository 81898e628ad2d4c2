#!/usr/bin/env bash
# Records `nft monitor trace` on the real kernel (root; nftables and python3 installed) for the
# nft view tests: two namespaces joined by a veth (ta 198.18.0.1 / 2001:db8::1, tb .2 / ::2), a
# ruleset in tb marking packets with meta nftrace set 1, packets sent from ta with Python sockets.
#   scripts/record_nft_trace.sh ip   > Tests/APITests/Cases/nft_trace_ip.txt
#   scripts/record_nft_trace.sh inet > Tests/APITests/Cases/nft_trace_inet.txt
set -euo pipefail
out=$(mktemp)

# ta and tb joined by a veth, addresses of both families, neighbours made permanent (no ARP/ND).
setup() {
  ip netns del ta 2>/dev/null || true; ip netns del tb 2>/dev/null || true
  ip netns add ta; ip netns add tb
  ip link add va netns ta type veth peer name vb netns tb
  ip -n ta link set va address 02:00:00:00:00:01; ip -n tb link set vb address 02:00:00:00:00:02
  ip -n ta addr add 198.18.0.1/24 dev va; ip -n tb addr add 198.18.0.2/24 dev vb
  ip -n ta addr add 2001:db8::1/64 dev va nodad; ip -n tb addr add 2001:db8::2/64 dev vb nodad
  ip -n ta link set va up; ip -n tb link set vb up; ip -n ta link set lo up; ip -n tb link set lo up
  ip -n ta neigh add 198.18.0.2 lladdr 02:00:00:00:00:02 dev va nud permanent
  ip -n tb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
  ip -n ta neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev va nud permanent
  ip -n tb neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
}
# nft monitor trace in tb for 3 s, into $out (the case's `wait` collects it).
watch() {
  ip netns exec tb timeout 3 nft monitor trace > "$out" &
  sleep 0.5
}
trap 'ip netns del ta 2>/dev/null || true; ip netns del tb 2>/dev/null || true' EXIT

case "${1:-}" in
ip)
setup
ip netns exec tb nft -f - <<'NFT'
table ip f {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		meta nftrace set 1
	}
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 54 drop
	}
	chain out {
		type filter hook output priority 0; policy accept;
		meta nftrace set 1
	}
}
NFT
watch
ip netns exec ta python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('198.18.0.1',9))
s.sendto(b'', ('198.18.0.2',54))
s.sendto(b'', ('198.18.0.2',53))
"
ip netns exec ta python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)
s.sendto(bytes([8,0,0xf7,0xfe,0,1,0,0]),('198.18.0.2',0))
import time; time.sleep(0.2)
"
ip netns exec ta python3 -c "
import socket
s=socket.socket(); s.settimeout(1)
try: s.connect(('198.18.0.2',80))
except Exception: pass
"
wait
;;
inet)
setup
ip netns exec tb nft -f - <<'NFT'
table inet f {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		meta l4proto != icmpv6 meta nftrace set 1
		icmpv6 type echo-request meta nftrace set 1
	}
	chain out {
		type filter hook output priority 0; policy accept;
		meta l4proto != icmpv6 meta nftrace set 1
		icmpv6 type echo-reply meta nftrace set 1
	}
}
NFT
watch
ip netns exec ta python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('198.18.0.1',9))
s.sendto(b'0123456789abcdefghij', ('198.18.0.2',54))
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.bind(('2001:db8::1',9))
s.sendto(b'hello', ('2001:db8::2',53))
s=socket.socket(socket.AF_INET6,socket.SOCK_RAW,socket.IPPROTO_ICMPV6)
s.sendto(bytes([128,0,0,0,0,1,0,2]),('2001:db8::2',0))
import time; time.sleep(0.3)
"
wait
;;
*) echo "usage: $0 ip|inet" >&2; exit 2;;
esac
cat "$out"
