#!/usr/bin/env bash
# Records SO_BINDTODEVICE and scope ids on bind and connect on Linux 6.18 for
# APITests/BindToDeviceTests: namespace pa with va (02:00:00:00:00:01, 198.18.0.1/24,
# 2001:db8::1/64) and vc (02:00:00:00:00:02, 198.19.0.1/24, 2001:db9::1/64), pb behind va (.9,
# ::9, 02:00:00:00:ff:01), pc behind vc (.9, ::9, 02:00:00:00:ff:02); permanent neighbours, no DAD.
# Printed: what each call answered, what each socket read, and every frame pa sent on va and vc
# (the packet sockets of vb and vd: the device, then the first 80 bytes).
set -e
for n in pa pb pc; do ip netns del $n 2>/dev/null || true; ip netns add $n; done
ip link add va netns pa address 02:00:00:00:00:01 type veth peer name vb netns pb address 02:00:00:00:ff:01
ip link add vc netns pa address 02:00:00:00:00:02 type veth peer name vd netns pc address 02:00:00:00:ff:02
for n in pa pb pc; do ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; ip -n $n link set lo up; done
ip -n pa link set va up; ip -n pa link set vc up; ip -n pb link set vb up; ip -n pc link set vd up
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad
ip -n pa addr add 198.19.0.1/24 dev vc; ip -n pa addr add 2001:db9::1/64 dev vc nodad
ip -n pb addr add 198.18.0.9/24 dev vb; ip -n pb addr add 2001:db8::9/64 dev vb nodad; ip -n pb route add default via 198.18.0.1; ip -n pb -6 route add default via 2001:db8::1
ip -n pc addr add 198.19.0.9/24 dev vd; ip -n pc addr add 2001:db9::9/64 dev vd nodad; ip -n pc route add default via 198.19.0.1; ip -n pc -6 route add default via 2001:db9::1
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pa neigh add 198.19.0.9 lladdr 02:00:00:00:ff:02 dev vc nud permanent
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pa -6 neigh add 2001:db9::9 lladdr 02:00:00:00:ff:02 dev vc nud permanent
ip -n pa -6 neigh add fe80::ff:fe00:ff01 lladdr 02:00:00:00:ff:01 dev va nud permanent
sleep 2
for n in pb pc; do
  dev=$([ $n = pb ] && echo vb || echo vd)
  ip netns exec $n python3 -c "
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(('$dev', 0)); s.settimeout(6)
out = open('/tmp/btd_$dev.txt', 'w')
try:
    while True:
        f, a = s.recvfrom(70000)
        if a[2] == 4: continue
        if f[12:14] == b'\x86\xdd' and f[20] == 58 and f[54] in (133, 135, 143): continue
        if f[12:14] == b'\x86\xdd' and f[20] == 0: continue
        out.write(f[:80].hex() + '\n'); out.flush()
except (socket.timeout, OSError): pass
" &
done
sleep 0.5
ip netns exec pa python3 - <<'PY' &
import socket, time
SO_BINDTODEVICE = 25
def call(tag, f):
    try: r = f(); print(tag, "ok" if r is None else r)
    except OSError as e: print(tag, e)
def udp(fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.setblocking(False); return s
a = udp(); a.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, b"va"); call("A bind 0.0.0.0:5000 va", lambda: a.bind(("0.0.0.0", 5000)))
b = udp(); b.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, b"vc"); call("B bind 0.0.0.0:5000 vc", lambda: b.bind(("0.0.0.0", 5000)))
c = udp(); call("C bind 0.0.0.0:5000", lambda: c.bind(("0.0.0.0", 5000)))
call("C bindtodevice nope", lambda: c.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, b"nope"))
call("A getsockopt", lambda: a.getsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, 16))
d = udp(socket.AF_INET6); d.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, b"va"); call("D bind [::]:6000 va", lambda: d.bind(("::", 6000)))
e = udp(socket.AF_INET6); call("E bind [::]:6001", lambda: e.bind(("::", 6001)))
f = udp(socket.AF_INET6); call("F bind fe80::ff:fe00:1 no scope", lambda: f.bind(("fe80::ff:fe00:1", 6002)))
call("F bind fe80::ff:fe00:1%va", lambda: f.bind(("fe80::ff:fe00:1", 6002, 0, socket.if_nametoindex("va"))))
call("F getsockopt", lambda: f.getsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, 16))
g = udp(socket.AF_INET6); g.bind(("::", 6003))
call("G connect fe80::ff:fe00:ff01 no scope", lambda: g.connect(("fe80::ff:fe00:ff01", 7000)))
call("G connect fe80::ff:fe00:ff01%va", lambda: g.connect(("fe80::ff:fe00:ff01", 7000, 0, socket.if_nametoindex("va"))))
call("G getsockopt", lambda: g.getsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, 16))
call("A send 198.18.0.9", lambda: a.sendto(b"A-to-pb", ("198.18.0.9", 7000)) and None)
call("A send 198.19.0.9 (a vc address)", lambda: a.sendto(b"A-to-pc", ("198.19.0.9", 7000)) and None)
call("D send fe80::ff:fe00:ff01 no scope", lambda: d.sendto(b"D-ll", ("fe80::ff:fe00:ff01", 7000)) and None)
call("D send 2001:db9::9 (a vc address)", lambda: d.sendto(b"D-to-pc", ("2001:db9::9", 7000)) and None)
call("E send fe80::ff:fe00:ff01 no scope", lambda: e.sendto(b"E-ll", ("fe80::ff:fe00:ff01", 7000)) and None)
call("G send", lambda: g.send(b"G-connected") and None)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, b"va"); t.bind(("0.0.0.0", 80)); t.listen(4)
open("/tmp/btd_ready", "w").write("1")
time.sleep(2.5)
for s, tag in ((a, "A"), (b, "B"), (c, "C"), (d, "D"), (e, "E")):
    while True:
        try: m, addr = s.recvfrom(2000); print(tag, "got", m, addr[0])
        except BlockingIOError: break
        except OSError as x: print(tag, "recv", x); break
PY
PA=$!
while [ ! -f /tmp/btd_ready ]; do sleep 0.1; done; rm -f /tmp/btd_ready
ip netns exec pb python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"pb-to-.18.0.1", ("198.18.0.1", 5000)); s.sendto(b"pb-to-.19.0.1", ("198.19.0.1", 5000))
t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); t.sendto(b"pb-to-db8::1", ("2001:db8::1", 6000)); t.sendto(b"pb-to-db9::1", ("2001:db9::1", 6000))
c = socket.socket(); c.settimeout(1)
try: c.connect(("198.18.0.1", 80)); print("pb tcp connect ok")
except OSError as e: print("pb tcp connect", e)
'
ip netns exec pc python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"pc-to-.19.0.1", ("198.19.0.1", 5000)); s.sendto(b"pc-to-.18.0.1", ("198.18.0.1", 5000))
t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); t.sendto(b"pc-to-db8::1", ("2001:db8::1", 6000))
c = socket.socket(); c.settimeout(1)
try: c.connect(("198.18.0.1", 80)); print("pc tcp connect ok")
except OSError as e: print("pc tcp connect", e)
'
wait $PA
echo "== snmp"; ip netns exec pa cat /proc/net/snmp | grep -E "^Udp:|^Tcp:|^Icmp:"
echo "== snmp6"; ip netns exec pa grep -E "^Udp6(InDatagrams|NoPorts|OutDatagrams)|^Icmp6OutDestUnreachs" /proc/net/snmp6
sleep 6
for n in pa pb pc; do ip netns del $n; done
echo "== frames vb"; cat /tmp/btd_vb.txt; echo "== frames vd"; cat /tmp/btd_vd.txt
