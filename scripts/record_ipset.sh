#!/usr/bin/env bash
# Records ipset's set match (xt_set) on the real kernel: sets from `ipset restore`, an iptables-nft INPUT
# chain of counting rules (no target) in kb, datagrams, a SYN and an echo request from three sources in
# ka, then, after the f2b-sshd element's 2 s timeout, one more datagram. Prints the rule counters
# (iptables-nft-save -c, nft list ruleset) and the sets (ipset save, ipset list) afterwards.
# Recorded on Linux 6.18 (ipset 7.17, iptables-nft 1.8.9), 2026-12-05, and the same on three runs:
#   rule counters in order [4:126] [6:184] [1:29] [1:29] [6:184] [3:87] [3:97] [1:29] [0:0] [0:0] [2:58] [1:40],
#   each listed by nft as `iifname "vb" xt match set counter packets N bytes M`;
#   nets: 198.18.0.12/30 nomatch packets 2 bytes 58, 198.18.0.0/24 packets 12 bytes 368 comment "lab";
#   svc: tcp:80 packets 3 bytes 120, udp:53 packets 12 bytes 348, icmp:echo-request packets 3 bytes 84;
#   f2b-sshd empty (its element expired). So: counters are updated before they are compared (--packets-eq 2
#   never holds: the third update comes first), a nomatch element's counters count, and the kernel lists
#   elements in its hash order. Kept as IPSetTests.testTheRecordedSetMatches.
. "$(dirname "$0")/netns_pair.sh"
ip -n ka addr add 198.18.0.12/24 dev va; ip -n ka addr add 198.18.0.20/24 dev va
ip netns exec kb ipset restore <<'IPSET'
create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600
add f2b-sshd 198.18.0.9 timeout 3
create nets hash:net family inet hashsize 1024 maxelem 65536 counters comment
add nets 198.18.0.0/24 comment "lab"
add nets 198.18.0.12/30 nomatch
create nport hash:net,port family inet hashsize 1024 maxelem 65536
add nport 198.18.0.0/28,udp:53
add nport 198.18.0.12/30,udp:53 nomatch
create ipn hash:ip,port,net family inet hashsize 1024 maxelem 65536
add ipn 198.18.0.1,tcp:80,198.18.0.0/24
create svc hash:ip,port family inet hashsize 1024 maxelem 65536 counters
add svc 198.18.0.1,udp:53
add svc 198.18.0.1,tcp:80
add svc 198.18.0.1,icmp:echo-request
create pairs hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add pairs 198.18.0.1,udp:7,198.18.0.9
IPSET
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -m set --match-set f2b-sshd src
-A INPUT -i vb -m set --match-set nets src
-A INPUT -i vb -m set --match-set nets src --return-nomatch
-A INPUT -i vb -m set ! --match-set nets src ! --update-counters
-A INPUT -i vb -m set --match-set svc dst,dst
-A INPUT -i vb -m set --match-set svc dst,dst --packets-gt 2
-A INPUT -i vb -m set --match-set svc dst,dst ! --update-counters --bytes-lt 100
-A INPUT -i vb -m set --match-set pairs dst,dst,src
-A INPUT -i vb -m set --match-set svc src,dst
-A INPUT -i vb -m set --match-set svc dst,dst --packets-eq 2
-A INPUT -i vb -m set --match-set nport src,dst
-A INPUT -i vb -m set --match-set ipn dst,dst,src
COMMIT
IPT
# One sender, so the element's 3 s timeout falls between the sixth packet and the seventh.
ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
import time
conf.verb = 0
s = conf.L3socket(iface='va')
t0 = time.time()
for src, l4 in [('198.18.0.9', UDP(sport=5000, dport=53)/b'x'), ('198.18.0.20', UDP(sport=5000, dport=53)/b'x'),
                ('198.18.0.12', UDP(sport=5000, dport=53)/b'x'), ('198.18.0.9', TCP(sport=5000, dport=80, flags='S')),
                ('198.18.0.9', ICMP(type=8, id=1, seq=1)), ('198.18.0.9', UDP(sport=5000, dport=7)/b'x')]:
    s.send(IP(src=src, dst='198.18.0.1')/l4); time.sleep(0.1)
print('six sent in %.2f s' % (time.time() - t0))
time.sleep(3.5)
s.send(IP(src='198.18.0.9', dst='198.18.0.1')/UDP(sport=5000, dport=53)/b'x')
"
sleep 0.2
ip netns exec kb iptables-nft-save -c | grep -v "^#"
ip netns exec kb nft list ruleset
ip netns exec kb ipset save
ip netns exec kb ipset list nets | sed -n '/Members/,$p'
