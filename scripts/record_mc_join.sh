#!/usr/bin/env bash
# Records multicast group joins on Linux 6.18 for APITests/MulticastJoinTests: namespaces pa
# (va 02:00:00:00:00:01, 198.18.0.1/24, 2001:db8::1/64, link-local fe80::ff:fe00:1) and pb (vb
# 02:00:00:00:ff:01, .9 and ::9), permanent neighbours, no DAD. pa's UDP sockets join groups
# (IP_ADD_MEMBERSHIP by address, by ifindex, without either; IPV6_JOIN_GROUP by ifindex and
# without) and leave them; pb sends datagrams to joined and other groups. Printed: what each call
# answered, pa's groups and counters, and every IGMP and MLD frame pa sent as vb's packet socket
# saw it (pkttype 2, multicast): the ms since the first one, then the frame.
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad
ip -n pb addr add 2001:db8::9/64 dev vb nodad; ip -n pb addr add 198.18.0.9/24 dev vb
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent
sleep 2   # what the link's coming up sends (MLD for the addresses' groups) is over
echo "== groups before"; ip -n pa maddr show dev va
echo "== snmp before"; ip netns exec pa cat /proc/net/snmp | grep -E "^Ip:|^IcmpMsg:|^Udp:"
echo "== snmp6 before"; ip netns exec pa grep -E "^Ip6(InMcastPkts|OutMcastPkts|InDelivers|InDiscards|InNoRoutes|OutRequests)|^Icmp6Out(Msgs|MLDv2Reports|Type143)|^Udp6(InDatagrams|NoPorts)" /proc/net/snmp6
ip netns exec pb python3 -c '
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(("vb", 0)); s.settimeout(9)
out = open("/tmp/mc_join_vb.txt", "w"); t0 = None
try:
    while True:
        f, a = s.recvfrom(70000)
        if a[2] == 4: continue
        igmp = f[12:14] == b"\x08\x00" and f[23] == 2
        mld = f[12:14] == b"\x86\xdd" and f[20] == 0 and f[62] in (130, 131, 132, 143)
        if igmp or mld:
            t = time.monotonic(); t0 = t0 or t
            out.write("%d %s\n" % ((t - t0) * 1000, f.hex())); out.flush()
except socket.timeout: pass
' & TD=$!; sleep 0.5
ip netns exec pa python3 - <<'PY' &
import socket, struct, time
def call(tag, f):
    try: f(); print(tag, "ok")
    except OSError as e: print(tag, e)
IFX = socket.if_nametoindex("va")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5000)); u.setblocking(False)
call("join 239.1.1.1 any (no route)", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.1.1") + socket.inet_aton("0.0.0.0")))
call("join 239.1.1.1 by 198.18.0.1", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.1.1") + socket.inet_aton("198.18.0.1")))
call("join 239.1.1.1 again", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.1.1") + socket.inet_aton("198.18.0.1")))
call("join 198.18.0.7 (not multicast)", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("198.18.0.7") + socket.inet_aton("198.18.0.1")))
call("join 239.1.1.2 by ifindex", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.1.2") + socket.inet_aton("0.0.0.0") + struct.pack("i", IFX)))
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); w.bind(("0.0.0.0", 5000 + 1)); w.setblocking(False)
call("w join 239.1.1.1", lambda: w.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.1.1") + socket.inet_aton("198.18.0.1")))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.bind(("::", 5002)); v.setblocking(False)
call("join6 ff15::1 any", lambda: v.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff15::1") + struct.pack("I", 0)))
call("join6 ff02::77 by ifindex", lambda: v.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff02::77") + struct.pack("I", IFX)))
call("join6 ff02::77 again", lambda: v.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff02::77") + struct.pack("I", IFX)))
call("join6 2001:db8::5 (not multicast)", lambda: v.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "2001:db8::5") + struct.pack("I", IFX)))
time.sleep(3)
print("== groups joined"); import subprocess; print(subprocess.run(["ip", "maddr", "show", "dev", "va"], capture_output=True, text=True).stdout)
print(open("/proc/net/igmp").read()); print(open("/proc/net/igmp6").read())
open("/tmp/mc_join_ready", "w").write("1"); time.sleep(1.5)
for s, tag in ((u, "u"), (w, "w"), (v, "v")):
    while True:
        try: m, a = s.recvfrom(2000); print(tag, "got", m, a)
        except BlockingIOError: break
call("leave 239.1.1.2", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, socket.inet_aton("239.1.1.2") + socket.inet_aton("0.0.0.0") + struct.pack("i", IFX)))
call("leave 239.1.1.2 again", lambda: u.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, socket.inet_aton("239.1.1.2") + socket.inet_aton("0.0.0.0") + struct.pack("i", IFX)))
call("leave6 ff02::77", lambda: v.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, socket.inet_pton(socket.AF_INET6, "ff02::77") + struct.pack("I", IFX)))
u.close()   # 239.1.1.1 stays: w holds it
time.sleep(3)
print("== groups after leaving"); print(subprocess.run(["ip", "maddr", "show", "dev", "va"], capture_output=True, text=True).stdout)
PY
PA=$!
while [ ! -f /tmp/mc_join_ready ]; do sleep 0.1; done; rm -f /tmp/mc_join_ready
ip netns exec pb python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.18.0.9"))
for g, p in (("239.1.1.1", 5000), ("239.1.1.2", 5000), ("239.1.1.3", 5000), ("239.1.1.1", 5001)): s.sendto(("to %s:%d" % (g, p)).encode(), (g, p))
t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("vb"))
for g in ("ff15::1", "ff02::77", "ff15::2"): t.sendto(("to %s" % g).encode(), (g, 5002))
PY
wait $PA
echo "== snmp"; ip netns exec pa cat /proc/net/snmp | grep -E "^Ip:|^IcmpMsg:|^Udp:"
echo "== snmp6"; ip netns exec pa grep -E "^Ip6(InMcastPkts|OutMcastPkts|InDelivers|InDiscards|InNoRoutes|OutRequests)|^Icmp6Out(Msgs|MLDv2Reports|Type143)|^Udp6(InDatagrams|NoPorts)" /proc/net/snmp6
sleep 6; kill $TD 2>/dev/null || true; sleep 0.2
ip netns del pa; ip netns del pb
echo "== frames"; cat /tmp/mc_join_vb.txt
