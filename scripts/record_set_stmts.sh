#!/usr/bin/env bash
# Records a set's own statements on Linux 6.18 (nft 1.0.6), for KernelTests/ElementCounterTests:
# `quota`, `limit` and `counter quota` declared in a set give each element its own (the kernel
# clones the set's expressions into an element added without any), and a lookup that finds the
# element runs them (nft_set_elem_update_expr: a quota used up or a limit out of tokens ends the
# rule). ka (scapy on va) sends kb five 31-byte UDP datagrams; printed: kb's ruleset afterwards.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb nft -f - <<'NFT'
table ip t {
	set s {
		type ipv4_addr
		quota 70 bytes
		elements = { 198.18.0.9 }
	}
	set l {
		type ipv4_addr
		limit rate 2/minute burst 2 packets
		elements = { 198.18.0.9 }
	}
	set c {
		type ipv4_addr
		counter
		quota 100 bytes
		elements = { 198.18.0.9, 198.18.0.7 }
	}
	chain c {
		type filter hook prerouting priority filter; policy accept;
		ip saddr @s counter
		ip saddr @l counter
		ip saddr @c counter
	}
}
NFT
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import time
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('ka')
for k in range(5):
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src='198.18.0.9', dst='198.18.0.1', ttl=64) / UDP(sport=1000, dport=9) / Raw(b'cnt'), iface='va')
    time.sleep(0.05)
PY
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list set ip t c
