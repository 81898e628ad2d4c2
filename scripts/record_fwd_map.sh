#!/usr/bin/env bash
# Records `fwd to KEY map { K : "DEVICE" }` and `dup to KEY map { ... }` in a netdev ingress chain
# on Linux 6.18 for KernelTests/FwdMapTests: ka (scapy on va) sends kb UDP datagrams from ports
# 1001-1004; kb's ingress chain on vb forwards (port 9) or copies (port 10) those its map has a
# device for out of vd to kc (vc), and the rule breaks for the others (its counter after counts
# them, and they go on to kb's closed ports). Printed: the frames kc received (hex), what ka got
# back, kb's ruleset with counters and as nft -j writes its rules.
. "$(dirname "$0")/netns_pair.sh"
. "$(dirname "$0")/netns_kc.sh"
ip -n kb neigh add 198.18.0.9 lladdr 02:00:00:00:00:09 dev vb nud permanent
ip netns exec kb nft -f - <<'NFT'
table netdev t {
	chain in {
		type filter hook ingress device "vb" priority filter; policy accept;
		udp dport 9 fwd to udp sport map { 1001 : "vd", 1005 : "vd" }
		udp dport 9 counter
		udp dport 10 dup to udp sport map { 1003 : "vd" }
		udp dport 10 counter
	}
}
NFT
PYTHONPATH="$(dirname "$0")" python3 - <<'PY'
import time
from nsutil import enter, capture, drain
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('kc')
cap = capture('vc')
enter('ka')
back = capture('va')
for sport, dport in ((1001, 9), (1002, 9), (1003, 10), (1004, 10)):
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src='198.18.0.9', dst='198.18.0.1', id=sport, ttl=64) / UDP(sport=sport, dport=dport) / Raw(b'map'), iface='va')
    time.sleep(0.2)
drain(cap, 'vc in'); drain(back, 'va in')
PY
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list ruleset | python3 -c "import json,sys; [print(json.dumps(r['rule']['expr'],separators=(',',':'))) for r in json.load(sys.stdin)['nftables'] if 'rule' in r]"
