#!/usr/bin/env bash
# Records what nft 1.0.6's payload merge does to `!=` matches on the real kernel: DUT kb (198.18.0.1)
# counts in its input chain; ka (198.18.0.9) sends a TCP SYN and a UDP datagram ("x") from port 22 to
# 80, from 22 to 23, and from 1000 to 80. Recorded on Linux 6.18 (nft 1.0.6), 2026-12-06: nft merged
# both rules' port matches into one `cmp neq` of the 4 bytes (the UDP one across its first counter,
# which 1.0.6 gathers past when one match is gathered) and lists the UDP rule as `udp sport != 22 udp
# dport != 23 counter counter`; each rule counted 2 packets (22 -> 80 and 1000 -> 80: either port
# differing is enough), bytes 80 and 58. Kept as KernelTests/PayloadMergeTests.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip t {
  chain i { type filter hook input priority 0
    tcp sport != 22 tcp dport != 23 counter
    udp sport != 22 counter udp dport != 23 counter
  }
}
NFT
ip netns exec kb nft --debug=netlink list chain ip t i 2>/dev/null | grep -E "cmp neq"
ip netns exec ka /usr/bin/python3 - <<'PY'
from scapy.all import IP, TCP, UDP, send, conf
conf.verb = 0
for sport, dport in ((22, 80), (22, 23), (1000, 80)):
    send(IP(dst='198.18.0.1') / TCP(sport=sport, dport=dport, flags='S'))
    send(IP(dst='198.18.0.1') / UDP(sport=sport, dport=dport) / b'x')
PY
sleep 0.3
ip netns exec kb nft list chain ip t i
