#!/usr/bin/env bash
# Records IPv6 addresses under a mask and as the keys of data maps on Linux 6.18 for
# APITests/DynamicSet6Tests: pa (va 02:00:00:00:00:01, 2001:db8::1/64) with the ruleset below, pb
# (vb 02:00:00:00:ff:01, 2001:db8::9, ::10 and ::11) sending one UDP datagram to port 7000 from
# each address in turn, from port 40000. Printed: the ruleset as nft lists it afterwards (its counters).
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 2001:db8::1/64 dev va nodad
for a in 9 10 11; do ip -n pb addr add 2001:db8::$a/64 dev vb nodad; ip -n pa -6 neigh add 2001:db8::$a lladdr 02:00:00:00:ff:01 dev va nud permanent; done
ip -n pb -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip netns exec pa nft -f - <<'NFT'
table inet f {
	map marks6 {
		type ipv6_addr : mark
		flags interval
		elements = { 2001:db8::9 : 0x00000009, 2001:db8::10-2001:db8::1f : 0x00000010 }
	}

	map flowmarks {
		type ipv6_addr . inet_service : mark
		elements = { 2001:db8::10 . 40000 : 0x00000020, 2001:db8::11 . 40001 : 0x00000021 }
	}

	chain i {
		type filter hook input priority filter; policy accept;
		udp dport 7000 ip6 saddr & ffff:ffff:ffff:ffff:: == 2001:db8:: counter
		udp dport 7000 ip6 saddr & ::ffff == ::9 counter
		udp dport 7000 ip6 saddr & ::ffff != ::9 counter
		udp dport 7000 meta mark set ip6 saddr map { 2001:db8::9 : 0x1, 2001:db8::10 : 0x2 }
		udp dport 7000 meta mark 0x1 counter
		udp dport 7000 meta mark 0x2 counter
		udp dport 7000 meta mark set ip6 saddr map @marks6
		udp dport 7000 meta mark 0x9 counter
		udp dport 7000 meta mark 0x10 counter
		udp dport 7000 meta mark set ip6 saddr . udp sport map @flowmarks
		udp dport 7000 meta mark 0x20 counter
		udp dport 7000 meta mark 0x21 counter
	}
}
NFT
for a in 9 10 11; do ip netns exec pb python3 -c "
import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('2001:db8::$a', 40000)); s.sendto(b'x', ('2001:db8::1', 7000))"; sleep 0.1; done
echo "== listed"; ip netns exec pa nft list ruleset
ip netns del pa; ip netns del pb
