#!/usr/bin/env bash
# Records IPv6 policy routing on Linux 6.18 (iproute2 6.1, nft 1.0.6) for APITests/Policy6Tests.
# Part 1, one namespace, veths v0 (2001:db8::1/64) and w0 (2001:db8:1::1/64), DAD off: `ip -j -6 rule`
# fresh and with five rules (fwmark, from, to, iif, not fwmark with suppress_prefixlength 0), routes
# in tables 100-400 (an unreachable one), and `ip -j -6 route get` for output and input lookups.
# Facts it showed: IPv6 starts with two rules (no default table); a `from` rule never selects a
# lookup without a source; ip prints no mark for IPv6; an input lookup (iif) answers with
# forwarding off; an unreachable route answers "No route to host".
# Part 2, a router namespace r (v0 to h, w0 to g; forwarding on; permanent neighbours for the two
# gateways): main default via v0, table 100 default via w0 for fwmark 1, `from 2001:db8::9 to
# 2001:db8:5::/48` to table 200, 2001:db8:6::/48 unreachable in table 200; nft marks UDP port 7 at
# prerouting (and counts what three fib lookups there answer) and port 8 in a route chain at output. h sends UDP to 2001:db9::5 ports 7 and 9,
# to 2001:db8:5::5 and 2001:db8:6::5; r's own socket (unbound) sends to 2001:db9::5 ports 8 and 9,
# 2001:db8:6::5 and 2001:db8:5::5. A dynamic set records each datagram's daddr . dport . oifname.
set -e
unshare -n sh -c '
sysctl -qw net.ipv6.conf.default.accept_dad=0; sysctl -qw net.ipv6.conf.all.accept_dad=0
ip link set lo up; ip link add v0 type veth peer name v1; ip link add w0 type veth peer name w1
for d in v0 v1 w0 w1; do ip link set $d up; done; sleep 0.2
ip addr add 2001:db8::1/64 dev v0 nodad; ip addr add 2001:db8:1::1/64 dev w0 nodad
echo "== rule (fresh)"; ip -j -6 rule
echo "== route table all (fresh)"; ip -j -6 route show table all
ip -6 rule add fwmark 0x1 table 100
ip -6 rule add from 2001:db8:1::/64 lookup 200 priority 100
ip -6 rule add to 2001:db8:99::/48 lookup 300
ip -6 rule add iif v0 lookup 400
ip -6 rule add not fwmark 0x2/0x2 lookup main suppress_prefixlength 0 priority 50
ip -6 route add default via 2001:db8:1::fe dev w0 table 100
ip -6 route add default via 2001:db8::fe dev v0 metric 10 table 200
ip -6 route add 2001:db8:99::/48 via 2001:db8::fd dev v0 table 300
ip -6 route add 2001:db8:77::/48 via 2001:db8:1::fd dev w0 table 400
ip -6 route add unreachable 2001:db8:66::/48 table 400
ip -6 route add default via 2001:db8::fe dev v0
echo "== rule"; ip -j -6 rule
echo "== route table 100"; ip -j -6 route show table 100
echo "== route table all"; ip -j -6 route show table all
for a in "2001:db9::1" "2001:db9::1 mark 1" "2001:db9::1 mark 3" "2001:db9::1 from 2001:db8:1::1" "2001:db8:99::5" "2001:db8:77::5 from 2001:db8::9 iif v0" "2001:db8:66::5 from 2001:db8::9 iif v0" "2001:db8:77::5" "2001:db8::1 mark 1" "2001:db8:1::9 mark 1"; do
  echo "== get $a"; ip -j -6 route get $a 2>&1 || true; done
sysctl -qw net.ipv6.conf.all.forwarding=1
for a in "2001:db8:77::5 from 2001:db8::9 iif v0" "2001:db8:66::5 from 2001:db8::9 iif v0" "2001:db9::5 from 2001:db8::9 iif v0 mark 1"; do
  echo "== get fwd $a"; ip -j -6 route get $a 2>&1 || true; done
ip -6 rule del priority 100
echo "== rule after del"; ip -j -6 rule
'
echo "#### part 2"
set -e
for n in r h g; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip -n $n link set lo up; done
for n in r h g; do ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; done
ip link add v0 netns r type veth peer name v1 netns h
ip link add w0 netns r type veth peer name w1 netns g
ip -n r link set v0 address 02:00:00:00:00:01; ip -n r link set w0 address 02:00:00:00:00:02
ip -n h link set v1 address 02:00:00:00:ff:01; ip -n g link set w1 address 02:00:00:00:ff:02
for d in v0 w0; do ip -n r link set $d up; done; ip -n h link set v1 up; ip -n g link set w1 up
ip -n r addr add 2001:db8::1/64 dev v0 nodad; ip -n r addr add 2001:db8:1::1/64 dev w0 nodad
ip -n h addr add 2001:db8::9/64 dev v1 nodad
ip -n h -6 route add default via 2001:db8::1 dev v1
ip netns exec r sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n r -6 neigh add 2001:db8::fe lladdr 02:00:00:00:ff:01 dev v0 nud permanent
ip -n r -6 neigh add 2001:db8:1::fe lladdr 02:00:00:00:ff:02 dev w0 nud permanent
ip -n r -6 route add default via 2001:db8::fe dev v0
ip -n r -6 route add default via 2001:db8:1::fe dev w0 table 100
ip -n r -6 rule add fwmark 0x1 table 100
ip -n r -6 route add 2001:db8:5::/48 via 2001:db8:1::fe dev w0 table 200
ip -n r -6 rule add from 2001:db8::9 to 2001:db8:5::/48 lookup 200 priority 200
ip -n r -6 route add unreachable 2001:db8:6::/48 table 200
ip -n r -6 rule add to 2001:db8:6::/48 lookup 200 priority 201
ip netns exec r nft -f - <<'NFT'
table ip6 t {
  chain pre { type filter hook prerouting priority mangle; udp dport 7 meta mark set 1
    meta l4proto udp fib daddr . mark oifname "w0" counter
    meta l4proto udp fib daddr oifname "w0" counter
    meta l4proto udp fib daddr type unreachable counter
  }
  chain out { type route hook output priority mangle; udp dport 8 meta mark set 1; }
  set seen { type ipv6_addr . inet_service . ifname; flags dynamic; }
  chain post { type filter hook postrouting priority 0; meta l4proto udp add @seen { ip6 daddr . udp dport . oifname }; }
}
NFT
sleep 0.3
ip netns exec h python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("2001:db8::9", 5000))
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); raw.settimeout(0.5)
for port in (7, 9): s.sendto(b"x", ("2001:db9::5", port)); time.sleep(0.05)
s.sendto(b"y", ("2001:db8:5::5", 9)); time.sleep(0.05)
s.sendto(b"z", ("2001:db8:6::5", 9)); time.sleep(0.2)
try:
    while True:
        m, a = raw.recvfrom(2000)
        if m[0] == 1: print("h got ICMPv6 type", m[0], "code", m[1], "from", a[0], "quoting", socket.inet_ntop(socket.AF_INET6, m[32:48]))
except socket.timeout: pass
PY
ip netns exec r python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for port in (8, 9):
    s.sendto(b"o", ("2001:db9::5", port)); time.sleep(0.05)
for dst in ("2001:db8:6::5", "2001:db8:5::5"):
    try: s.sendto(b"o", (dst, 9)); print(dst, "sent")
    except OSError as e: print(dst, e)
PY
echo "== seen"; ip netns exec r nft list set ip6 t seen
echo "== pre"; ip netns exec r nft list chain ip6 t pre
echo "== tx"; for d in v0 w0; do ip -n r -j -s link show $d | python3 -c "import json,sys; l=json.load(sys.stdin)[0]; print(l['ifname'], l['stats64']['tx']['packets'], l['stats64']['tx']['bytes'])"; done
echo "== snmp6"; ip netns exec r grep -E "Ip6(InNoRoutes|OutNoRoutes|OutForwDatagrams|OutRequests)|Icmp6OutDestUnreachs|Icmp6OutType1 " /proc/net/snmp6
for n in r h g; do ip netns del $n; done
