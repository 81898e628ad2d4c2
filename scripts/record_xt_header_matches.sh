#!/usr/bin/env bash
# Records iptables' header matches that iptables-nft loads as xtables ones (length, ttl, pkttype,
# mac, dscp, tos) on the real kernel: counting INPUT rules in kb, four datagrams from ka with
# other TTLs, TOS bytes and lengths, one to the subnet's broadcast address. Prints the counters and
# how nft lists them. Kept as XtablesRecordedTests.testHeaderMatchesAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -m length --length 100:200
-A INPUT -i vb -m length ! --length 29
-A INPUT -i vb -m ttl --ttl-eq 64
-A INPUT -i vb -m ttl --ttl-gt 10
-A INPUT -i vb -m ttl --ttl-lt 5
-A INPUT -i vb -m ttl ! --ttl-eq 1
-A INPUT -i vb -m pkttype --pkt-type broadcast
-A INPUT -i vb -m pkttype ! --pkt-type unicast
-A INPUT -i vb -m mac --mac-source 02:00:00:00:00:09
-A INPUT -i vb -m mac ! --mac-source 02:00:00:00:00:09
-A INPUT -i vb -m dscp --dscp 0x02
-A INPUT -i vb -m dscp ! --dscp-class AF11
-A INPUT -i vb -m tos --tos 0x10
-A INPUT -i vb -m tos --tos Minimize-Delay
-A INPUT -i vb -m tos ! --tos 0x08/0x0f
COMMIT
IPT
ip -n ka link set va address 02:00:00:00:00:09
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
s.send(IP(src='198.18.0.9', dst='198.18.0.1', ttl=64, tos=0x10)/UDP(sport=1000, dport=53)/b'x')
s.send(IP(src='198.18.0.9', dst='198.18.0.1', ttl=3, tos=0x08)/UDP(sport=1000, dport=53)/(b'y' * 122))
s.send(IP(src='198.18.0.9', dst='198.18.0.1', ttl=1, tos=0x13)/UDP(sport=1000, dport=53)/(b'z' * 36))
s.send(IP(src='198.18.0.9', dst='198.18.0.255', ttl=64, tos=0x28)/UDP(sport=1000, dport=53)/b'w')
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
