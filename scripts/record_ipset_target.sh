#!/usr/bin/env bash
# Records iptables' SET target (xt_set's set_target_v3) on the real kernel: in kb, datagrams to port 54
# add their source to `seen` (hash:ip, timeout 10, counters), to 53 with --exist --timeout 60, to 55 delete
# it; a set match counts what is in the set as each datagram passes. Prints `ipset save` after each step
# and the counters at the end.
# Recorded on Linux 6.18 (ipset 7.17, iptables-nft 1.8.9), 2026-12-05: seen after each step: `timeout 9 packets
# 2 bytes 58`; `timeout 59 packets 2 bytes 58` (--exist: timeout renewed, counters started again at the packet,
# then the last rule's match); `timeout 59 packets 4 bytes 116` (no --exist: left alone); gone; `timeout 9
# packets 2 bytes 58`. pairs: 198.18.0.9 with udp:53, 54 and 55. Rule counters 3, 3, 1, 1, 5, 4 packets; nft
# lists the targets as `xt target SET`. Kept as IPSetTests.testTheSetTargetAddsAndDeletes.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb ipset restore <<'IPSET'
create seen hash:ip family inet hashsize 1024 maxelem 65536 timeout 10 counters
create pairs hash:ip,port family inet hashsize 1024 maxelem 65536
IPSET
ip netns exec kb iptables-nft-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i vb -m set --match-set seen src
-A INPUT -i vb -p udp -m udp --dport 54 -j SET --add-set seen src
-A INPUT -i vb -p udp -m udp --dport 53 -j SET --add-set seen src --exist --timeout 60
-A INPUT -i vb -p udp -m udp --dport 55 -j SET --del-set seen src
-A INPUT -i vb -p udp -j SET --add-set pairs src,dst
-A INPUT -i vb -m set --match-set seen src
COMMIT
IPT
step() {
  ip netns exec ka /usr/bin/python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9', 5000)); s.sendto(b'x', ('198.18.0.1', $1))"
  sleep 0.3
  echo "== after a datagram to $1"; ip netns exec kb ipset save | grep "^add"
}
step 54
sleep 2
step 53
step 54
step 55
step 54
ip netns exec kb iptables-nft-save -c | grep -- "-A"
ip netns exec kb nft list chain ip filter INPUT
