#!/usr/bin/env bash
# Records what net.ipv4.route.mtu_expires, net.ipv4.route.min_pmtu and net.ipv6.route.mtu_expires do
# (Linux 6.18, iproute2 6.1), for ResourceTests.testRouteSysctls: one namespace, veth v0 with
# 198.18.0.1/24 and 2001:db8::1/64 (nodad), its peer v1 used to forge the ICMP errors; the sysctls set
# to 100, 1000 and 200; a UDP socket sends to 198.18.0.9 and 2001:db8::9, then fragmentation needed
# (MTU 700, under min_pmtu) and packet too big (MTU 1280) come back. Recorded 2026-12-06:
#   198.18.0.9 dev v0 src 198.18.0.1 uid 0 \ cache expires 99sec mtu lock 1000
#   2001:db8::9 ... "expires":199,"metrics":[{"mtu":1280}]
set -e
unshare -n sh -c '
sysctl -qw net.ipv6.conf.all.accept_dad=0; sysctl -qw net.ipv6.conf.default.accept_dad=0
sysctl -qw net.ipv4.route.mtu_expires=100; sysctl -qw net.ipv4.route.min_pmtu=1000; sysctl -qw net.ipv6.route.mtu_expires=200
ip link set lo up; ip link add v0 type veth peer name v1; ip link set v0 up; ip link set v1 up; sleep 0.2
ip addr add 198.18.0.1/24 dev v0; ip addr add 2001:db8::1/64 dev v0 nodad
ip neigh add 198.18.0.9 lladdr 02:00:00:00:00:09 dev v0; ip -6 neigh add 2001:db8::9 lladdr 02:00:00:00:00:09 dev v0
python3 - <<PY
import socket, struct, time, subprocess, json
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
mac = bytes.fromhex(json.loads(subprocess.run(["ip", "-j", "link", "show", "v0"], capture_output=True, text=True).stdout)[0]["address"].replace(":", ""))
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); p.bind(("v1", 0))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5000)); u.sendto(b"x" * 1400, ("198.18.0.9", 6000))
q = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1428, 1, 0x4000, 64, 17, 0, socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.9")) + struct.pack("!HHHH", 5000, 6000, 1408, 0)
icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 700) + q
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 7, 0, 64, 1, 0, socket.inet_aton("198.18.0.9"), socket.inet_aton("198.18.0.1"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
p.send(mac + bytes.fromhex("020000000009") + b"\x08\x00" + ip + icmp)
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::", 5001)); u6.sendto(b"x" * 1400, ("2001:db8::9", 6000))
src, dst = socket.inet_pton(socket.AF_INET6, "2001:db8::9"), socket.inet_pton(socket.AF_INET6, "2001:db8::1")
hdr = struct.pack("!IHBB", 6 << 28, 1408, 17, 64) + dst + src + struct.pack("!HHHH", 5001, 6000, 1408, 0)
icmp6 = struct.pack("!BBHI", 2, 0, 0, 1280) + hdr
icmp6 = icmp6[:2] + struct.pack("!H", csum(src + dst + struct.pack("!I3xB", len(icmp6), 58) + icmp6)) + icmp6[4:]
p.send(mac + bytes.fromhex("020000000009") + b"\x86\xdd" + struct.pack("!IHBB", 6 << 28, len(icmp6), 58, 255) + src + dst + icmp6)
time.sleep(0.3)
PY
ip route get 198.18.0.9; ip -j route get 198.18.0.9; ip -j -6 route get 2001:db8::9'
