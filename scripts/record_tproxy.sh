#!/usr/bin/env bash
# Records nft_tproxy on the real kernel, DUT kb (198.18.0.1, forwarding on), client ka (198.18.0.9). In
# kb: UDP sockets with IP_TRANSPARENT on 0.0.0.0:50080 and 198.18.0.1:50081, one without it on 50082, a
# transparent TCP listener on 50080. From ka: datagrams to 198.18.0.1 ports 80, 81, 82, a TCP connection
# to port 80 carrying "tcpdata", then datagrams to 203.0.113.7 (routed through kb) ports 80 and 81.
# Recorded on Linux 6.18 (nft 1.0.6), 2026-12-06: ports 80 and 81 reached sockets 50080 and 50081, port 82
# found no socket (UdpNoPorts 1, the rule broke); the connection was accepted as 198.18.0.1:80 and its three
# segments (SYN, ACK, data; then FIN and the last ACK) matched the tcp rule; `socket transparent 1` counted
# the 2 datagrams and the segments, `meta mark 1` the one datagram the first rule marked; both routed
# datagrams got their sockets (the listener lookup is at the rule's address and port, whatever the
# destination), so neither reached the forward chain (IpForwDatagrams 0): ip_forward drops an skb with a
# socket. Kept as TProxyTests (which sends the first three segments, without TCP options).
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb sysctl -qw net.ipv4.ip_forward=1
ip -n ka route add 203.0.113.0/24 via 198.18.0.1
ip netns exec kb nft -f - <<'NFT'
table ip t {
  chain pre { type filter hook prerouting priority mangle
    udp dport 80 tproxy to :50080 meta mark set 1 counter
    udp dport 81 tproxy to 198.18.0.1:50081 counter
    tcp dport 80 tproxy to :50080 counter
    udp dport 82 tproxy to :50082 counter
  }
  chain inp { type filter hook input priority 0
    socket transparent 1 counter
    meta mark 1 counter
  }
  chain fw { type filter hook forward priority 0
    udp dport 80 counter
    udp dport 81 counter
  }
}
NFT
ip netns exec kb python3 - <<'PY' &
import socket, select, time
IP_TRANSPARENT = 19
def mk(kind, port, transparent, addr='0.0.0.0'):
    s = socket.socket(socket.AF_INET, kind)
    if transparent: s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM: s.listen()
    return s
socks = [mk(socket.SOCK_DGRAM, 50080, True), mk(socket.SOCK_DGRAM, 50081, True, '198.18.0.1'),
         mk(socket.SOCK_DGRAM, 50082, False), mk(socket.SOCK_STREAM, 50080, True)]
end = time.time() + 4
while time.time() < end:
    for s in select.select(socks, [], [], 0.2)[0]:
        if s.type == socket.SOCK_STREAM:
            c, a = s.accept(); print('accepted', a, 'as', c.getsockname(), c.recv(100), flush=True)
        else:
            d, a = s.recvfrom(100); print('udp', s.getsockname(), 'from', a, d, flush=True)
PY
sleep 0.5
ip netns exec ka python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in (80, 81, 82): s.sendto(b'hi%d' % p, ('198.18.0.1', p)); time.sleep(0.1)
t = socket.create_connection(('198.18.0.1', 80), timeout=2); t.send(b'tcpdata'); time.sleep(0.3); t.close()
for p in (80, 81): s.sendto(b'far', ('203.0.113.7', p)); time.sleep(0.1)
PY
wait
ip netns exec kb nft list ruleset
ip netns exec kb nstat -az | grep -E "UdpNoPorts|UdpInDatagrams|TcpPassiveOpens|IpForwDatagrams"
