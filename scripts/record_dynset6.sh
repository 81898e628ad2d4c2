#!/usr/bin/env bash
# Records sets and meters rules update with IPv6 addresses on Linux 6.18 for
# NFTablesTests/APITests DynamicSet6Tests: pa (va 02:00:00:00:00:01, 2001:db8::1/64) with the
# ruleset below, pb (vb 02:00:00:00:ff:01, 2001:db8::9 and ::10) sending UDP datagrams to ports
# 7000-7003 in the order printed. Printed: the ruleset as nft lists it after each step.
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 2001:db8::1/64 dev va nodad; ip -n pb addr add 2001:db8::9/64 dev vb nodad; ip -n pb addr add 2001:db8::10/64 dev vb nodad
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pa -6 neigh add 2001:db8::10 lladdr 02:00:00:00:ff:01 dev va nud permanent
ip -n pb -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip netns exec pa nft -f - <<'NFT'
table inet f {
	set seen6 {
		type ipv6_addr
		flags dynamic,timeout
		timeout 10m
	}

	chain i {
		type filter hook input priority filter; policy accept;
		udp dport 7000 add @seen6 { ip6 saddr }
		udp dport 7001 ip6 saddr @seen6 counter accept
		udp dport 7002 meter m6 { ip6 saddr limit rate 1/minute burst 1 packets } counter accept
		udp dport 7002 counter drop
		udp dport 7003 delete @seen6 { ip6 saddr }
	}
}
NFT
send() { ip netns exec pb python3 -c "
import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('$1', 0)); s.sendto(b'x', ('2001:db8::1', $2))"; sleep 0.1; echo "sent $1 -> $2"; }
send 2001:db8::9 7001; send 2001:db8::9 7000; send 2001:db8::10 7000; send 2001:db8::9 7001; send 2001:db8::10 7001
send 2001:db8::9 7002; send 2001:db8::9 7002; send 2001:db8::10 7002; send 2001:db8::9 7002
echo "== listed"; ip netns exec pa nft list ruleset
send 2001:db8::9 7003; send 2001:db8::9 7001; send 2001:db8::9 7003
echo "== listed after delete"; ip netns exec pa nft list ruleset
ip netns del pa; ip netns del pb
