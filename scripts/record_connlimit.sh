#!/usr/bin/env bash
# Records xt_connlimit (`-m connlimit`) on the real kernel: counting INPUT rules in kb over four TCP
# SYNs from ka to a listener on port 22 (each a connection of its own, from another port, left in
# SYN_RECV: nothing closes them), two of them from a second address in the same /24. Prints the counters, how nft lists the rules and the
# connections. Kept as XtablesRecordedTests.testConnlimitAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip -n ka addr add 198.18.0.10/24 dev va
# ka keeps quiet about the SYN-ACKs (no reset), so the connections stay open.
ip netns exec ka nft -f - <<'NFT'
table ip quiet { chain in { type filter hook input priority 0; tcp sport 22 drop; }; }
NFT
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-above 1
-A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-upto 2
-A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 --connlimit-mask 24
-A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-above 3 --connlimit-daddr
COMMIT
IPT
ip netns exec kb /usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 22)); s.listen(8); time.sleep(3)
" &
sleep 0.5
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
for src, sport in [('198.18.0.9', 1001), ('198.18.0.9', 1002), ('198.18.0.10', 1003), ('198.18.0.10', 1004)]:
    s.send(IP(src=src, dst='198.18.0.1')/TCP(sport=sport, dport=22, flags='S', seq=1))
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
ip netns exec kb conntrack -L 2>/dev/null
