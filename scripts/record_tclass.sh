#!/usr/bin/env bash
# Records which of IP_TOS and IPV6_TCLASS an AF_INET6 socket's packets carry on the real kernel
# (Linux 6.18), for UDP6ConnectTests.testTrafficClassIsNotIPTOS: kb (198.18.0.1, 2001:db8::1) sends,
# ka's veth captures each frame's IPv4 TOS or IPv6 traffic class, and SO_PRIORITY is read back.
# Recorded 2026-12-06:
#   U AF_INET6 UDP, IP_TOS 0x28: to 2001:db8::9 tclass 0x0, to ::ffff:198.18.0.9 tos 0x28; priority 2 (rt_tos2priority)
#   V AF_INET6 UDP, IPV6_TCLASS 0x48: to 2001:db8::9 tclass 0x48, to ::ffff:198.18.0.9 tos 0x0; priority 0
#   W both (IP_TOS 0x28, IPV6_TCLASS 0x48): tclass 0x48 over IPv6, tos 0x28 over IPv4
#   T AF_INET6 TCP with IPV6_TCLASS 0x48 (its SYN): tclass 0x48; with IP_TOS 0x28 only: tclass 0x0
#   A AF_INET UDP, IP_TOS 0x28: tos 0x28; priority 2
#   L a listener with IP_TOS 0x28 (priority 2): its SYN-ACK tos 0x28; the accepted child tos 0x28, priority 0
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad; ip -n ka addr add 2001:db8::9/64 dev va nodad
python3 - <<'PY'
import ctypes, os, socket, select, time
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('ka'); cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); cap.bind(('va', 0))
enter('kb')
time.sleep(1.5)   # IPv6 neighbour discovery and MLD settle
def show(tag):
    time.sleep(0.4)
    while select.select([cap], [], [], 0.2)[0]:
        f, addr = cap.recvfrom(2000)
        if addr[2] == socket.PACKET_OUTGOING: continue
        et = f[12:14]
        if et == b'\x08\x00' and f[23] in (6, 17): print(tag, 'IPv4 tos', hex(f[15]))
        if et == b'\x86\xdd' and f[20] in (6, 17): print(tag, 'IPv6 tclass', hex(((f[14] & 0x0f) << 4) | (f[15] >> 4)))
IPV6_TCLASS = 67
def prio(s): return s.getsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
u.sendto(b'x', ('2001:db8::9', 9)); show('U IP_TOS 0x28 to IPv6')
u.sendto(b'x', ('::ffff:198.18.0.9', 9)); show('U IP_TOS 0x28 to v4-mapped'); print('U priority', prio(u))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, 0x48)
v.sendto(b'x', ('2001:db8::9', 9)); show('V IPV6_TCLASS 0x48 to IPv6')
v.sendto(b'x', ('::ffff:198.18.0.9', 9)); show('V IPV6_TCLASS 0x48 to v4-mapped'); print('V priority', prio(v))
w = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); w.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28); w.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, 0x48)
w.sendto(b'x', ('2001:db8::9', 9)); show('W both to IPv6')
w.sendto(b'x', ('::ffff:198.18.0.9', 9)); show('W both to v4-mapped')
for tag, level, opt, val in (('T IPV6_TCLASS 0x48', socket.IPPROTO_IPV6, IPV6_TCLASS, 0x48), ('T IP_TOS 0x28', socket.IPPROTO_IP, socket.IP_TOS, 0x28)):
    t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); t.setsockopt(level, opt, val); t.setblocking(False)
    try: t.connect(('2001:db8::9', 5555))
    except BlockingIOError: pass
    show(tag + ' SYN'); t.close()
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
a.sendto(b'x', ('198.18.0.9', 9)); show('A IP_TOS 0x28'); print('A priority', prio(a))
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM); l.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
l.bind(('198.18.0.1', 5001)); l.listen(5); print('L listener priority', prio(l))
enter('ka'); k = socket.socket(socket.AF_INET, socket.SOCK_STREAM); k.connect(('198.18.0.1', 5001)); enter('kb')
def shown(tag):   # ka's capture: what kb sent it (the SYN-ACK)
    time.sleep(0.3)
    while select.select([cap], [], [], 0.2)[0]:
        f, addr = cap.recvfrom(2000)
        if addr[2] != socket.PACKET_OUTGOING and f[12:14] == b'\x08\x00' and f[23] == 6 and f[47] & 0x12 == 0x12: print(tag, 'tos', hex(f[15]))
shown('L SYN-ACK')
child, _ = l.accept()
print('L child tos', hex(child.getsockopt(socket.IPPROTO_IP, socket.IP_TOS)), 'priority', prio(child))
PY
