#!/usr/bin/env bash
# Records the answers to IGMPv3 and MLDv2 general queries on Linux 6.18 for
# APITests/MulticastJoinTests: pa as in record_mc_join.sh plus 2001:db8::abcd (a second
# solicited-node group), its UDP sockets in 239.1.1.1 and ff15::1. Once the joins' reports are
# over, pb's raw frames (scapy) ask: an IGMPv3 general query (max response 2 s, QRV 2, QQIC 125),
# an MLDv2 general query from pb's link-local address (max response 2000 ms, hop limit 1, router
# alert), then the same MLD query with hop limit 64 (RFC 3810 6.2: dropped). Printed: pa's groups
# (ip maddr), the queries' frames, and each IGMP and MLD frame pa sent after the first query
# with its ms since the capture began (just before the queries). Then group-specific IGMPv3 and
# MLDv2 queries (sent to the group) for a group pa is in and one it is not.
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad; ip -n pa addr add 2001:db8::abcd/64 dev va nodad
ip -n pb addr add 2001:db8::9/64 dev vb nodad; ip -n pb addr add 198.18.0.9/24 dev vb
sleep 2
ip netns exec pa python3 - <<'PY' &
import socket, struct, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5000))
u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.1.1") + socket.inet_aton("198.18.0.1"))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.bind(("::", 5002))
v.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff15::1") + struct.pack("I", 0))
time.sleep(20)
PY
PA=$!
sleep 3
echo "== groups"; ip -n pa maddr show dev va
ip netns exec pb python3 -c '
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(("vb", 0)); s.settimeout(11)
out = open("/tmp/mc_query_vb.txt", "w")
start = time.monotonic()
try:
    while True:
        f, a = s.recvfrom(70000)
        if a[2] == 4: continue
        igmp = f[12:14] == b"\x08\x00" and f[23] == 2
        mld = f[12:14] == b"\x86\xdd" and f[20] == 0 and f[62] in (130, 131, 132, 143)
        if igmp or mld: out.write("%d %s\n" % ((time.monotonic() - start) * 1000, f.hex())); out.flush()
except socket.timeout: pass
' & TD=$!; sleep 0.3
ip netns exec pb python3 - <<'PY'
from scapy.all import Ether, IP, IPv6, Raw, sendp, IPOption_Router_Alert, IPv6ExtHdrHopByHop, RouterAlert, checksum
import socket, struct, time
q4 = bytearray(struct.pack("!BBH4sBBH", 0x11, 20, 0, bytes(4), 0x02, 125, 0))
q4[2:4] = struct.pack("!H", checksum(bytes(q4)))
p4 = Ether(src="02:00:00:00:ff:01", dst="01:00:5e:00:00:01")/IP(src="198.18.0.9", dst="224.0.0.1", ttl=1, tos=0xc0, options=[IPOption_Router_Alert()], proto=2)/Raw(bytes(q4))
print("query4", bytes(p4).hex())
sendp(p4, iface="vb", verbose=False)
def q6(hlim):
    body = struct.pack("!BBHHH16sBBH", 130, 0, 0, 2000, 0, bytes(16), 0x02, 125, 0)
    return Ether(src="02:00:00:00:ff:01", dst="33:33:00:00:00:01")/IPv6(src="fe80::ff:fe00:ff01", dst="ff02::1", hlim=hlim)/IPv6ExtHdrHopByHop(nh=58, options=[RouterAlert(value=0)])/Raw(body)
from scapy.layers.inet6 import in6_chksum
for h in (1, 64):
    p = q6(h); raw = bytearray(bytes(p[Raw])); p[Raw].load = bytes(raw)
    ck = in6_chksum(58, p[IPv6], bytes(raw)); raw[2:4] = struct.pack("!H", ck); p[Raw].load = bytes(raw)
    if h == 64: time.sleep(3)
    print("query6 hlim %d" % h, bytes(p).hex())
    sendp(p, iface="vb", verbose=False)
# Group-specific queries (sent to the group), for a group pa is in and one it is not.
time.sleep(3)
import ipaddress
for g in ("239.1.1.1", "239.9.9.9"):
    q = bytearray(struct.pack("!BBH4sBBH", 0x11, 20, 0, socket.inet_aton(g), 0x02, 125, 0)); q[2:4] = struct.pack("!H", checksum(bytes(q)))
    mac = "01:00:5e:%02x:%02x:%02x" % tuple(ipaddress.ip_address(g).packed[1:]) if False else "01:00:5e:" + ":".join("%02x" % b for b in (ipaddress.ip_address(g).packed[1] & 0x7f, ipaddress.ip_address(g).packed[2], ipaddress.ip_address(g).packed[3]))
    p = Ether(src="02:00:00:00:ff:01", dst=mac)/IP(src="198.18.0.9", dst=g, ttl=1, tos=0xc0, options=[IPOption_Router_Alert()], proto=2)/Raw(bytes(q))
    print("gquery4 %s" % g, bytes(p).hex()); sendp(p, iface="vb", verbose=False)
for g in ("ff15::1", "ff15::9"):
    body = bytearray(struct.pack("!BBHHH16sBBH", 130, 0, 0, 2000, 0, socket.inet_pton(socket.AF_INET6, g), 0x02, 125, 0))
    a = socket.inet_pton(socket.AF_INET6, g)
    p = Ether(src="02:00:00:00:ff:01", dst="33:33:" + ":".join("%02x" % b for b in a[12:]))/IPv6(src="fe80::ff:fe00:ff01", dst=g, hlim=1)/IPv6ExtHdrHopByHop(nh=58, options=[RouterAlert(value=0)])/Raw(bytes(body))
    body[2:4] = struct.pack("!H", in6_chksum(58, p[IPv6], bytes(body))); p[Raw].load = bytes(body)
    print("gquery6 %s" % g, bytes(p).hex()); sendp(p, iface="vb", verbose=False)
PY
wait $TD || true
kill $PA 2>/dev/null || true
ip netns del pa; ip netns del pb
echo "== frames"; cat /tmp/mc_query_vb.txt
