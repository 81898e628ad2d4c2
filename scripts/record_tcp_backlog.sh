#!/usr/bin/env bash
# Records a full accept queue on the real kernel (Linux 6.18), for TCPConnectFailureTests.
# testTheAcceptQueueHoldsOneMoreThanTheBacklog: in ka (198.18.0.9) a listener on 5000 with listen(1) that
# never accepts; kb (198.18.0.1) starts four non-blocking connects at once. Recorded 2026-12-06: ss shows
# LISTEN Recv-Q 2 (one more than the backlog), two connections ESTAB, none in SYN-RECV; TcpPassiveOpens 2,
# TcpExtListenOverflows 4 and TcpExtListenDrops 4 after 1.5 s (the third and fourth SYNs, and their
# retransmissions a second later, each consumed unanswered).
. "$(dirname "$0")/netns_pair.sh"
ip netns exec ka python3 -c "
import socket,time
s=socket.socket(); s.bind(('0.0.0.0',5000)); s.listen(1); time.sleep(4)" &
sleep 0.3
for i in 1 2 3 4; do ip netns exec kb python3 -c "
import socket,time
s=socket.socket(); s.setblocking(False)
try: s.connect(('198.18.0.9',5000))
except BlockingIOError: pass
time.sleep(3)" & done
sleep 1.5
ip netns exec ka ss -ltn | grep 5000
ip netns exec ka ss -tan | grep -c ESTAB
ip netns exec ka ss -tan state syn-recv | tail -n +2 | wc -l
ip netns exec ka nstat -az | grep -E "ListenOverflows|ListenDrops|TcpPassiveOpens|TCPReqQFull|SyncookiesSent|TCPTimeouts|TCPSynRetrans"
wait
