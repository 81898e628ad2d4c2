#!/usr/bin/env bash
# Records keys rules add that start with a value (`add @c { 234 . ip saddr }`) on Linux 6.18 with
# nft 1.0.6, for KernelTests/PortKnockTests: ka (scapy on va) sends kb two UDP datagrams from two
# sources; the set of `inet_service . ipv4_addr` gets the value and each source, the set of
# `ipv4_addr . inet_service . ipv4_addr` a value between two fields, and a lookup of a key
# built the same way finds them. Printed: kb's ruleset afterwards.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb nft -f - <<'NFT'
table ip t {
	set c {
		type inet_service . ipv4_addr
		flags dynamic
	}
	set m {
		type ipv4_addr . inet_service . ipv4_addr
		flags dynamic
	}
	chain c {
		type filter hook prerouting priority filter; policy accept;
		add @c { 234 . ip saddr }
		add @m { ip saddr . 53 . ip daddr }
		udp dport . ip saddr @c counter
	}
}
NFT
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import time
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('ka')
for src, dport in [('198.18.0.9', 234), ('198.18.0.7', 235)]:
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src=src, dst='198.18.0.1', ttl=64) / UDP(sport=1000, dport=dport) / Raw(b'cnt'), iface='va')
    time.sleep(0.05)
PY
ip netns exec kb nft list ruleset
