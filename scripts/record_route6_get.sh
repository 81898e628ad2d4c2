#!/usr/bin/env bash
# Records `ip -j -6 route get` (iproute2 6.1, Linux 6.18) for ResourceTests.testRoute6GetAnswersAsIpDoes:
# one namespace, veth v0 with 2001:db8::1/64 (nodad), a static route 2001:db8:5::/48 via 2001:db8::fe,
# (DAD off, as the model has it: link-local addresses usable at once; v1, the peer end, has the lower
# ifindex, so multicast and link-local lookups without a device take it), then a packet-too-big for 2001:db8::9 (MTU 1280, forged through a raw socket from the peer end of
# the veth) so its route has an exception. v0 there is eth0 in the test.
set -e
unshare -n sh -c '
sysctl -qw net.ipv6.conf.default.accept_dad=0; sysctl -qw net.ipv6.conf.all.accept_dad=0
ip link set lo up; ip link add v0 type veth peer name v1; ip link set v0 up; ip link set v1 up; sleep 0.2
ip addr add 2001:db8::1/64 dev v0 nodad; ip route add 2001:db8:5::/48 via 2001:db8::fe dev v0
for a in "2001:db8::9" "2001:db8::1" "2001:db8:5::7" "2001:db9::1" "ff0e::1" "fe80::9" "2001:db8::9 from 2001:db8::1" "2001:db8::9 from 2001:db8::77"; do
  echo "== $a"; ip -j -6 route get $a || true; done
ip route add default via 2001:db8::fe dev v0; echo "== 2001:db9::1 (default)"; ip -j -6 route get 2001:db9::1
ip -6 neigh add 2001:db8::9 lladdr 02:00:00:00:00:09 dev v0
python3 - <<PY
import socket, struct, time
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::", 5000)); u.sendto(b"x" * 1400, ("2001:db8::9", 6000))
hdr = struct.pack("!IHBB", 6 << 28, 1408, 17, 64) + socket.inet_pton(socket.AF_INET6, "2001:db8::1") + socket.inet_pton(socket.AF_INET6, "2001:db8::9")
icmp = struct.pack("!BBHI", 2, 0, 0, 1280) + hdr + struct.pack("!HHHH", 5000, 6000, 1408, 0)
# The ICMPv6 checksum over the pseudo-header, from 2001:db8::9 (the peer) to us.
src, dst = socket.inet_pton(socket.AF_INET6, "2001:db8::9"), socket.inet_pton(socket.AF_INET6, "2001:db8::1")
ph = src + dst + struct.pack("!I3xB", len(icmp), 58) + icmp
s = sum(struct.unpack("!%dH" % (len(ph) // 2), ph)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
icmp = icmp[:2] + struct.pack("!H", ~s & 0xffff) + icmp[4:]
ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 255) + src + dst
eth = bytes.fromhex("000000000000") + bytes.fromhex("020000000009") + b"\x86\xdd"
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); p.bind(("v1", 0))
import subprocess, json
mac = json.loads(subprocess.run(["ip", "-j", "link", "show", "v0"], capture_output=True, text=True).stdout)[0]["address"]
p.send(bytes.fromhex(mac.replace(":", "")) + eth[6:] + ip6 + icmp); time.sleep(0.3)
PY
echo "== 2001:db8::9 (after packet too big)"; ip -j -6 route get 2001:db8::9'
