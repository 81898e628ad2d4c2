#!/usr/bin/env bash
# Records a connected UDP socket on the real kernel (Linux 6.18), for the model's UDPConnectTests: in kb
# (198.18.0.1) a socket bound to 0.0.0.0:5000 connects to 198.18.0.9:6000 (no packet; the local address
# becomes 198.18.0.1); ka (198.18.0.9) sends it a datagram from port 6000 and one from 6001; kb then sends
# "ping" (no address: the peer) three times while ka has no socket on 6000, then sendto() 198.18.0.9:7000
# twice. Recorded 2026-12-06: getsockname 198.18.0.1:5000 after connect; the datagram from 6000 is read,
# the one from 6001 is not (port unreachable back, UdpNoPorts 1); each send that goes draws a port
# unreachable, a hard error that becomes the connected socket's sk_err without IP_RECVERR, so the next
# call fails with ECONNREFUSED without sending: ok, ECONNREFUSED, ok, then sendto ECONNREFUSED, ok
# (UdpOutDatagrams 3, IcmpInDestUnreachs 3).
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb python3 - <<'PY' &
import socket, time, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 5000)); s.connect(('198.18.0.9', 6000)); print('local after connect', s.getsockname(), flush=True)
s.setblocking(False)
time.sleep(1.0)
while True:
    try: print('read', s.recvfrom(100), flush=True)
    except BlockingIOError: break
for i in range(3):
    try: s.send(b'ping'); print('send', i, 'ok', flush=True)
    except OSError as e: print('send', i, errno.errorcode[e.errno], flush=True)
    time.sleep(0.3)
for i in range(2):
    try: s.sendto(b'other', ('198.18.0.9', 7000)); print('sendto 7000', i, 'ok', flush=True)
    except OSError as e: print('sendto 7000', i, errno.errorcode[e.errno], flush=True)
    time.sleep(0.3)
PY
sleep 0.5
ip netns exec ka python3 - <<'PY'
import socket
for p in (6000, 6001):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.bind(('0.0.0.0', p)); c.sendto(b'from%d' % p, ('198.18.0.1', 5000)); c.close()
PY
wait
ip netns exec kb nstat -az | grep -E "UdpNoPorts|UdpInDatagrams|UdpOutDatagrams|UdpInErrors|IcmpInDestUnreachs|IcmpOutDestUnreachs"
