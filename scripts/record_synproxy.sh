#!/usr/bin/env bash
# Records what the real kernel (6.18) does with nft synproxy (nft_synproxy.c, nf_synproxy_core.c):
# kb (198.18.0.1) runs the nftables wiki's ruleset (SYNs untracked in raw prerouting, `ct state
# invalid,untracked synproxy ...` in input, nf_conntrack_tcp_loose 0) in front of a listening socket
# on port 80; ka (198.18.0.9, scapy on va, its own kernel kept quiet by an input drop) sends a SYN,
# the ACK carrying the cookie, data, and an ACK with a wrong cookie. Every frame on kb's vb and lo is
# captured (AF_PACKET, hex, with its direction). IPV6=1: the same over 2001:db8::9 -> 2001:db8::1.
# Writes into $1 (default: a temporary folder): frames.txt, trace.txt (nft monitor trace of kb),
# conntrack.txt, synproxy_stat.txt (/proc/net/stat/synproxy), nstat.txt, app.txt. CLIENT=kernel: ka's
# own TCP connects instead (its segments CHECKSUM_PARTIAL over the veth).
# Recorded 2026-12-06 (Tests/APITests/SynproxyAPITests replays Cases/synproxy_frames.txt and
# Cases/nft_trace_synproxy.txt; KernelTests/SynproxyTests the IPv6 run, Cases/synproxy6_frames.txt):
# the SYN-ACK's seq is the cookie, window 0, TSval the clock with the client's window scale and SACK
# in its low 6 bits; the server's SYN goes over lo from the client's address; its SYN-ACK is taken at
# POST_ROUTING and answered with an ACK to it and a window update to the client (server window >> its
# scale). That ACK's TSecr is moved by the offset meant for the client's, so the request sock rejects
# it (TcpExtTSEcrRejected 1) and answers with its own ACK (a second window update, checksum complete);
# the handshake completes with the client's first data. A wrong cookie: dropped, cookie_invalid 1.
# IPv6 with scapy (CHECKSUM_NONE): the SYN is dropped by the rule (nft_synproxy checks it with
# nf_ip_checksum, IPv4's); with CLIENT=kernel it goes as IPv4 does.
set -e
out=${1:-$(mktemp -d)}
mkdir -p "$out"
. "$(dirname "$0")/netns_pair.sh"
fam=${IPV6:+ip6}; fam=${fam:-ip}
if [ -n "$IPV6" ]; then
    ip -n kb addr add 2001:db8::1/64 dev vb nodad; ip -n ka addr add 2001:db8::9/64 dev va nodad; sleep 1
fi
ip netns exec kb sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
RULESET="table $fam sp {
  chain pre { type filter hook prerouting priority raw; policy accept; meta nftrace set 1; tcp flags syn notrack; }
  chain in {
    type filter hook input priority filter; policy accept;
    tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
  chain out { type filter hook output priority raw; policy accept; meta nftrace set 1; }
}"
trace_in kb $out/trace.txt "$RULESET"
[ "$CLIENT" = kernel ] || ip netns exec ka nft -f - <<< "table $fam quiet {
  chain in { type filter hook input priority 0; tcp sport 80 drop; }
}"
ip netns exec kb nstat -az > /dev/null
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
KA_MAC=$(ip -n ka -j link show va | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
# Neighbours known both ways, so no frame waits for ARP or NDP.
ip -n kb neigh replace ${IPV6:+2001:db8::9}${IPV6:-198.18.0.9} lladdr $KA_MAC dev vb nud permanent
ip -n ka neigh replace ${IPV6:+2001:db8::1}${IPV6:-198.18.0.1} lladdr $KB_MAC dev va nud permanent
KB_MAC=$KB_MAC KA_MAC=$KA_MAC IPV6=$IPV6 CLIENT=$CLIENT OUT=$out python3 - <<'PY'
import ctypes, os, socket, struct, threading, time
from scapy.all import Ether, IP, IPv6, TCP, Raw, sendp, conf
conf.verb = 0
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
V6 = os.environ['IPV6'] == '1'
KB_MAC, KA_MAC, OUT = os.environ['KB_MAC'], os.environ['KA_MAC'], os.environ['OUT']
A, B = ('2001:db8::9', '2001:db8::1') if V6 else ('198.18.0.9', '198.18.0.1')
L3 = (lambda: IPv6(src=A, dst=B, hlim=64)) if V6 else (lambda: IP(src=A, dst=B, ttl=64, id=1, flags='DF'))
frames, app = [], []
enter('kb')
# One socket on every device: frames in the order the kernel saw them.
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); cap.settimeout(0.1)
stop = False
def capture():
    while not stop:
        try:
            f, addr = cap.recvfrom(70000)
            if addr[0] in ('vb', 'lo'): frames.append((time.time(), addr[0], 'out' if addr[2] == 4 else 'in', f.hex()))
        except socket.timeout: pass
threading.Thread(target=capture, daemon=True).start()
srv = socket.socket(socket.AF_INET6 if V6 else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind((B, 80)); srv.listen(8)
def serve():
    conn, peer = srv.accept(); app.append('accepted %s' % (peer,))
    data = conn.recv(100); app.append('recv %r' % data)
    conn.send(b'world'); app.append('sent world')
    time.sleep(1.0); conn.close()
threading.Thread(target=serve, daemon=True).start()
def last_from_kb(after):
    for t, dev, d, h in reversed(frames):
        f = bytes.fromhex(h)
        if dev == 'vb' and d == 'out' and t >= after and f[12:14] == (b'\x86\xdd' if V6 else b'\x08\x00') and f[20 if V6 else 23] == 6: return f
def send(p):
    enter('ka'); sendp(Ether(src=KA_MAC, dst=KB_MAC) / p, iface='va'); enter('kb')
def tcp_fields(f):
    th = 14 + (40 if V6 else (f[14] & 15) * 4)
    seq, ack = struct.unpack('>II', f[th + 4:th + 12])
    opts = f[th + 20:th + (f[th + 12] >> 4) * 4]; tsval = None; i = 0
    while i < len(opts):
        if opts[i] == 1: i += 1; continue
        if opts[i] == 0: break
        if opts[i] == 8: tsval = struct.unpack('>I', opts[i + 2:i + 6])[0]
        i += opts[i + 1]
    return seq, ack, tsval
def run():
    time.sleep(0.3)
    # 1: the SYN (MSS 1460, SACK permitted, TS 100/0, NOP, window scale 7: Linux's order).
    t0 = time.time()
    send(L3() / TCP(sport=40000, dport=80, flags='S', seq=1000, window=64240,
                    options=[('MSS', 1460), ('SAckOK', b''), ('Timestamp', (100, 0)), ('NOP', None), ('WScale', 7)]))
    time.sleep(0.3)
    synack = last_from_kb(t0); cookie, _, ts1 = tcp_fields(synack)
    app.append('synack seq %d tsval %s' % (cookie, ts1))
    # 2: the ACK with the cookie (window 502 << 7).
    t1 = time.time()
    send(L3() / TCP(sport=40000, dport=80, flags='A', seq=1001, ack=cookie + 1, window=502,
                    options=[('NOP', None), ('NOP', None), ('Timestamp', (101, ts1))]))
    time.sleep(0.5)
    upd = last_from_kb(t1); _, _, ts2 = tcp_fields(upd)
    # 3: data.
    send(L3() / TCP(sport=40000, dport=80, flags='PA', seq=1001, ack=cookie + 1, window=502,
                    options=[('NOP', None), ('NOP', None), ('Timestamp', (102, ts2))]) / Raw(b'hello'))
    time.sleep(0.5)
    # 4: the server's "world" acknowledged.
    send(L3() / TCP(sport=40000, dport=80, flags='A', seq=1006, ack=cookie + 6, window=502,
                    options=[('NOP', None), ('NOP', None), ('Timestamp', (103, ts2))]))
    time.sleep(0.3)
    # 5: an ACK whose cookie is wrong, from another port.
    send(L3() / TCP(sport=40001, dport=80, flags='A', seq=5001, ack=12345, window=502,
                    options=[('NOP', None), ('NOP', None), ('Timestamp', (104, ts1))]))
    time.sleep(0.5)
def run_kernel_client():
    # ka's own TCP connects (its segments CHECKSUM_PARTIAL over the veth, so verified on kb).
    enter('ka'); c = socket.socket(socket.AF_INET6 if V6 else socket.AF_INET, socket.SOCK_STREAM)
    c.bind((A, 40000)); c.connect((B, 80)); app.append('connected')
    c.send(b'hello'); app.append('client recv %r' % c.recv(100)); enter('kb')
    time.sleep(1.5)
    enter('ka'); c.close(); enter('kb'); time.sleep(0.5)
try:
    run_kernel_client() if os.environ.get('CLIENT') == 'kernel' else run()
finally:
    stop = True; time.sleep(0.3)
    with open(OUT + '/frames.txt', 'w') as f:
        for t, dev, d, h in frames: f.write('%.3f %s %s %s\n' % (t - frames[0][0], dev, d, h))
    with open(OUT + '/app.txt', 'w') as f: f.write('\n'.join(app) + '\n')
PY
ip netns exec kb conntrack -L -f ${IPV6:+ipv6}${IPV6:-ipv4} > $out/conntrack.txt 2>&1 || true
ip netns exec kb cat /proc/net/stat/synproxy > $out/synproxy_stat.txt
ip netns exec kb nstat -a > $out/nstat.txt
sleep 0.3; kill $MON
echo "recorded into $out"
