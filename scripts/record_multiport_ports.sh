#!/usr/bin/env bash
# Records xt_multiport's --ports (either port) on the real kernel: counting INPUT rules in kb and
# datagrams from ka between ports in and out of the lists. Prints the counters.
# Kept as XtablesRecordedTests.testMultiportEitherPortAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -p udp -m multiport --ports 22,80:90
-A INPUT -i vb -p udp -m multiport ! --ports 53
-A INPUT -i vb -p udp -m multiport --ports 85
COMMIT
IPT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
for sp, dp in [(22, 1000), (1000, 22), (1000, 85), (90, 53), (53, 53), (1000, 2000)]:
    s.send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=sp, dport=dp)/b'x')
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
