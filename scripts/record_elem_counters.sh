#!/usr/bin/env bash
# Records per-element counters on Linux 6.18 for KernelTests/ElementCounterTests: ka (scapy on
# va) sends kb two UDP datagrams; kb's table t holds sets and maps whose elements carry a
# counter, given per element or by the set's own `counter` (nft 1.0.6's set expressions), looked
# up by `@s`, `vmap @m`, `map @d` and added to by `add @q`. Printed: kb's ruleset afterwards.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb nft -f - <<'NFT'
table ip t {
	set s { type ipv4_addr; flags dynamic; elements = { 198.18.0.9 counter, 198.18.0.7 counter } }
	set sc { type ipv4_addr; counter; elements = { 198.18.0.9, 198.18.0.7 } }
	set q { type ipv4_addr; flags dynamic; counter; }
	set r { type ipv4_addr; flags interval; counter; elements = { 198.18.0.0/24 } }
	map m { type ipv4_addr : verdict; counter; elements = { 198.18.0.9 : continue } }
	map d { type ipv4_addr : mark; counter; elements = { 198.18.0.9 : 0x5 } }
	chain c {
		type filter hook prerouting priority filter; policy accept;
		ip saddr @s
		ip saddr @sc
		ip saddr != @sc counter
		add @q { ip saddr }
		ip saddr @r
		ip saddr vmap @m
		meta mark set ip saddr map @d
	}
}
NFT
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import time
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('ka')
for k in range(2):
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src='198.18.0.9', dst='198.18.0.1', ttl=64) / UDP(sport=1000, dport=9) / Raw(b'cnt'), iface='va')
    time.sleep(0.1)
PY
ip netns exec kb nft list ruleset
