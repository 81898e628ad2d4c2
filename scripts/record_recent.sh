#!/usr/bin/env bash
# Records xt_recent (`-m recent`, as ufw's `limit` rules write it) on the real kernel: in kb's INPUT,
# datagrams from ka are added to the DEFAULT list, counted while 3 or more arrived in the last 2 s
# (--update renews the stamp only when it matches), by --rcheck, by destination (--rdest) and a
# /24 mask; one pause past the 2 s window. Prints the counters (iptables-nft-save -c, nft list
# ruleset) and the lists (/proc/net/xt_recent). Kept as XtablesRecordedTests.testRecentAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -p udp -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource
-A INPUT -i vb -p udp -m recent --update --seconds 2 --hitcount 3 --name DEFAULT --mask 255.255.255.255 --rsource
-A INPUT -i vb -p udp -m recent --rcheck --seconds 2 --hitcount 4 --name DEFAULT --rsource
-A INPUT -i vb -p udp -m recent ! --rcheck --name DEFAULT
-A INPUT -i vb -p udp -m recent --set --name NET --mask 255.255.255.0 --rdest
-A INPUT -i vb -p udp -m recent --rcheck --hitcount 2 --name NET --mask 255.255.255.0 --rdest
-A INPUT -i vb -p udp -m recent --remove --name NONE
COMMIT
IPT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
import time
conf.verb = 0
s = conf.L3socket(iface='va')
def send(n):
    for _ in range(n):
        s.send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=1000, dport=53)/b'x')
        time.sleep(0.05)
send(4)
time.sleep(2.5)
send(2)
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
for f in /proc/net/xt_recent/*; do echo "== $f"; ip netns exec kb cat "$f" 2>/dev/null; done
ip netns exec kb sh -c 'for f in /proc/net/xt_recent/*; do echo "== $f"; cat "$f"; done'
