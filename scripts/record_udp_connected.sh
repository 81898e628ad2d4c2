#!/usr/bin/env bash
# Records a connected UDP socket on the real kernel (kb 198.18.0.1): one socket connected to
# 198.18.0.9:7 and one unconnected, both on port 9000 (SO_REUSEADDR), and a connected socket on 9001 whose
# peer 198.18.0.9:8 is closed. Datagrams from ka: from 198.18.0.9:7 and from 198.18.0.9:6 to 9000 (which
# socket gets each); then the 9001 socket sends to its closed peer, ka answers port unreachable, and
# the socket's next calls report it. Prints what each socket read and each call's result.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb /usr/bin/python3 - <<'PY' &
import socket, time, errno
def sock(port, peer=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('198.18.0.1', port)); s.setblocking(False)
    if peer: s.connect(peer)
    return s
conn = sock(9000, ('198.18.0.9', 7)); free = sock(9000)
time.sleep(1.5)
for name, s in (('connected', conn), ('unconnected', free)):
    got = []
    while True:
        try: d, a = s.recvfrom(100); got.append((d.decode(), a[1]))
        except BlockingIOError: break
    print(name, 'read', got)
c = sock(9001, ('198.18.0.9', 8))
print('send 1:', c.send(b'a'))
time.sleep(0.3)
for call in ('send', 'send', 'recv'):
    try: print(call + ':', c.send(b'b') if call == 'send' else c.recv(10))
    except OSError as e: print(call + ':', errno.errorcode[e.errno])
print('SO_ERROR now', c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
PY
sleep 0.5
for sp in 7 6; do
  ip netns exec ka /usr/bin/python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9', $sp)); s.sendto(b'from$sp', ('198.18.0.1', 9000))"
done
wait
ip netns exec kb nstat -az 2>/dev/null | grep -E "UdpInDatagrams|UdpNoPorts|IcmpInDestUnreachs" 
