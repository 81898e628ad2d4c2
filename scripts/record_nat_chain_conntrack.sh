#!/usr/bin/env bash
# Records that a nat chain alone does not make the kernel track connections: kb has an empty nat
# prerouting chain, ka sends a datagram, `conntrack -L` in kb lists nothing (Linux 6.18: "0 flow
# entries have been shown"). Kept as XtablesRecordedTests.testAnEmptyNatChainTracksNothing.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip t { chain c { type nat hook prerouting priority -100; }; }
NFT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
conf.L3socket(iface='va').send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=1000, dport=53)/b'x')
"
sleep 0.2
ip netns exec kb conntrack -L
