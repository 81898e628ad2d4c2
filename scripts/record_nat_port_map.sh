#!/usr/bin/env bash
# Records a named map whose data is an address and a port (`type inet_service : ipv4_addr .
# inet_service`) driving dnat, on the real kernel (6.18): ka (scapy) sends a datagram to kb's
# 198.18.0.1:8080; kb's map sends it to 198.18.0.1:80, where a socket reads it. Prints what the
# socket read, kb's conntrack table and its ruleset as nft lists it. Recorded 2026-12-06
# (Tests/KernelTests/NATPortMapTests replays it): "hi" from 198.18.0.9:5000 on the socket of port 80;
# conntrack `udp 17 ... src=198.18.0.9 dst=198.18.0.1 sport=5000 dport=8080 [UNREPLIED] src=198.18.0.1
# dst=198.18.0.9 sport=80 dport=5000`; the rule lists as `dnat ip to udp dport map @portfw`.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip t {
  map portfw { type inet_service : ipv4_addr . inet_service; elements = { 8080 : 198.18.0.1 . 80, 8443 : 198.18.0.1 . 443 } }
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    dnat ip addr . port to udp dport map @portfw
  }
}
NFT
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
KB_MAC=$KB_MAC python3 - <<'PY'
import ctypes, os, socket
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('kb')
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 80)); s.settimeout(1)
enter('ka')
sendp(Ether(src='02:00:00:00:00:09', dst=os.environ['KB_MAC']) / IP(src='198.18.0.9', dst='198.18.0.1', id=1) / UDP(sport=5000, dport=8080) / Raw(b'hi'), iface='va')
print('read', s.recvfrom(100))
PY
ip netns exec kb conntrack -L 2>/dev/null
ip netns exec kb nft list ruleset
