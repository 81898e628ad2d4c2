#!/usr/bin/env bash
# Records IP_RECVERR on a TCP connection (Linux 6.18), for TCPPathMTUTests.testIPRecvErrReportsAnErrorAtTheNextCall:
# kb (198.18.0.1) connects to a server in ka (198.18.0.9) whose input drops data segments (so kb's stay
# unacknowledged) and which answers kb's first data segment with an ICMP host unreachable quoting it
# (scapy); kb then sends twice. Recorded 2026-12-06: with IP_RECVERR the first send fails with
# EHOSTUNREACH and the second goes (SO_ERROR 0 after); without it both go, and SO_ERROR reads the soft
# error (113, EHOSTUNREACH), which the model keeps for a timeout to report.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec ka nft -f - <<'N'
table ip t { chain i { type filter hook input priority 0; tcp dport { 5000, 5001 } tcp flags & (syn|ack) == ack meta length > 52 drop; }; }
N
run() {
PORT=$1; RE=$2
ip netns exec ka python3 -c "
import socket,time
s=socket.socket(); s.bind(('0.0.0.0',$PORT)); s.listen(); c,a=s.accept(); time.sleep(3)" &
ip netns exec ka /usr/bin/python3 - <<P &
from scapy.all import *
conf.verb=0
pk=sniff(iface='va', filter='tcp and dst port $PORT and tcp[tcpflags] & tcp-push != 0', count=1, timeout=4)
if pk:
    p=pk[0][IP]
    send(IP(src='198.18.0.9', dst='198.18.0.1')/ICMP(type=3, code=1)/bytes(p)[:28])
P
sleep 1
ip netns exec kb python3 - <<P
import socket, time, errno
s = socket.create_connection(('198.18.0.9', $PORT), timeout=2)
if $RE: s.setsockopt(socket.SOL_IP, 11, 1)
s.send(b'x'*100)
time.sleep(0.8)
for i in range(2):
    try: s.send(b'y'*10); print('recverr $RE send', i, 'ok', flush=True)
    except OSError as e: print('recverr $RE send', i, errno.errorcode[e.errno], flush=True)
print('recverr $RE SO_ERROR', s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), flush=True)
P
wait
}
run 5000 1
run 5001 0
