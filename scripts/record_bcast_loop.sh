#!/usr/bin/env bash
# Records the broadcast loop on Linux 6.18 for MulticastLoopTests: namespace ba with v0
# (02:00:00:00:00:01, 198.18.0.1/24; IPv6 off on both ends, so nothing else moves the counters).
# A socket on 0.0.0.0:5001 with SO_BROADCAST sends to 198.18.0.255 port 7000 (a socket there reads
# it), again with IP_MULTICAST_LOOP 0 (still looped: RTCF_BROADCAST ignores it), to port 7001
# (nobody: UdpIgnoredMulti) and to 255.255.255.255 (no route without a default: ENETUNREACH).
set -e
for n in ba bb; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip -n $n link set lo up; done
ip link add v0 netns ba address 02:00:00:00:00:01 type veth peer name v1 netns bb address 02:00:00:00:ff:01
ip netns exec bb sysctl -qw net.ipv6.conf.v1.disable_ipv6=1; ip netns exec ba sysctl -qw net.ipv6.conf.v0.disable_ipv6=1
ip -n ba link set v0 up; ip -n bb link set v1 up
ip -n ba addr add 198.18.0.1/24 dev v0
sleep 0.3
ip netns exec ba python3 - <<'PY'
import socket, time
def snmp():
    lines = open("/proc/net/snmp").read().split("\n"); d = {}
    for i in range(0, len(lines) - 1, 2):
        if not lines[i]: continue
        ks = lines[i].split(); vs = lines[i + 1].split()
        for k, v in zip(ks[1:], vs[1:]): d[ks[0][:-1] + k] = int(v)
    return d
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("0.0.0.0", 7000)); a.settimeout(0.3)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("0.0.0.0", 5001)); b.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s0 = snmp()
b.sendto(b"bc", ("198.18.0.255", 7000)); time.sleep(0.1)
try: print("a got", a.recvfrom(100))
except socket.timeout: print("a nothing")
b.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
b.sendto(b"bc2", ("198.18.0.255", 7000)); time.sleep(0.1)
try: print("a got (mc loop off)", a.recvfrom(100))
except socket.timeout: print("a nothing (mc loop off)")
b.sendto(b"bc3", ("198.18.0.255", 7001)); time.sleep(0.1)
try: b.sendto(b"lb", ("255.255.255.255", 7000)); print("lbcast sent")
except OSError as e: print("lbcast", e)
s1 = snmp()
for k in sorted(s1):
    if s1[k] != s0.get(k, 0) and (k.startswith("Udp") or k.startswith("Ip")): print(k, s1[k] - s0.get(k, 0))
PY
for n in ba bb; do ip netns del $n; done
