#!/usr/bin/env bash
# Records the device an AF_INET6 UDP socket's sendto leaves by (Linux 6.18) for APITests/Scope6Tests:
# namespace sa with v0 (02:00:00:00:00:01, 2001:db8::1/64) and w0 (02:00:00:00:00:02, 2001:db8:1::1/64),
# DAD off, their peers v1/w1 in sb, whose packet sockets print each UDP frame that reaches them
# (device of arrival, whole frame). The socket on [::]:5000 sends one byte ('a', 'b', ...) each to
# fe80::ff:fe00:ff01 without and with scope w0, ff02::1 without and with scope w0, 2001:db8:1::9,
# 2001:db8::9 with scope w0 (a global address ignores it), ff02::1 after IPV6_MULTICAST_IF w0, ff02::1
# scoped to v0 with that option set (the scope wins), and a scope id no device has (ENETUNREACH).
set -e
for n in sa sb; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; ip -n $n link set lo up; done
ip link add v0 netns sa address 02:00:00:00:00:01 type veth peer name v1 netns sb address 02:00:00:00:ff:01
ip link add w0 netns sa address 02:00:00:00:00:02 type veth peer name w1 netns sb address 02:00:00:00:ff:02
ip -n sa link set v0 up; ip -n sa link set w0 up; ip -n sb link set v1 up; ip -n sb link set w1 up
ip -n sa addr add 2001:db8::1/64 dev v0 nodad; ip -n sa addr add 2001:db8:1::1/64 dev w0 nodad
ip -n sa -6 neigh add fe80::ff:fe00:ff01 lladdr 02:00:00:00:ff:01 dev v0 nud permanent
ip -n sa -6 neigh add fe80::ff:fe00:ff01 lladdr 02:00:00:00:ff:02 dev w0 nud permanent
ip -n sa -6 neigh add 2001:db8:1::9 lladdr 02:00:00:00:ff:02 dev w0 nud permanent
ip -n sa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev v0 nud permanent
sleep 0.5
echo "== ifindex"; ip -n sa -o link | awk '{print $2}'
for d in v1 w1; do ip netns exec sb python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind((sys.argv[1], 0)); s.settimeout(2.5)
try:
    while True:
        f, a = s.recvfrom(70000)
        if a[2] in (0, 1, 2) and f[12:14] == b"\x86\xdd" and f[20] == 17: print(sys.argv[1], f.hex(), flush=True)
except socket.timeout: pass
' $d & done
sleep 0.5
ip netns exec sa python3 - <<'PY'
import socket, struct, time
w0 = socket.if_nametoindex("w0")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", 5000))
for i, (dst, scope) in enumerate([("fe80::ff:fe00:ff01", 0), ("fe80::ff:fe00:ff01", w0), ("ff02::1", 0), ("ff02::1", w0), ("2001:db8:1::9", 0), ("2001:db8::9", w0)]):
    try: s.sendto(bytes([0x61 + i]), (dst, 6000, 0, scope)); print("sent", i, dst, scope)
    except OSError as e: print(i, dst, scope, e)
    time.sleep(0.1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, w0)
s.sendto(b"g", ("ff02::1", 6000)); print("sent 6 ff02::1 multicast_if w0")
time.sleep(0.1)
s.sendto(b"h", ("ff02::1", 6000, 0, socket.if_nametoindex("v0"))); print("sent 7 ff02::1%v0 with multicast_if w0")
time.sleep(0.1)
try: s.sendto(b"i", ("fe80::ff:fe00:ff01", 6000, 0, 99)); print("sent 8")
except OSError as e: print("8 scope 99", e)
PY
sleep 2.5
for n in sa sb; do ip netns del $n; done
