#!/usr/bin/env bash
# Records what the real kernel (6.18) does with datagrams a host sends to itself through its loopback
# device (Tests/APITests/LoopbackTests and Cases/nft_trace_lo.txt replay it). kb (198.18.0.1, 2001:db8::1, lo up) sends from one process; an inet table
# with a counter in each hook and `meta nftrace set 1` in output; `nft monitor trace` runs alongside.
# Writes into $1 (default: a temporary folder): trace.txt, lo_before/after.json (ip -s -j link), nstat.txt,
# ct.txt, local_routes.json. Recorded 2026-12-06:
#   a 127.0.0.1:9000, b 198.18.0.1:9001, c 127.0.0.1:9002 (closed), d ::1, e 2001:db8::1, f 127.1.2.3:9001:
#     all sent; r1 got a from 127.0.0.1:5000, r2 got b from 198.18.0.1 (the route's source is the
#     destination itself) and f from 127.0.0.1 (127/8's prefsrc), r6 got d from ::1 and e from 2001:db8::1.
#   g: a socket connected to 127.0.0.1:9002 sends ok, the looped-back port unreachable makes the next
#     send ECONNREFUSED (and nothing is sent: IpOutDiscards 1).
#   lo (ifindex 1, LOOPBACK,UP,LOWER_UP, mtu 65536, noqueue): rx and tx both 9 packets, 374 bytes
#     (7 IPv4 incl. two ICMP port unreachables, 2 IPv6). IpInReceives 7 IpOutRequests 7 UdpNoPorts 2
#     IcmpOutDestUnreachs 2 IcmpInDestUnreachs 2 UdpInDatagrams 3 Udp6InDatagrams 2.
#   nft trace: output and postrouting show `oif "lo"` (no iif); prerouting and input of the looped
#     packet show `iif "lo" @ll,0,112 0x800` (0x86dd for IPv6: lo is not Ethernet, so nft prints the
#     14 zero-MAC bytes raw) under a NEW trace id (the id hashes skb_iif, 0 on output, 1 after lo),
#     nftrace kept across the loop; ICMP errors to 127.0.0.1 go out and back the same way (dscp cs6).
#   No conntrack entry: nothing in the ruleset needs conntrack.
set -e
out=${1:-$(mktemp -d)}
mkdir -p "$out"
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad
trace_in kb $out/trace.txt
ip netns exec kb ip -s -j link show lo > $out/lo_before.json
ip netns exec kb nstat -az > /dev/null
ip netns exec kb python3 - <<'PY'
import socket, time, errno
r1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r1.bind(('127.0.0.1', 9000)); r1.setblocking(False)
r2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r2.bind(('0.0.0.0', 9001)); r2.setblocking(False)
r6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r6.bind(('::', 9003)); r6.setblocking(False)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5000))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.bind(('::', 5006))
def call(f):
    try: f(); return 'ok'
    except OSError as e: return errno.errorcode[e.errno]
print('a', call(lambda: s.sendto(b'a', ('127.0.0.1', 9000)))); time.sleep(0.2)
print('b', call(lambda: s.sendto(b'bb', ('198.18.0.1', 9001)))); time.sleep(0.2)
print('c', call(lambda: s.sendto(b'ccc', ('127.0.0.1', 9002)))); time.sleep(0.2)
print('d', call(lambda: s6.sendto(b'dddd', ('::1', 9003)))); time.sleep(0.2)
print('e', call(lambda: s6.sendto(b'eeeee', ('2001:db8::1', 9003)))); time.sleep(0.2)
print('f', call(lambda: s.sendto(b'ffffff', ('127.1.2.3', 9001)))); time.sleep(0.2)
for n, x in (('r1', r1), ('r2', r2), ('r6', r6)):
    got = []
    while True:
        try: got.append(x.recvfrom(100))
        except BlockingIOError: break
    print(n, got)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.connect(('127.0.0.1', 9002))
print('g connected', c.getsockname(), call(lambda: c.send(b'g'))); time.sleep(0.2); print('g again', call(lambda: c.send(b'g')))
PY
sleep 0.5
ip netns exec kb ip -s -j link show lo > $out/lo_after.json
ip netns exec kb nstat -a > $out/nstat.txt
ip netns exec kb conntrack -L > $out/ct.txt 2>&1
ip netns exec kb nft list ruleset > $out/ruleset.txt
ip netns exec kb ip -j route show table local > $out/local_routes.json
kill $MON
echo "recorded into $out"
