#!/usr/bin/env bash
# Records xt_owner (`-m owner`) on the real kernel: counting OUTPUT rules in kb, which sends one
# datagram from a process socket (root) to ka, answers a datagram from ka to a closed port with a
# port unreachable (the kernel's ICMP socket: no file, no owner) and a SYN to a closed port with a
# reset. Prints the counters and how nft lists the rules. Kept as XtablesRecordedTests.testOwnerAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb neigh add 198.18.0.9 lladdr "$(ip -n ka -br link show va | awk '{print $3}')" dev vb nud permanent
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:OUTPUT ACCEPT [0:0]
-A OUTPUT -o vb -m owner --uid-owner 0
-A OUTPUT -o vb -m owner ! --uid-owner 0
-A OUTPUT -o vb -m owner --socket-exists
-A OUTPUT -o vb -m owner ! --socket-exists
-A OUTPUT -o vb -m owner --gid-owner 0-10
-A OUTPUT -o vb -m owner --uid-owner 1000
-A OUTPUT -o vb -m owner ! --uid-owner 1000 ! --gid-owner 1000
COMMIT
IPT
ip netns exec kb /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'x', ('198.18.0.9', 9))
"
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
s.send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=1000, dport=7)/b'x')
s.send(IP(src='198.18.0.9', dst='198.18.0.1')/TCP(sport=1000, dport=7, flags='S'))
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
