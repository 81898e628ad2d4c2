#!/usr/bin/env bash
# Records nft_socket on the real kernel: UDP sockets in kb bound to 0.0.0.0:9 and 198.18.0.1:10; datagrams
# from 198.18.0.9:5000 to ports 9, 10 and 11 through a prerouting chain of socket keys. Recorded on Linux
# 6.18 (nft 1.0.6), 2026-12-05: wildcard 1 counted 1 (port 9), wildcard 0 counted 1 (port 10), transparent 0
# and mark 0x00000000 counted 2, transparent 1 none; port 11 (no socket) matched none. Kept as
# NetfilterTests.testSocketKeysReadThePacketsSocket.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table inet f {
  chain p { type filter hook prerouting priority -150;
    udp sport 5000 socket wildcard 1 counter
    udp sport 5000 socket wildcard 0 counter
    udp sport 5000 socket transparent 0 counter
    udp sport 5000 socket transparent 1 counter
    udp sport 5000 socket mark 0x00000000 counter
  }
}
NFT
ip netns exec kb /usr/bin/python3 -c "
import socket, time
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('0.0.0.0', 9))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('198.18.0.1', 10))
time.sleep(4)" &
sleep 1
for p in 9 10 11; do
  ip netns exec ka /usr/bin/python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9',5000)); s.sendto(b'x',('198.18.0.1',$p))"
  sleep 0.2
done
ip netns exec kb nft list chain inet f p
wait
