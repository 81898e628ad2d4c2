#!/usr/bin/env bash
# Records the hop-limit socket options on the real kernel (Linux 6.18), for UDP6ConnectTests.testHopOptions:
# kb (198.18.0.1, 2001:db8::1) sends, ka's veth captures. UDP: AF_INET with IP_TTL 5; AF_INET6 with
# IPV6_UNICAST_HOPS 7 to 2001:db8::9 (and the AF_INET one to 239.1.1.1), with IPV6_MULTICAST_HOPS 3 to ff0e::1, a dual-stack one with IP_TTL 9
# and IPV6_UNICAST_HOPS 7 to ::ffff:198.18.0.9; TCP: a connect with IP_TTL 11 (its SYN); broadcasts with
# and without SO_BROADCAST, to 255.255.255.255 without and with a default route. Prints each frame's
# TTL or hop limit (and an IPv4 frame's MAC), or the errno. Recorded 2026-12-06: TTL 5, a group TTL 1 to
# 01:00:5e:01:01:01, 198.18.0.255 TTL 5 to ff:ff:ff:ff:ff:ff, 255.255.255.255 ENETUNREACH then (default
# route) TTL 5 to ff:ff:ff:ff:ff:ff, without SO_BROADCAST EACCES both; IPv6 hop limits 7 and 3; the
# dual-stack socket TTL 9 over IPv4 and 7 over IPv6; the SYN TTL 11.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad; ip -n ka addr add 2001:db8::9/64 dev va nodad; ip -n kb route add 224.0.0.0/4 dev vb
python3 - <<'PY'
import ctypes, os, socket, select, time
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('ka'); cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); cap.bind(('va', 0))
enter('kb')
def show(tag):
    time.sleep(0.3)
    while select.select([cap], [], [], 0.2)[0]:
        f, addr = cap.recvfrom(2000)
        if addr[2] == socket.PACKET_OUTGOING: continue
        et = f[12:14]
        if et == b'\x08\x00' and f[23] in (6, 17): print(tag, 'IPv4 ttl', f[22], 'proto', f[23], 'dst mac', f[0:6].hex(':'))
        if et == b'\x86\xdd' and f[20] in (6, 17): print(tag, 'IPv6 hlim', f[21], 'next', f[20])
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 5); a.sendto(b'x', ('198.18.0.9', 9)); show('A IP_TTL 5')
a.sendto(b'x', ('239.1.1.1', 9)); show('A to 239.1.1.1 (IP_MULTICAST_TTL default)')
a.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); a.sendto(b'x', ('198.18.0.255', 9)); show('A to 198.18.0.255')
def call(f):
    try: f(); return 'ok'
    except OSError as e: return __import__('errno').errorcode[e.errno]
print('A to 255.255.255.255 without a default route', call(lambda: a.sendto(b'x', ('255.255.255.255', 9))))
import subprocess; subprocess.run(['ip', 'route', 'add', 'default', 'via', '198.18.0.9'])
a.sendto(b'x', ('255.255.255.255', 9)); show('A to 255.255.255.255 with a default route')
n = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print('A2 to 255.255.255.255 without SO_BROADCAST', call(lambda: n.sendto(b'x', ('255.255.255.255', 9))))
print('A2 to 198.18.0.255 without SO_BROADCAST', call(lambda: n.sendto(b'x', ('198.18.0.255', 9))))
b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 7)
b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 3)
b.sendto(b'x', ('2001:db8::9', 9)); show('B unicast hops 7')
b.sendto(b'x', ('ff0e::1', 9)); show('B multicast hops 3')
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); c.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 9); c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 7)
c.sendto(b'x', ('::ffff:198.18.0.9', 9)); show('C mapped IP_TTL 9 + hops 7')
c.sendto(b'x', ('2001:db8::9', 9)); show('C IPv6 IP_TTL 9 + hops 7')
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 11); t.setblocking(False)
try: t.connect(('198.18.0.9', 5555))
except BlockingIOError: pass
show('T TCP IP_TTL 11')
PY
