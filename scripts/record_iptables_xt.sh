#!/usr/bin/env bash
# Records what iptables-nft's xtables matches and targets do on the real kernel where their nft
# listing says less than they do (RestoreTests.testXtablesRulesRunAsRecorded): an INPUT chain of
# counting rules (no target) in kb and a DNAT to a port alone, then datagrams, a SYN and an echo
# request from ka. Prints the counters (iptables-nft-save -c, nft list ruleset), conntrack's
# statistics and table, and the UDP no-port count.
# Recorded on Linux 6.18 (iptables-nft 1.8.9, nft 1.0.6), 2026-12-07: rule counters in order
# [1:28] [0:0] [4:116] [4:116] [1:29] [3:87] [5:155] [4:116] [2:58] [2:80] [1:40], DNAT [1:29];
# insert_failed=0, UdpNoPorts 4: the datagram DNATed onto the first one's tuple passed, its source
# port moved by the null binding at LOCAL_IN (reply dport=714, drawn at random from 600-1023).
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i vb -p udp --dport 5353 -j DNAT --to-destination :53
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -p icmp --icmp-type any
-A INPUT -i vb -p icmp ! --icmp-type any
-A INPUT -i vb -p udp ! --sport 0:65535
-A INPUT -i vb -p udp --sport 0:65535
-A INPUT -i vb -p udp ! --dport :1023
-A INPUT -i vb -p udp --dport :1023
-A INPUT -i vb -m statistic --mode nth ! --every 3 --packet 1
-A INPUT -i vb -p udp -m udp
-A INPUT -i vb -m comment --comment "x" -p udp --dport 53
-A INPUT -i vb -p tcp -m tcp ! --tcp-flags ALL NONE
-A INPUT -i vb -p tcp -m tcp --tcp-flags SYN NONE
COMMIT
IPT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
for l4 in [UDP(sport=1000, dport=53)/b'x', UDP(sport=1000, dport=5353)/b'x', UDP(sport=1000, dport=2000)/b'x',
           UDP(sport=0, dport=7)/b'x', TCP(sport=5000, dport=80, flags='S'), TCP(sport=5000, dport=80, flags='A'),
           ICMP(type=8, id=1, seq=1)]:
    s.send(IP(src='198.18.0.9', dst='198.18.0.1')/l4)
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
ip netns exec kb conntrack -S
ip netns exec kb conntrack -L 2>/dev/null
ip netns exec kb nstat -az UdpNoPorts IcmpOutDestUnreachs
