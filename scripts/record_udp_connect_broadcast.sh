#!/usr/bin/env bash
# Records UDP connect to broadcast and other non-unicast addresses on the real kernel (Linux 6.18),
# for UDPConnectTests.testConnectToBroadcastNeedsSOBroadcast: kb (198.18.0.1/24, no default route)
# connects fresh AF_INET sockets with and without SO_BROADCAST, then sends one datagram on each
# that connected. Recorded 2026-12-06:
#   198.18.0.255: without EACCES; with ok (local 198.18.0.1), send ok
#   255.255.255.255 and 239.1.1.1: ENETUNREACH either way (no route: kb has no default route)
#   198.18.0.0 (the network's own address, no broadcast route): ok either way, send ok
#   connected with SO_BROADCAST, the option then cleared: send ok (the route cached at connect)
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb python3 - <<'PY'
import socket, errno
def sock(bc):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if bc: s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return s
def call(f):
    try: f(); return 'ok'
    except OSError as e: return errno.errorcode[e.errno]
for dst in ('198.18.0.255', '255.255.255.255', '239.1.1.1', '198.18.0.0'):
    for bc in (False, True):
        s = sock(bc)
        r = call(lambda: s.connect((dst, 6000)))
        extra = ''
        if r == 'ok':
            extra = str(s.getsockname()[0]) + ' send ' + call(lambda: s.send(b'x'))
        print('connect', dst, 'SO_BROADCAST' if bc else 'plain', r, extra)
        s.close()
s = sock(True); s.connect(('198.18.0.255', 6001)); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 0)
print('cleared after connect: send', call(lambda: s.send(b'y')))
PY
