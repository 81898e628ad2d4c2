#!/usr/bin/env bash
# Records xt_CONNMARK's --save-mark and --restore-mark with masks on the real kernel (iptables-nft
# 1.8.9 loads them as `xt target CONNMARK`): in kb's mangle PREROUTING a datagram from ka gets mark
# 0x1234, its connection the bits --nfmask/--ctmask let through, then the packet's mark is cleared
# and restored from the connection through other masks; counting rules show each step. Prints the
# counters (iptables-nft-save -c, nft list ruleset) and the connection (conntrack -L).
# Kept as XtablesRecordedTests.testConnmarkMasksAsRecorded.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb iptables-nft-restore <<'IPT'
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i vb -p udp -j MARK --set-mark 0x1234
-A PREROUTING -i vb -p udp -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xf0f0
-A PREROUTING -i vb -m connmark --mark 0x1200
-A PREROUTING -i vb -p udp -j MARK --set-mark 0x5
-A PREROUTING -i vb -p udp -j CONNMARK --restore-mark --nfmask 0x0ff0 --ctmask 0xffff
-A PREROUTING -i vb -m mark --mark 0x1205
-A PREROUTING -i vb -p udp -j CONNMARK --save-mark --mask 0xf
-A PREROUTING -i vb -m connmark --mark 0x1205
-A PREROUTING -i vb -p udp -j CONNMARK --restore-mark --mask 0xffff0000
-A PREROUTING -i vb -m mark --mark 0x1205
COMMIT
IPT
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
s = conf.L3socket(iface='va')
for k in range(2):
    s.send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=1000, dport=53)/b'x')
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
ip netns exec kb conntrack -L 2>/dev/null
