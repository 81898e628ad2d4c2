#!/usr/bin/env bash
# Records sets and meters rules update with concatenated keys wider than 64 bits on Linux 6.18
# for APITests/DynamicSet6Tests: pa (va 02:00:00:00:00:01, 198.18.0.1/24, 2001:db8::1/64) with
# the ruleset below, pb (vb 02:00:00:00:ff:01, 198.18.0.9, 2001:db8::9) sending UDP datagrams
# from the ports and to the ports printed, in that order. Printed: the ruleset as nft lists it
# after the adds and lookups, and again after the delete.
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad
ip -n pb addr add 198.18.0.9/24 dev vb; ip -n pb addr add 2001:db8::9/64 dev vb nodad
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pb -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip netns exec pa nft -f - <<'NFT'
table inet f {
	set flows6 {
		type ipv6_addr . inet_service
		flags dynamic,timeout
		timeout 10m
	}

	set flows4 {
		type ipv4_addr . ipv4_addr . inet_service
		flags dynamic
	}

	chain i {
		type filter hook input priority filter; policy accept;
		udp dport 7000 add @flows6 { ip6 saddr . udp sport }
		udp dport 7010 ip6 saddr . udp sport @flows6 counter
		udp dport 7001 add @flows4 { ip saddr . ip daddr . udp sport }
		udp dport 7010 ip saddr . ip daddr . udp sport @flows4 counter
		udp dport 7002 meter m { ip6 saddr . udp dport limit rate 1/minute burst 1 packets } counter accept
		udp dport 7002 counter drop
		udp dport 7003 delete @flows6 { ip6 saddr . udp sport }
	}
}
NFT
send() { ip netns exec pb python3 -c "
import socket; f = socket.AF_INET6 if ':' in '$1' else socket.AF_INET; s = socket.socket(f, socket.SOCK_DGRAM); s.bind(('$1', $2))
s.sendto(b'x', ('2001:db8::1' if f == socket.AF_INET6 else '198.18.0.1', $3))"; sleep 0.1; echo "sent $1 port $2 -> $3"; }
send 2001:db8::9 1111 7000; send 2001:db8::9 1111 7010; send 2001:db8::9 2222 7010
send 198.18.0.9 3333 7001; send 198.18.0.9 3333 7010; send 198.18.0.9 4444 7010
send 2001:db8::9 5555 7002; send 2001:db8::9 5556 7002; send 2001:db8::9 5557 7002
echo "== listed"; ip netns exec pa nft list ruleset
send 2001:db8::9 1111 7003; send 2001:db8::9 1111 7010
echo "== listed after delete"; ip netns exec pa nft list ruleset
ip netns del pa; ip netns del pb
