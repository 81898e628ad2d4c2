#!/usr/bin/env bash
# Records a named map whose data is an address and a port (`type inet_service : ipv4_addr .
# inet_service`) driving dnat, on the real kernel (6.18): ka (scapy) sends a datagram to kb's
# 198.18.0.1:8080; kb's map sends it to 198.18.0.1:80, where a socket reads it. Prints what the
# socket read, kb's conntrack table and its ruleset as nft lists it. Recorded 2026-12-06
# (Tests/KernelTests/NATPortMapTests replays it): "hi" from 198.18.0.9:5000 on the socket of port 80;
# conntrack `udp 17 ... src=198.18.0.9 dst=198.18.0.1 sport=5000 dport=8080 [UNREPLIED] src=198.18.0.1
# dst=198.18.0.9 sport=80 dport=5000`; the rule lists as `dnat ip to udp dport map @portfw`.
# IPV6=1: the same over 2001:db8::9 -> [2001:db8::1]:8080 with `type inet_service : ipv6_addr .
# inet_service` in an ip6 table (`udp 17 ... src=2001:db8::9 dst=2001:db8::1 sport=5000 dport=8080
# [UNREPLIED] src=2001:db8::1 dst=2001:db8::9 sport=80 dport=5000`, `dnat ip6 to udp dport map @portfw`).
. "$(dirname "$0")/netns_pair.sh"
if [ -n "$IPV6" ]; then
    ip -n kb addr add 2001:db8::1/64 dev vb nodad; ip -n ka addr add 2001:db8::9/64 dev va nodad; sleep 1
    KA_MAC=$(ip -n ka -j link show va | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
    ip -n kb neigh replace 2001:db8::9 lladdr $KA_MAC dev vb nud permanent
fi
if [ -n "$IPV6" ]; then fam=ip6 atype=ipv6_addr addr=2001:db8::1; else fam=ip atype=ipv4_addr addr=198.18.0.1; fi
ip netns exec kb nft -f - <<NFT
table $fam t {
  map portfw { type inet_service : $atype . inet_service; elements = { 8080 : $addr . 80, 8443 : $addr . 443 } }
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    dnat $fam addr . port to udp dport map @portfw
  }
}
NFT
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
KB_MAC=$KB_MAC IPV6=$IPV6 python3 - <<'PY'
import ctypes, os, socket
from scapy.all import Ether, IP, IPv6, UDP, Raw, sendp, conf
conf.verb = 0
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('kb')
V6 = os.environ['IPV6'] == '1'
s = socket.socket(socket.AF_INET6 if V6 else socket.AF_INET, socket.SOCK_DGRAM); s.bind(('::' if V6 else '0.0.0.0', 80)); s.settimeout(1)
enter('ka')
l3 = IPv6(src='2001:db8::9', dst='2001:db8::1') if V6 else IP(src='198.18.0.9', dst='198.18.0.1', id=1)
sendp(Ether(src='02:00:00:00:00:09', dst=os.environ['KB_MAC']) / l3 / UDP(sport=5000, dport=8080) / Raw(b'hi'), iface='va')
print('read', s.recvfrom(100))
PY
ip netns exec kb conntrack -L -f $([ $fam = ip6 ] && echo ipv6 || echo ipv4) 2>/dev/null
ip netns exec kb nft list ruleset
