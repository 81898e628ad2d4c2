#!/usr/bin/env bash
# Records what the real kernel (6.18) does with a TCP connection a host makes to itself, over lo:
# kb (198.18.0.1, lo up) listens on 127.0.0.1:8080 and connects from port 40000 (bound on 0.0.0.0),
# sends "hello", the server reads it, the client closes, then the server; a second socket connects
# to the closed port 8081. An inet table counts each hook and sets nftrace in output; `nft monitor
# trace` runs alongside. Writes into $1 (default: a temporary folder): trace.txt, nstat.txt,
# lo_after.json (ip -s -j link), ss.txt, calls.txt. IPV6=1: over ::1 (windows 65476, 65464; lo 11 packets, 809
# bytes; Cases/nft_trace_tcp6_lo.txt). Recorded 2026-12-06 (Tests/APITests/LoopbackTests and
# Cases/nft_trace_tcp_lo.txt replay it): 11 segments, each out/post with `oif "lo"` then pre/in with
# `iif "lo" @ll,0,112 0x800`; SYN window 65495 (MSS 65495: 65535 less the headers, not lo's 65536),
# SYN-ACK 65483, then 64 (wscale 10 with this host's tcp_rmem 4096 131072 33554432); the server's ACK
# of the data waits for the delayed-ACK timer; the connect to 8081 draws RST|ACK, ECONNREFUSED.
# lo rx = tx = 11 packets, 589 bytes; IpInReceives/InDelivers/OutRequests 11, TcpActiveOpens 2 (the
# refused one too), PassiveOpens 1, AttemptFails 1, InSegs 11, OutSegs 11 (the RST too), OutRsts 1.
set -e
out=${1:-$(mktemp -d)}
# IPV6=1: the same over ::1 (AF_INET6 sockets).
host=${IPV6:+::1}; host=${host:-127.0.0.1}; fam=${IPV6:+AF_INET6}; fam=${fam:-AF_INET}; any=${IPV6:+::}; any=${any:-0.0.0.0}
mkdir -p "$out"
. "$(dirname "$0")/netns_pair.sh"
trace_in kb $out/trace.txt
ip netns exec kb nstat -az > /dev/null
HOST=$host FAM=$fam ANY=$any ip netns exec kb python3 - > $out/calls.txt <<'PY'
import socket, time, errno, os
H, F, A = os.environ['HOST'], getattr(socket, os.environ['FAM']), os.environ['ANY']
def call(f):
    try: return f()
    except OSError as e: return errno.errorcode[e.errno]
srv = socket.socket(F, socket.SOCK_STREAM); srv.bind((H, 8080)); srv.listen(8)
cli = socket.socket(F, socket.SOCK_STREAM); cli.bind((A, 40000))
print('connect', call(lambda: cli.connect((H, 8080))), cli.getsockname())
conn, peer = srv.accept(); print('accepted', peer)
time.sleep(0.2)
print('send', call(lambda: cli.send(b'hello')))
time.sleep(0.2)
print('recv', conn.recv(100))
cli.close(); time.sleep(0.2)
conn.close(); time.sleep(0.2)
c2 = socket.socket(F, socket.SOCK_STREAM); c2.bind((A, 40001))
print('closed port', call(lambda: c2.connect((H, 8081))))
time.sleep(0.2)
PY
sleep 0.5
ip netns exec kb ss -tani > $out/ss.txt
ip netns exec kb ip -s -j link show lo > $out/lo_after.json
ip netns exec kb nstat -a > $out/nstat.txt
kill $MON
echo "recorded into $out"
