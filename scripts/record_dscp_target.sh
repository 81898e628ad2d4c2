#!/usr/bin/env bash
# Records iptables' DSCP target (xt_DSCP, mangle only; listed by its translation `ip dscp set`) on
# the real kernel: kb's mangle PREROUTING sets DSCP 0x2e on datagrams from ka, whose ECN bits stay;
# counting INPUT rules see the rewritten TOS byte. Kept as XtablesRecordedTests.testDSCPTargetAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i vb -p udp -j DSCP --set-dscp 0x2e
-A PREROUTING -i vb -p tcp -j DSCP --set-dscp-class AF11
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -m dscp --dscp 0x2e
-A INPUT -i vb -m tos --tos 0xb9/0xff
-A INPUT -i vb -m dscp --dscp 0x0a
COMMIT
IPT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
s.send(IP(src='198.18.0.9', dst='198.18.0.1', tos=0x00)/UDP(sport=1000, dport=53)/b'x')
s.send(IP(src='198.18.0.9', dst='198.18.0.1', tos=0x11)/UDP(sport=1000, dport=53)/b'x')
s.send(IP(src='198.18.0.9', dst='198.18.0.1', tos=0x02)/TCP(sport=1000, dport=22, flags='S'))
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
