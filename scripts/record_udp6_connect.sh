#!/usr/bin/env bash
# Records AF_INET6 UDP sockets connecting and meeting ICMPv6 errors on the real kernel, for the
# model's UDP6ConnectTests: kb is 2001:db8::1, ka 2001:db8::9, ::10 and ::11 (all nodad). One process
# enters each namespace in turn (setns), so the steps run in order; ka's raw ICMPv6 socket forges
# the packet-too-big messages. Prints each call's answer, then kb's counters. Recorded on 6.18
# (2026-12-06):
#   connect (bound, peer): (::, ::9) 2001:db8::1; (2001:db8::1, ::ffff:198.18.0.9) ENETUNREACH;
#     (::ffff:198.18.0.1, ::9) EAFNOSUPPORT; (::, ::ffff:198.18.0.9) ::ffff:198.18.0.1; fe80::9 and
#     ff02::1 EINVAL; ff0e::1 2001:db8::1; 2001:db9::1 ENETUNREACH; (::, ::) ::1; (::1, ::9) ::1;
#     v6only to ::ffff:198.18.0.9 ENETUNREACH
#   A connected: reads from6000 only (Udp6NoPorts 1); sends ok ECONNREFUSED ok, sendto 7000 ECONNREFUSED ok
#   B none: ok ok ok; C IPV6_RECVERR: ok ECONNREFUSED ok; D IP_RECVERR: ok ok ok
#   E v4-mapped with IP_RECVERR: ok ECONNREFUSED ok; with IPV6_RECVERR: ok ok ok
#   F connected, PTB 1280: ok EMSGSIZE ok (2 fragments); ip -6 route get: expires 599sec mtu 1280
#   G unconnected, PTB 1300 for ::10: ok ok (2 fragments), mtu 1300; H PTB 1000 for ::11: no exception
#   Icmp6InErrors 2 (A's error for port 7000, I's for port 5999), Icmp6InPktTooBigs 4, Ip6FragCreates 4
#   (Icmp6InDestUnreachs varies with ka's ICMPv6 rate limit, 11-13.)
#   J sendto: ff0e::1 ok, out with 33:33:00:00:00:01, hop limit 1, from 2001:db8::1; ff02::1 ok, the same
#     from the link-local address; ff01::1 ok, nothing on the wire; fe80::9 ok, nothing (it waits for
#     neighbour discovery, which nobody answers)
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad
for a in 9 10 11; do ip -n ka addr add 2001:db8::$a/64 dev va nodad; done
python3 - <<'PY'
import ctypes, errno, os, socket, struct, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
B, A = '2001:db8::1', '2001:db8::9'
IPV6_RECVERR, IP_RECVERR = 25, 11
def call(f):
    try: f(); return 'ok'
    except OSError as e: return errno.errorcode[e.errno]
enter('ka')
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
kept = {}
for p in (6000, 6001, 6007, 6008):
    c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); c.bind((A, p)); kept[p] = c   # ka has three addresses
def ptb(mtu, src, sport, dst, dport):
    quoted = struct.pack('!IHBB', 6 << 28, 8 + 1400, 17, 64) + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    quoted += struct.pack('!HHHH', sport, dport, 8 + 1400, 0)
    raw.sendto(struct.pack('!BBHI', 2, 0, 0, mtu) + quoted, (src, 0))
enter('kb')
def sock(port, opts=()):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::', port)); s.setblocking(False)
    for level, name in opts: s.setsockopt(level, name, 1)
    return s
# What connect answers (bound address, target): the local address it leaves, or the errno.
def connect(bind, to, v6only=False):
    c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    if v6only: c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    c.bind((bind, 4000))
    r = call(lambda: c.connect((to, 6000)))
    print('connect', bind, to, 'v6only' if v6only else '', r if r != 'ok' else c.getsockname()[0]); c.close()
for b, to in (('::', A), ('2001:db8::1', '::ffff:198.18.0.9'), ('::ffff:198.18.0.1', A), ('::', '::ffff:198.18.0.9'),
              ('::', 'fe80::9'), ('::', 'ff02::1'), ('::', 'ff0e::1'), ('::', '2001:db9::1'), ('::', '::'), ('::1', A)):
    connect(b, to)
connect('::', '::ffff:198.18.0.9', True)
# A: connect, the peer's datagrams only, hard errors on a connected socket.
s = sock(5000); s.connect((A, 6000)); print('A local after connect', s.getsockname()[:2])
enter('ka')
for p in (6000, 6001): kept[p].sendto(b'from%d' % p, (B, 5000))
enter('kb')
import time; time.sleep(0.5)   # ka resolves kb first
got = []
while True:
    try: got.append(s.recv(100))
    except BlockingIOError: break
print('A read', got)
kept[6000].close()
answers = []
for i in range(3): answers.append(call(lambda: s.send(b'ping'))); time.sleep(0.3)
for i in range(2): answers.append(call(lambda: s.sendto(b'other', (A, 7000)))); time.sleep(0.3)
print('A sends', answers)
# B, C, D: unconnected without an option, with IPV6_RECVERR, with IP_RECVERR only.
for tag, port, opts in (('B none', 5002, ()), ('C IPV6_RECVERR', 5003, ((socket.IPPROTO_IPV6, IPV6_RECVERR),)),
                        ('D IP_RECVERR', 5004, ((socket.IPPROTO_IP, IP_RECVERR),))):
    u = sock(port, opts); r = []
    for i in range(3): r.append(call(lambda: u.sendto(b'x', (A, 7100 + port)))); time.sleep(0.3)
    print(tag, r)
# E: the same over IPv4 (v4-mapped) from a dual-stack socket, with IP_RECVERR, then IPV6_RECVERR only.
for tag, port, opts in (('E v4-mapped IP_RECVERR', 5005, ((socket.IPPROTO_IP, IP_RECVERR),)),
                        ('E v4-mapped IPV6_RECVERR', 5006, ((socket.IPPROTO_IPV6, IPV6_RECVERR),))):
    u = sock(port, opts); r = []
    for i in range(3): r.append(call(lambda: u.sendto(b'x', ('::ffff:198.18.0.9', 7100 + port)))); time.sleep(0.3)
    print(tag, r)
def frag_creates():
    out = subprocess.run(['nstat', '-az', 'Ip6FragCreates'], capture_output=True, text=True).stdout.split()
    return int(out[out.index('Ip6FragCreates') + 1])
# F: a connected socket told packet too big (1280): EMSGSIZE once, then fragments at 1280.
f = sock(5007); f.connect((A, 6007)); r = [call(lambda: f.send(b'y' * 1400))]
enter('ka'); ptb(1280, B, 5007, A, 6007); enter('kb')
r += [call(lambda: f.send(b'y' * 1400)), call(lambda: f.send(b'y' * 1400))]
print('F connected PTB 1280', r, 'FragCreates', frag_creates())
print('F route', subprocess.run(['ip', '-6', 'route', 'get', A], capture_output=True, text=True).stdout.strip())
# G: unconnected, no option, PTB 1300 for ::10: no error, the path MTU learnt.
g = sock(5008); r = [call(lambda: g.sendto(b'z' * 1400, ('2001:db8::10', 6008)))]
enter('ka'); ptb(1300, B, 5008, '2001:db8::10', 6008); enter('kb')
r += [call(lambda: g.sendto(b'z' * 1400, ('2001:db8::10', 6008)))]
print('G unconnected PTB 1300', r, 'FragCreates', frag_creates())
print('G route', subprocess.run(['ip', '-6', 'route', 'get', '2001:db8::10'], capture_output=True, text=True).stdout.strip())
# H: PTB 1000 (below the IPv6 minimum) for ::11 via the same socket; I: PTB quoting a port with no socket.
enter('ka'); ptb(1000, B, 5008, '2001:db8::11', 6008); ptb(1280, B, 5999, '2001:db8::11', 6008); enter('kb')
print('H route', subprocess.run(['ip', '-6', 'route', 'get', '2001:db8::11'], capture_output=True, text=True).stdout.strip())
# J: sendto without a scope id: multicast groups and a link-local address, as ka's eth0 sees them.
import select, time
enter('ka'); cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd)); cap.bind(('va', 0)); enter('kb')
j = sock(4000)
for a in ('ff0e::1', 'ff02::1', 'ff01::1', 'fe80::9'):
    r = call(lambda: j.sendto(b'x', (a, 9))); time.sleep(0.2); got = []
    while select.select([cap], [], [], 0.3)[0]:
        f = cap.recv(2000)
        if f[20] == 17: got.append('dst mac %s hlim %d src %s' % (f[0:6].hex(':'), f[21], socket.inet_ntop(socket.AF_INET6, f[22:38])))
    print('J sendto', a, r, got or 'nothing on the wire')
PY
ip netns exec kb nstat -az | grep -E "Udp6|Icmp6In(Errors|DestUnreachs|PktTooBigs|Msgs)|Ip6Frag|IcmpInDestUnreachs|UdpNoPorts|UdpOutDatagrams" | grep -v " 0 "
