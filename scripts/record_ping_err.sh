#!/usr/bin/env bash
# Records connect and ICMP errors on ping sockets on Linux 6.18 for APITests/PingSocketTests:
# namespaces pa (va 02:00:00:00:00:01, 198.18.0.1/24, 2001:db8::1/64) and pb (vb 02:00:00:00:ff:01,
# .9 and ::9), permanent neighbours, pa's net.ipv4.ping_group_range "0 2147483647". pb rejects
# echo requests by sequence number (nft reject: 1 port unreachable, 2 host unreachable, 3 admin
# prohibited; over IPv6 1 port unreachable, 2 admin prohibited, 3 address unreachable) and answers
# the rest. pa's sockets: connected (ip4_datagram_connect / ip6_datagram_connect) and not, with and
# without IP_RECVERR / IPV6_RECVERR; what recv and send then answer (ping_err's sk_err), what
# connect refuses, pa's ICMP counters, and the echo requests pa sent (vb's packet socket).
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad; ip -n pb addr add 2001:db8::9/64 dev vb nodad; ip -n pb addr add 198.18.0.9/24 dev vb
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent
ip -n pb -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip -n pb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip netns exec pa sysctl -qw net.ipv4.ping_group_range="0 2147483647"
ip netns exec pb nft -f - <<'NFT'
table inet f {
  chain i {
    type filter hook input priority 0;
    icmp type echo-request icmp sequence 1 reject with icmp type port-unreachable
    icmp type echo-request icmp sequence 2 reject with icmp type host-unreachable
    icmp type echo-request icmp sequence 3 reject with icmp type admin-prohibited
    icmpv6 type echo-request icmpv6 sequence 1 reject with icmpv6 type port-unreachable
    icmpv6 type echo-request icmpv6 sequence 2 reject with icmpv6 type admin-prohibited
    icmpv6 type echo-request icmpv6 sequence 3 reject with icmpv6 type addr-unreachable
  }
}
NFT
ip netns exec pb python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(("vb", 0)); s.settimeout(5)
out = open("/tmp/ping_err_vb.txt", "w")
try:
    while True:
        f, a = s.recvfrom(70000)
        if a[2] == 0 and ((f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 8) or (f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] == 128)): out.write(f.hex() + "\n"); out.flush()
except socket.timeout: pass
' & TD=$!; sleep 0.5
ip netns exec pa python3 - <<'PY'
import socket, struct, time
IP_RECVERR, IPV6_RECVERR = 11, 25
def echo(t, seq, data=b""): return struct.pack("!BBHHH", t, 0, 0, 0, seq) + data
def recv(s, tag):
    try: m = s.recv(2000); print(tag, "got", m.hex())
    except BlockingIOError: print(tag, "EAGAIN")
    except OSError as e: print(tag, "recv:", e)
def send(s, tag, m, to=None):
    try: (s.sendto(m, to) if to else s.send(m)); print(tag, "sent")
    except OSError as e: print(tag, "send:", e)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); c.setblocking(False)
c.connect(("198.18.0.9", 0)); print("A connected", c.getsockname())
send(c, "A1", echo(8, 1, b"a")); time.sleep(0.2); recv(c, "A1 recv"); recv(c, "A1 again")
send(c, "A2", echo(8, 2)); time.sleep(0.2); recv(c, "A2 recv")
send(c, "A3", echo(8, 3)); time.sleep(0.2); send(c, "A3 next send", echo(8, 7)); time.sleep(0.2); recv(c, "A3 recv"); recv(c, "A3 again")
send(c, "A4", echo(8, 1)); send(c, "A4 data", echo(8, 5)); time.sleep(0.2); recv(c, "A4 first"); recv(c, "A4 second")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); u.setblocking(False)
send(u, "B1", echo(8, 1), ("198.18.0.9", 0)); time.sleep(0.2); recv(u, "B1 recv")
u.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
send(u, "B2", echo(8, 2), ("198.18.0.9", 0)); time.sleep(0.2); recv(u, "B2 recv"); recv(u, "B2 again")
for to in ("198.18.0.255", "10.1.1.1", "198.18.0.99"):
    k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    try: k.connect((to, 0)); print("connect", to, "ok", k.getsockname())
    except OSError as e: print("connect", to, e)
k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
try: k.send(echo(8, 9)); print("unconnected send ok")
except OSError as e: print("unconnected send", e)
d = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6); d.setblocking(False)
d.connect(("2001:db8::9", 0)); print("C connected", d.getsockname())
send(d, "C1", echo(128, 1, b"c")); time.sleep(0.2); recv(d, "C1 recv"); recv(d, "C1 again")
send(d, "C2", echo(128, 2)); time.sleep(0.2); recv(d, "C2 recv")
send(d, "C3", echo(128, 3)); time.sleep(0.2); recv(d, "C3 recv")
send(d, "C4", echo(128, 6)); time.sleep(0.2); recv(d, "C4 recv")
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6); v.setblocking(False)
send(v, "D1", echo(128, 1), ("2001:db8::9", 0)); time.sleep(0.2); recv(v, "D1 recv")
v.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
send(v, "D3", echo(128, 3), ("2001:db8::9", 0)); time.sleep(0.2); recv(v, "D3 recv"); recv(v, "D3 again")
for to in ("::ffff:198.18.0.9", "fe80::9", "2001:db9::1"):
    k = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
    try:
        k.connect((to, 0)); print("connect6", to, "ok", k.getsockname())
        try: k.send(echo(128, 9)); print("  send ok")
        except OSError as e: print("  send", e)
    except OSError as e: print("connect6", to, e)
time.sleep(0.3)
PY
echo "== snmp"; ip netns exec pa cat /proc/net/snmp | grep -E "^Icmp:|^IcmpMsg:"
echo "== snmp6"; ip netns exec pa grep -E "^Icmp6(InMsgs|InErrors|OutMsgs|InDestUnreachs|OutEchos|InEchoReplies)|Icmp6(In|Out)Type" /proc/net/snmp6
sleep 0.3; kill $TD 2>/dev/null || true; sleep 0.2
ip netns del pa; ip netns del pb
echo "== frames"; cat /tmp/ping_err_vb.txt
