#!/usr/bin/env bash
# Records header writes on IPv6 packets on the real kernel (6.18): kb's output chain (ip6 table)
# sets the hop limit, the traffic class's DSCP and the UDP destination port of a datagram a socket
# sends from [2001:db8::1]:5000 to [2001:db8::9]:7, and the source address of one to port 8; ka
# captures them on va (hex, checksum included). Recorded 2026-12-06 (Tests/KernelTests/PayloadSet6Tests):
# hop limit 7, dscp cs1 (tclass 0x20), port 9999; source 2001:db8::5 with the CHECKSUM_PARTIAL sum
# moved by the difference (5b98 to 5b9c); to port 9, `udp sport set udp dport`: source port 9.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad; ip -n ka addr add 2001:db8::9/64 dev va nodad; sleep 1
KA_MAC=$(ip -n ka -j link show va | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
ip -n kb neigh replace 2001:db8::9 lladdr $KA_MAC dev vb nud permanent
ip netns exec kb nft -f - <<'NFT'
table ip6 t {
  chain out { type filter hook output priority 0; policy accept;
    udp dport 7 ip6 hoplimit set 7 ip6 dscp set cs1 udp dport set 9999
    udp dport 8 ip6 saddr set 2001:db8::5
    udp dport 9 udp sport set udp dport
  }
}
NFT
ip netns exec kb nft list ruleset
python3 - <<'PY'
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('ka')
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd)); cap.bind(('va', 0)); cap.settimeout(1)
enter('kb')
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('2001:db8::1', 5000))
for port in (7, 8, 9):
    s.sendto(b'six', ('2001:db8::9', port))
    while True:
        f = cap.recv(2000)
        if f[20] == 17: print('va in', f.hex()); break
PY
