#!/usr/bin/env bash
# Records named and anonymous maps keyed by interface names and by concatenations (one packed
# word, and wider: an address and a name) on Linux 6.18 for KernelTests/KeyedMapTests: ka (scapy
# on va) sends kb UDP datagrams to ports 53 and 54, twice. The first time kb's table t sets a
# mark from a map keyed by iifname and counts through counter maps of every such key; the second
# time table u does the same with interface indexes (iface_index sets and maps), a verdict map
# keyed by iifname, and a NAT map keyed by iifname for port 54. Printed each time: the frames ka
# received (hex: the port unreachables, the NATed one quoting the datagram as ka sent it), kb's
# ruleset with its counters, and its rules as nft -j writes them.
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
send() {
PYTHONPATH="$(dirname "$0")" python3 - <<'PY'
import time
from nsutil import enter, capture, drain
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('ka')
back = capture('va')
for dport in (53, 54):
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src='198.18.0.9', dst='198.18.0.1', id=dport, ttl=64) / UDP(sport=1000, dport=dport) / Raw(b'map'), iface='va')
    time.sleep(0.2)
drain(back, 'va in')
PY
}
send
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list ruleset | python3 -c "import json,sys; [print(json.dumps(r['rule']['expr'],separators=(',',':'))) for r in json.load(sys.stdin)['nftables'] if 'rule' in r]"
ip netns exec kb nft flush ruleset
ip netns exec kb nft -f - <<'NFT'
table ip u {
	counter c4 { }
	set s { type iface_index; elements = { "vb", "lo" } }
	map v { type ifname : verdict; elements = { "vb" : jump x } }
	map vi { type iface_index : verdict; elements = { "vb" : jump x } }
	map mm { type iface_index : mark; elements = { "vb" : 7 } }
	map o { type iface_index : counter; elements = { "vb" : "c4" } }
	chain x { counter; }
	chain c {
		type filter hook prerouting priority 10; policy accept;
		iifname vmap @v
		iif vmap @vi
		iif @s counter
		meta mark set iif map @mm
		meta mark 7 counter
		counter name iif map @o
	}
	chain n {
		type nat hook prerouting priority dstnat; policy accept;
		udp dport 54 dnat to iifname map { "vb" : 198.18.0.1 . 5353 }
	}
	chain i {
		type filter hook input priority filter; policy accept;
		ct status dnat counter
	}
}
NFT
send
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list ruleset | python3 -c "import json,sys; [print(json.dumps(r['rule']['expr'],separators=(',',':'))) for r in json.load(sys.stdin)['nftables'] if 'rule' in r]"
