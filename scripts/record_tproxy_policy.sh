#!/usr/bin/env bash
# Records tproxy with policy routing (the usual transparent proxy recipe) on the real kernel: DUT kb
# (198.18.0.1, forwarding on) marks what tproxy gives a socket, `ip rule add fwmark 1 lookup 100` and
# `ip route add local 0.0.0.0/0 dev lo table 100` deliver it locally; client ka (198.18.0.9) routes
# 203.0.113.0/24 through kb. kb has a transparent UDP socket and TCP listener on 0.0.0.0:50080. ka sends a
# datagram to 203.0.113.7:53, then connects to 203.0.113.7:443 and sends "hello".
# Recorded on Linux 6.18 (nft 1.0.6), 2026-12-06: the datagram reached the socket from 198.18.0.9 for
# 203.0.113.7:53; the connection was accepted as 203.0.113.7:443 and read "hello"; the tproxy rule counted
# the datagram and the SYN; the socket rule the rest of the connection's segments (ACK, data, FIN, ACK);
# nothing was forwarded. Kept as TProxyTests.testThePolicyRoutingRecipe.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb sysctl -qw net.ipv4.ip_forward=1
ip -n ka route add 203.0.113.0/24 via 198.18.0.1
ip -n kb rule add fwmark 1 lookup 100
ip -n kb route add local 0.0.0.0/0 dev lo table 100
ip netns exec kb nft -f - <<'NFT'
table ip t {
  chain pre { type filter hook prerouting priority mangle
    meta l4proto tcp socket transparent 1 meta mark set 1 counter accept
    ip daddr 203.0.113.0/24 meta l4proto { tcp, udp } th dport { 53, 443 } tproxy to :50080 meta mark set 1 counter accept
  }
}
NFT
ip netns exec kb python3 - <<'PY' &
import socket, select, time
IP_TRANSPARENT, IP_RECVORIGDSTADDR = 19, 20
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1); u.setsockopt(socket.SOL_IP, IP_RECVORIGDSTADDR, 1); u.bind(('0.0.0.0', 50080))
t = socket.socket(); t.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1); t.bind(('0.0.0.0', 50080)); t.listen()
end = time.time() + 3
while time.time() < end:
    for s in select.select([u, t], [], [], 0.2)[0]:
        if s is t:
            c, a = t.accept(); print('accepted', a, 'as', c.getsockname(), c.recv(100), flush=True)
        else:
            d, anc, _, a = u.recvmsg(100, 64); o = anc[0][2]
            print('udp from', a, 'for', socket.inet_ntoa(o[4:8]), int.from_bytes(o[2:4], 'big'), d, flush=True)
PY
sleep 0.5
ip netns exec ka python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'query', ('203.0.113.7', 53)); time.sleep(0.1)
c = socket.create_connection(('203.0.113.7', 443), timeout=2); print('client connected', c.getsockname(), '->', c.getpeername())
c.send(b'hello'); time.sleep(0.3); c.close(); time.sleep(0.2)
PY
wait
ip netns exec kb nft list ruleset
ip netns exec kb nstat -az | grep -E "UdpInDatagrams|TcpPassiveOpens|IpForwDatagrams|IpInDelivers"
