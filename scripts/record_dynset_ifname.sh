#!/usr/bin/env bash
# Records sets, maps and meters keyed by concatenations with an interface name on Linux 6.18
# for APITests/DynamicSet6Tests: pa (va 02:00:00:00:00:01, 198.18.0.1/24) with the ruleset below,
# pb (vb 02:00:00:00:ff:01, 198.18.0.9) sending UDP datagrams from the ports and to the ports
# printed, in that order. Printed: the ruleset as nft lists it after them (Cases/dynset_ifname.txt).
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pb addr add 198.18.0.9/24 dev vb
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip netns exec pa nft -f - <<'NFT'
table inet f {
	set byif {
		type ipv4_addr . ifname
		flags dynamic
	}

	map ifmarks {
		type ifname . ipv4_addr : mark
		elements = { "va" . 198.18.0.9 : 0x00000007 }
	}

	chain i {
		type filter hook input priority filter; policy accept;
		udp dport 7000 add @byif { ip saddr . iifname }
		udp dport 7010 ip saddr . iifname @byif counter
		meta mark set iifname . ip saddr map @ifmarks
		meta mark 0x00000007 counter
		udp dport 7002 meter m { iifname . udp sport limit rate 1/minute burst 1 packets } counter accept
		udp dport 7002 counter drop
	}
}
NFT
send() { ip netns exec pb python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$1', $2)); s.sendto(b'x', ('198.18.0.1', $3))"; sleep 0.1; echo "sent $1 port $2 -> $3"; }
send 198.18.0.9 1111 7010; send 198.18.0.9 1111 7000; send 198.18.0.9 1111 7010
send 198.18.0.9 5555 7002; send 198.18.0.9 5555 7002; send 198.18.0.9 5556 7002
echo "== listed"; ip netns exec pa nft list ruleset
ip netns del pa; ip netns del pb
