#!/usr/bin/env bash
# Records catch-all elements (`*`) of anonymous maps on the real kernel: UDP from 198.18.0.9:5000 to
# ports 9, 12, 13, 14 through the chain below; the last rule counts what reached the end of the chain.
# Recorded on Linux 6.18 (nft 1.0.6), 2026-12-05: after dport 9: 0 packets; 12: 1; 13: 1; 14: 2,
# i.e. 12 and 14 reach the end, 9 (its own element: drop) and 13 (the map's catch-all 0x2, then the
# concatenated vmap's catch-all: drop) do not. Kept as NetfilterTests.testCatchAllElementsTakeWhatNoOtherElementHolds.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip f {
  chain i { type filter hook input priority 0;
    udp dport vmap { * : continue, 9 : drop }
    meta mark set udp dport map { 12 : 0x1, * : 0x2 }
    meta mark 0x2 ip saddr . udp dport vmap { 198.18.0.9 . 14 : continue, * : drop }
    udp sport 5000 counter
  }
}
NFT
sleep 1
for p in 9 12 13 14; do
  ip netns exec ka python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9',5000)); s.sendto(b'x',('198.18.0.1',$p))"
  sleep 0.2
  echo "dport $p: $(ip netns exec kb nft list chain ip f i | grep 'counter packets' | sed 's/.*counter //')"
done
ip netns exec kb nft list chain ip f i
