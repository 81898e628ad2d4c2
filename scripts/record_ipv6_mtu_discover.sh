#!/usr/bin/env bash
# Records IPV6_MTU_DISCOVER on AF_INET6 UDP sockets on the real kernel, for the model's
# UDP6MTUDiscoverTests: kb is 2001:db8::1 (vb, MTU 1500), ka answers for 2001:db8::20-25 (nodad). For
# each value (0 dont, 1 want, 2 do, 3 probe, 4 interface, 5 omit) a socket sends 1600 bytes to its own
# destination, ka's raw ICMPv6 socket then forges a packet too big (MTU 1280) for that destination,
# and the socket sends 1400 bytes. Prints each call's answer and the fragments it made (Ip6FragCreates).
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad
for a in 9 20 21 22 23 24 25; do ip -n ka addr add 2001:db8::$a/64 dev va nodad; done
python3 - <<'PY'
import ctypes, errno, os, socket, struct, subprocess, time
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
B = '2001:db8::1'
IPV6_MTU_DISCOVER = 23
def call(f):
    try: f(); return 'ok'
    except OSError as e: return errno.errorcode[e.errno]
enter('ka')
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
def ptb(mtu, src, sport, dst, dport):
    quoted = struct.pack('!IHBB', 6 << 28, 8 + 1400, 17, 64) + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    quoted += struct.pack('!HHHH', sport, dport, 8 + 1400, 0)
    raw.sendto(struct.pack('!BBHI', 2, 0, 0, mtu) + quoted, (src, 0))
enter('kb')
def frags():
    out = subprocess.run(['nstat', '-az', 'Ip6FragCreates'], capture_output=True, text=True).stdout.split()
    return int(out[out.index('Ip6FragCreates') + 1]) if 'Ip6FragCreates' in out else 0
# ka must be resolved first: a datagram to each destination.
warm = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for m in range(6): warm.sendto(b'w', ('2001:db8::%d' % (20 + m), 9))
time.sleep(0.5)
for m, name in enumerate(['dont', 'want', 'do', 'probe', 'interface', 'omit']):
    dst = '2001:db8::%d' % (20 + m)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::', 5100 + m))
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, m)
    f0 = frags(); a = call(lambda: s.sendto(b'x' * 1600, (dst, 6000))); f1 = frags()
    enter('ka'); ptb(1280, B, 5100 + m, dst, 6000); enter('kb'); time.sleep(0.2)
    b = call(lambda: s.sendto(b'y' * 1400, (dst, 6000))); f2 = frags()
    c = call(lambda: s.sendto(b'z' * 1400, (dst, 6000))); f3 = frags()
    print(name, '1600:', a, f1 - f0, 'frags; after PTB 1280, 1400:', b, f2 - f1, 'frags, again:', c, f3 - f2, 'frags')
PY
ip netns del ka; ip netns del kb
