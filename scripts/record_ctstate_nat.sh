#!/usr/bin/env bash
# Records xt_conntrack's --ctstate SNAT and DNAT on the real kernel (iptables-nft 1.8.9 loads them
# as `xt match conntrack`, listed by a translation that says only `ct status snat|dnat`): a DNAT of
# udp 5353 to :53 in kb, counting INPUT rules, and from ka a datagram to 53, one to 5353, and one
# to 5353 from the first one's port (its DNAT clashes with the first connection, so the null
# binding moves its source port: SNAT too). Prints the counters and the connections.
# Kept as XtablesRecordedTests.testCtstateNATAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i vb -p udp --dport 5353 -j DNAT --to-destination :53
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -m conntrack --ctstate DNAT
-A INPUT -i vb -m conntrack ! --ctstate DNAT
-A INPUT -i vb -m conntrack --ctstate NEW,DNAT
-A INPUT -i vb -m conntrack --ctstate SNAT
-A INPUT -i vb -m conntrack --ctstate ESTABLISHED,SNAT
-A INPUT -i vb -m conntrack ! --ctstate NEW,SNAT
COMMIT
IPT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
for sp, dp in [(1000, 53), (2000, 5353), (1000, 5353)]:
    s.send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=sp, dport=dp)/b'x')
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
ip netns exec kb conntrack -L 2>/dev/null
