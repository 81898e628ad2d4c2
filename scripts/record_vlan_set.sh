#!/usr/bin/env bash
# Records VLAN header writes in a netdev ingress chain on Linux 6.18 (nft_payload_set_eval with the
# tag offloaded: nft_payload_set_vlan) for APITests/VLANWriteTests: ka (scapy on va) sends kb 802.1Q
# tagged UDP frames (PCP 1, VIDs 10-15); kb's ingress chain on vb rewrites a field of each and
# forwards it out of a second veth vd to kc (vc), whose AF_PACKET socket reads the tag from
# PACKET_AUXDATA (veth offloads it) and puts it back in the frame printed. Printed: each frame kc
# received (hex, the tag's TPID and TCI inline) and kb's ruleset with counters.
. "$(dirname "$0")/netns_pair.sh"
. "$(dirname "$0")/netns_kc.sh"
ip netns exec kb nft -f - <<'NFT'
table netdev t {
	chain in {
		type filter hook ingress device "vb" priority filter; policy accept;
		vlan id 10 vlan id set 20 fwd to "vd"
		vlan id 11 vlan pcp set 5 fwd to "vd"
		vlan id 11 counter
		vlan id 12 vlan type set ip6 fwd to "vd"
		vlan id 13 ether type set 0x88a8 fwd to "vd"
		vlan id 14 vlan dei set 1 fwd to "vd"
		vlan id 14 counter
		vlan id 15 meta pkttype host counter
		vlan id 15 meta pkttype other counter
		vlan id 15 ether saddr set 02:00:00:00:00:77 fwd to "vd"
	}
}
NFT
PYTHONPATH="$(dirname "$0")" python3 - <<'PY'
import time
from nsutil import enter, capture, drain
from scapy.all import Ether, Dot1Q, IP, UDP, Raw, sendp, conf
conf.verb = 0
enter('kc')
cap = capture('vc')
enter('ka')
for vid in range(10, 16):
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / Dot1Q(prio=1, vlan=vid) / IP(src='198.18.0.9', dst='198.18.0.1', id=vid, ttl=64) / UDP(sport=1000 + vid, dport=9) / Raw(b'v'), iface='va')
    time.sleep(0.2)
drain(cap, 'vc in')
PY
ip netns exec kb nft list ruleset
