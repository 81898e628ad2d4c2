#!/usr/bin/env bash
# Records the multicast loop on Linux 6.18 for APITests/MulticastLoopTests: namespace ma with v0
# (02:00:00:00:00:01, 198.18.0.1/24, 2001:db8::1/64, a route 224.0.0.0/4 dev v0), its peer v1 in mb
# with IPv6 off (so nothing of its own arrives). Sockets in ma: [::]:6000, [::]:5000, 0.0.0.0:7000,
# 0.0.0.0:5001. 5000 sends to ff02::1 port 6000 (looped back and read), port 6001 (no socket:
# Udp6IgnoredMulti), then with IPV6_MULTICAST_LOOP 0; 5001 sends to 224.0.0.1 port 7000, then with
# IP_MULTICAST_LOOP 0. The SNMP counters that moved are printed.
set -e
for n in ma mb; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; ip -n $n link set lo up; done
ip link add v0 netns ma address 02:00:00:00:00:01 type veth peer name v1 netns mb address 02:00:00:00:ff:01
ip netns exec mb sysctl -qw net.ipv6.conf.v1.disable_ipv6=1
ip -n ma link set v0 up; ip -n mb link set v1 up
ip -n ma addr add 198.18.0.1/24 dev v0; ip -n ma route add 224.0.0.0/4 dev v0; ip -n ma addr add 2001:db8::1/64 dev v0 nodad
sleep 0.5
ip netns exec ma python3 - <<'PY'
import socket, time
def snmp6():
    d = {}
    for l in open("/proc/net/snmp6"):
        k, v = l.split(); d[k] = int(v)
    return d
def snmp():
    lines = open("/proc/net/snmp").read().split("\n"); d = {}
    for i in range(0, len(lines) - 1, 2):
        if not lines[i]: continue
        ks = lines[i].split(); vs = lines[i + 1].split()
        for k, v in zip(ks[1:], vs[1:]): d[ks[0][:-1] + k] = int(v)
    return d
a6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); a6.bind(("::", 6000)); a6.settimeout(0.3)
b6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); b6.bind(("::", 5000))
a4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a4.bind(("0.0.0.0", 7000)); a4.settimeout(0.3)
b4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b4.bind(("0.0.0.0", 5001))
s6, s4 = snmp6(), snmp()
b6.sendto(b"loop6", ("ff02::1", 6000)); time.sleep(0.1)
try: print("a6 got", a6.recvfrom(100))
except socket.timeout: print("a6 nothing")
b6.sendto(b"nosock6", ("ff02::1", 6001)); time.sleep(0.1)
b6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
b6.sendto(b"noloop6", ("ff02::1", 6000)); time.sleep(0.1)
try: print("a6 got", a6.recvfrom(100))
except socket.timeout: print("a6 nothing (loop off)")
b4.sendto(b"loop4", ("224.0.0.1", 7000)); time.sleep(0.1)
try: print("a4 got", a4.recvfrom(100))
except socket.timeout: print("a4 nothing")
b4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
b4.sendto(b"noloop4", ("224.0.0.1", 7000)); time.sleep(0.1)
try: print("a4 got", a4.recvfrom(100))
except socket.timeout: print("a4 nothing (loop off)")
e6, e4 = snmp6(), snmp()
for k in sorted(e6):
    if e6[k] != s6.get(k, 0) and ("Udp6" in k or "Ip6" in k): print(k, e6[k] - s6.get(k, 0))
for k in sorted(e4):
    if e4[k] != s4.get(k, 0) and (k.startswith("Udp") or k.startswith("Ip")): print(k, e4[k] - s4.get(k, 0))
PY
for n in ma mb; do ip netns del $n; done
