#!/usr/bin/env bash
# Records named and anonymous maps keyed by interface names and by concatenations (one packed
# word, and wider: an address and a name) on Linux 6.18 for KernelTests/KeyedMapTests: ka (scapy
# on va) sends kb UDP datagrams to ports 53 and 54; kb's prerouting chain sets a mark from a map
# keyed by iifname and counts through counter maps of every such key. Printed: kb's ruleset with
# its counters, and its rules as nft -j writes them.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb nft -f - <<'NFT'
table ip t {
	counter c1 { }
	counter c2 { }
	counter c3 { }
	map m { type ifname : mark; elements = { "vb" : 5 } }
	map o { type ifname : counter; elements = { "vb" : "c1" } }
	map cc { type ipv4_addr . inet_service : counter; elements = { 198.18.0.9 . 53 : "c2" } }
	map wide { type ipv4_addr . ifname : counter; elements = { 198.18.0.9 . "vb" : "c3" } }
	chain c {
		type filter hook prerouting priority filter; policy accept;
		meta mark set iifname map @m
		meta mark 5 counter
		counter name iifname map @o
		counter name iifname map { "vb" : "c1" }
		counter name ip saddr . udp dport map @cc
		counter name ip saddr . udp dport map { 198.18.0.9 . 53 : "c2", 198.18.0.9 . 54 : "c1" }
		counter name ip saddr . iifname map @wide
	}
}
NFT
PYTHONPATH="$(dirname "$0")" python3 - <<'PY'
import time
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('ka')
for dport in (53, 54):
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src='198.18.0.9', dst='198.18.0.1', id=dport, ttl=64) / UDP(sport=1000, dport=dport) / Raw(b'map'), iface='va')
    time.sleep(0.2)
PY
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list ruleset | python3 -c "import json,sys; [print(json.dumps(r['rule']['expr'],separators=(',',':'))) for r in json.load(sys.stdin)['nftables'] if 'rule' in r]"
