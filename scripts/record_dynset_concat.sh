#!/usr/bin/env bash
# Records rules adding concatenations to a set, and a meter keyed by one, on the real kernel: three UDP
# datagrams from 198.18.0.9:5000 to ports 9, 9, 10. Recorded on Linux 6.18 (nft 1.0.6), 2026-12-05:
#   elements = { 198.18.0.9 . 9 expires 59s212ms,
#                198.18.0.9 . 10 expires 59s788ms }
#   udp sport 5000 ip saddr . udp dport @seen counter packets 1 bytes 29 drop
# (the second datagram to 9 was dropped). Kept as NetfilterTests.testRulesAddConcatenationsToSets.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip f {
  set seen { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 1m; }
  chain i { type filter hook input priority 0;
    udp sport 5000 ip saddr . udp dport @seen counter drop
    udp sport 5000 add @seen { ip saddr . udp dport }
    udp sport 5000 meter m size 128 { ip saddr . udp dport counter }
  }
}
NFT
sleep 1
for p in 9 9 10; do
  ip netns exec ka python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9',5000)); s.sendto(b'x',('198.18.0.1',$p))"
  sleep 0.2
done
ip netns exec kb nft list ruleset
