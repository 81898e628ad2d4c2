#!/usr/bin/env bash
# Records ping sockets on Linux 6.18 for APITests/PingSocketTests: namespaces pa (va 02:00:00:00:00:01,
# 198.18.0.1/24, 2001:db8::1/64) and pb (vb 02:00:00:00:ff:01, .9 and ::9), permanent neighbours.
# socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) under the default net.ipv4.ping_group_range "1 0" (EACCES,
# as root too), then with "0 2147483647": an echo request whose id the socket's identifier replaces
# (from the global ping_port_rover; a fresh kernel starts at 1), headers other than an echo
# request refused (EINVAL), a socket bound to identifier 77, an unbound socket to a host without a
# neighbour (nothing leaves but ARP; still counted), a connected one, 65,515 bytes sent and 65,516
# refused (EMSGSIZE); the AF_INET6 IPPROTO_ICMPV6 socket likewise. pb's packet socket prints each
# ICMP echo frame (pkttype 0: what pa sent, 4: what pb answered; the first 90 bytes).
set -e
ip netns del pa 2>/dev/null || true; ip netns del pb 2>/dev/null || true
ip netns add pa; ip netns add pb
ip link add va netns pa address 02:00:00:00:00:01 type veth peer name vb netns pb address 02:00:00:00:ff:01
ip -n pa link set lo up; ip -n pb link set lo up; ip -n pa link set va up; ip -n pb link set vb up
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad; ip -n pb addr add 2001:db8::9/64 dev vb nodad; ip -n pb addr add 198.18.0.9/24 dev vb
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent
ip -n pb -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip -n pb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
echo "== default range"; ip netns exec pa sysctl net.ipv4.ping_group_range
ip netns exec pa python3 - <<'PY' || true
import socket
try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); print("created")
except OSError as e: print("socket:", e)
PY
ip netns exec pa sysctl -qw net.ipv4.ping_group_range="0 2147483647"
ip netns exec pb python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(("vb", 0)); s.settimeout(4)
out = open("/tmp/ping_vb.txt", "w")
try:
    while True:
        f, a = s.recvfrom(70000)
        if ((f[12:14] == b"\x08\x00" and f[23] == 1) or (f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] in (128, 129))): out.write(str(a[2]) + " " + f[:90].hex() + " %d\n" % len(f)); out.flush()
except socket.timeout: pass
' & TD=$!; sleep 0.5
ip netns exec pa python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
print("before send:", s.getsockname())
s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"hello", ("198.18.0.9", 0))
print("after send:", s.getsockname())
time.sleep(0.2)
s.settimeout(0.5)
m, a = s.recvfrom(2000); print("got", m.hex(), a)
for bad in (struct.pack("!BBHHH", 0, 0, 0, 1, 1), struct.pack("!BBHHH", 8, 1, 0, 1, 1), b"\x08\x00\x00"):
    try: s.sendto(bad, ("198.18.0.9", 0)); print("sent", bad.hex())
    except OSError as e: print(bad.hex(), e)
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); t.bind(("0.0.0.0", 77)); print("bound", t.getsockname())
t.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, 2) + b"x", ("198.18.0.9", 0)); time.sleep(0.2)
m, a = t.recvfrom(2000); print("got", m.hex(), a)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
u.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, 3), ("198.18.0.99", 0)); print("u", u.getsockname())
u.connect(("198.18.0.9", 0)); u.send(struct.pack("!BBHHH", 8, 0, 0, 0, 4)); time.sleep(0.2); m = u.recv(2000); print("connected got", m.hex())
for size in (65515, 65516):
    try: u.send(bytes([8, 0, 0, 0, 0, 0, 0, 5]) + bytes(size - 8)); print("sent", size)
    except OSError as e: print(size, e)
time.sleep(0.3)
PY
ip netns exec pa python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
s.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x1234, 1) + b"hello6", ("2001:db8::9", 0))
print("v6 after send:", s.getsockname()); time.sleep(0.2); s.settimeout(0.5)
m, a = s.recvfrom(2000); print("v6 got", m.hex(), a)
for bad in (struct.pack("!BBHHH", 8, 0, 0, 1, 1), struct.pack("!BBHHH", 128, 1, 0, 1, 1)):
    try: s.sendto(bad, ("2001:db8::9", 0)); print("sent", bad.hex())
    except OSError as e: print(bad.hex(), e)
PY
echo "== snmp6"; ip netns exec pa grep -E "Icmp6(In|Out)(Msgs|Echo|Type12|Type13)|Ip6OutRequests|Ip6InDelivers" /proc/net/snmp6
sleep 0.3; kill $TD 2>/dev/null || true; sleep 0.2
echo "== snmp"; ip netns exec pa cat /proc/net/snmp | grep -E "^Icmp:|^IcmpMsg:|^Ip:" 
ip netns del pa; ip netns del pb
cat /tmp/ping_vb.txt
