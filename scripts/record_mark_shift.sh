#!/usr/bin/env bash
# Records shifted mark expressions on the real kernel: one UDP datagram from 198.18.0.9:5000 through
# the chain below. Recorded on Linux 6.18 (nft 1.0.6), 2026-12-05: the last rule matched (counter
# packets 1 bytes 29), so ct mark was (0x1234 | 0x10) << 8 = 0x123400 and the mark (that >> 8) & 0xff
# = 0x34; nft listed `ct mark set (meta mark | 0x00000010) << 8` and `meta mark set ct mark >> 8 & 0x000000ff`.
# Kept as NetfilterTests.testShiftedMarkExpressions.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip f { chain i { type filter hook input priority 0;
  udp sport 5000 meta mark set 0x1234; udp sport 5000 ct mark set (meta mark | 0x10) << 8; udp sport 5000 meta mark set ct mark >> 8 & 0xff
  udp sport 5000 ct mark 0x123400 meta mark 0x34 counter drop; }; }
NFT
sleep 1
ip netns exec ka python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9',5000)); s.sendto(b'x',('198.18.0.1',9))"
sleep 0.3
ip netns exec kb nft list chain ip f i
ip netns exec kb conntrack -L 2>/dev/null
