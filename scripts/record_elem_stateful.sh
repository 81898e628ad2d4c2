#!/usr/bin/env bash
# Records what a lookup does with an element's quota and limit on Linux 6.18, for
# KernelTests/ElementCounterTests: ka (scapy on va) sends kb five UDP datagrams; kb's rules add
# each source to a set with a quota and a limit (nft_dynset runs them), then look it up
# (nft_lookup runs them again, nft_set_elem_update_expr, and a quota used up or a limit out of
# tokens ends the rule). Printed: kb's ruleset afterwards.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb nft -f - <<'NFT'
table ip t {
	set s { type ipv4_addr; flags dynamic; }
	set l { type ipv4_addr; flags dynamic; }
	chain c {
		type filter hook prerouting priority filter; policy accept;
		update @s { ip saddr quota 100 bytes }
		ip saddr @s counter
		update @l { ip saddr limit rate 2/minute burst 2 packets }
		ip saddr @l counter
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
