#!/usr/bin/env bash
# Records a netdev egress chain (nf_hook_egress in __dev_queue_xmit) on the real kernel: pa
# (198.18.0.1 on va) sends UDP datagrams to pb (198.18.0.2) through a chain on va that counts
# ARP, drops port 7, rewrites the source MAC of port 8 (and its destination MAC from a map keyed by
# the address), counts port 9. pa's IPv6 is off, so nothing else leaves va. Prints what sendto
# answered, the frames on pb's vb (hex, both ways), the ruleset with counters, pa's Udp/Ip
# counters and va's link counters. Run as root.
# Recorded on Linux 6.18 (nft 1.0.6), 2026-12-07 (kept in NetdevEgressTests):
#   sendto port 9, 7, 8 -> 6 (the dropped one too: NET_XMIT_DROP is ENOBUFS, which UDP without
#   IP_RECVERR turns into success); port 5 (output drop) and 6 (postrouting drop) -> EPERM
#   vb got ffffffffffff02000000000108060001080006040001020000000001c6120001000000000000c6120002
#   vb got 02000000000102000000ff010806000108000604000202000000ff01c6120002020000000001c6120001
#   vb got 02000000ff01020000000001080045000022d46040004011da42c6120001c61200028ee40009000e8c47656772657373
#   vb got (its port unreachable for port 9)
#   vb got 02000000ff010200000000aa080045000022d4e440004011d9bec6120001c61200028ee40008000e8c47656772657373
#   vb got (its port unreachable for port 8)
#   counters: arp 1/42, port 7 1/48 (bytes with the Ethernet header), 8 1/48, 9 1/48, output and
#   postrouting 1/34 each; IpOutRequests 5, IpOutDiscards 3, UdpOutDatagrams 2, UdpSndbufErrors 1;
#   va TX dropped 0 (its 5 packets include 2 IPv6 ones sent as the link came up).
. "$(dirname "$0")/netns_pa_pb.sh"
trap 'ip netns del pa 2>/dev/null; ip netns del pb 2>/dev/null' EXIT
ip netns exec pa sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.va.disable_ipv6=1
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pb addr add 198.18.0.2/24 dev vb
ip netns exec pa nft -f - <<'NFT'
table netdev e {
  map macs { type ipv4_addr : ether_addr; elements = { 198.18.0.2 : 02:00:00:00:ff:01 } }
  chain out { type filter hook egress device "va" priority 0;
    ether type arp counter
    udp dport 7 counter drop
    udp dport 8 ether saddr set 02:00:00:00:00:aa ether daddr set ip daddr map @macs counter
    udp dport 9 counter
  }
}
table ip f {
  chain o { type filter hook output priority 0; udp dport 5 counter drop; }
  chain p { type filter hook postrouting priority 0; udp dport 6 counter drop; }
}
NFT
sleep 1
python3 - <<'PY'
import ctypes, os, socket, time
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('pb')
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); cap.bind(('vb', 0)); cap.settimeout(0.5)
enter('pa')
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in (9, 7, 8, 5, 6):
    try: print('sendto port', port, '->', s.sendto(b'egress', ('198.18.0.2', port)))
    except OSError as e: print('sendto port', port, '->', e)
    time.sleep(0.3)
try:
    while True:
        f = cap.recv(2000)
        print('vb got', f.hex())
except socket.timeout:
    pass
PY
ip netns exec pa nft list ruleset
ip netns exec pa nstat -az UdpOutDatagrams UdpSndbufErrors IpOutRequests IpOutDiscards | tail -n +2
ip -n pa -s link show va
