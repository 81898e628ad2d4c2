#!/usr/bin/env bash
# Records how the real kernel (6.18) matches raw payload bits inside concatenated keys (the nft
# suite's inet/vmap.t:9,10, adapted to the pair's addresses): kb counts `ip saddr . @ih,32,32` in
# an anonymous set and jumps on `udp length . @th,160,128` in a verdict map; ka (scapy on va) sends
# the datagrams and segments below. Prints kb's ruleset with its counters. Recorded 2026-12-06
# (Tests/KernelTests/RawConcatTests replays it): counter 1 counts a, c and d (UDP and TCP with
# options: @ih starts after the TCP options), the map's chain b and d.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table inet t {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr . @ih,32,32 { 198.18.0.9 . 0x14, 2.2.2.2 . 0x1e } counter
    udp length . @th,160,128 vmap { 47-63 . 0xe373135363130333131303735353203 : jump c }
  }
  chain c { counter; }
}
NFT
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
ip -n ka neigh replace 198.18.0.1 lladdr $KB_MAC dev va nud permanent
KB_MAC=$KB_MAC python3 - <<'PY'
import ctypes, os
from scapy.all import Ether, IP, UDP, TCP, Raw, sendp, conf
conf.verb = 0
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('/var/run/netns/ka', os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0
value = bytes.fromhex('0e373135363130333131303735353203')
def send(l4): sendp(Ether(src='02:00:00:00:00:09', dst=os.environ['KB_MAC']) / IP(src='198.18.0.9', dst='198.18.0.1', id=1) / l4, iface='va')
send(UDP(sport=5000, dport=9) / Raw(b'\0\0\0\0\0\0\0\x14'))                       # a: @ih 0x14
send(UDP(sport=5000, dport=9) / Raw(b'\0\0\0\0\0\0\0\x1e'))                       # b: 0x1e is 2.2.2.2's
send(UDP(sport=5000, dport=9) / Raw(b'\0\0\0\0\0\0\0\x14' + bytes(4) + value + bytes(12)))   # c: both (length 48)
send(TCP(sport=5000, dport=9, flags='S', options=[('MSS', 1460), ('NOP', None), ('NOP', None)]) / Raw(b'\0\0\0\0\0\0\0\x14'))  # d: after the options
send(UDP(sport=5000, dport=9) / Raw(b'\0\0\0\0\0\0\0\x15' + bytes(4) + value + bytes(40)))   # e: the value, length 76
send(UDP(sport=5000, dport=9) / Raw(bytes(12) + value + bytes(5)))                  # f: the value, length 41
PY
sleep 0.3
ip netns exec kb nft list ruleset
