#!/usr/bin/env bash
# Records how the real kernel (6.18) takes ICMPv6 redirects (ndisc_redirect_rcv, rt6_do_redirect), for
# the model's Redirect6Tests: kb (2001:db8::1/64 on vb, MAC of vb) routes 2001:db8:99::/64 via ka's
# link-local address; ka (scapy on va) sends redirects for 2001:db8:99::5 and others. After each: kb's
# `ip -6 route get`, the neighbour entry of the target, and where a datagram to the destination goes
# (the MAC it is sent to, captured on va). Prints lines to stdout.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb addr add 2001:db8::1/64 dev vb nodad
ip -n ka addr add 2001:db8::9/64 dev va nodad
sleep 1
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
KA_MAC=$(ip -n ka -j link show va | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
# ka's EUI-64 link-local address (its own, once DAD is done; scapy sends from it regardless).
KA_LL=$(python3 -c "
m=[int(x,16) for x in '$KA_MAC'.split(':')]; m[0]^=2; e=m[:3]+[0xff,0xfe]+m[3:]
print('fe80::' + ':'.join('%x' % (e[i] << 8 | e[i+1]) for i in range(0, 8, 2)))")
ip -n kb -6 route add 2001:db8:99::/64 via $KA_LL dev vb
ip -n kb -6 neigh replace $KA_LL lladdr $KA_MAC dev vb nud permanent
echo "ka link-local $KA_LL mac $KA_MAC; kb mac $KB_MAC"
KA_LL=$KA_LL KB_MAC=$KB_MAC KA_MAC=$KA_MAC python3 - <<'PY'
import ctypes, os, socket, subprocess, time
from scapy.all import Ether, IPv6, UDP, Raw, ICMPv6ND_Redirect, ICMPv6NDOptDstLLAddr, ICMPv6NDOptRedirectedHdr, sendp, conf
conf.verb = 0
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
LL, KB_MAC, KA_MAC = os.environ['KA_LL'], os.environ['KB_MAC'], os.environ['KA_MAC']
KB = '2001:db8::1'
def sh(*a): return subprocess.run(a, capture_output=True, text=True).stdout.strip()
def state(dst, target):
    print('  route get:', sh('ip', '-n', 'kb', '-6', 'route', 'get', dst).replace('\n', ' '))
    print('  neigh', target + ':', sh('ip', '-n', 'kb', '-6', 'neigh', 'show', target) or '(none)')
def where(dst):
    # a datagram from kb to dst: the destination MAC of what leaves vb
    enter('ka'); cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd)); cap.bind(('va', 0)); cap.settimeout(0.5)
    enter('kb'); s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.sendto(b'x', (dst, 9))
    macs = []
    try:
        while True:
            f = cap.recv(2000)
            if f[12:14] == b'\x86\xdd' and f[20] == 17: macs.append(':'.join('%02x' % b for b in f[0:6]))
    except socket.timeout: pass
    print('  a datagram to', dst, 'goes to', macs or 'nobody (waiting for its neighbour)')
def redirect(src, target, dst, lladdr=None, header=True, hlim=255):
    p = Ether(src=KA_MAC, dst=KB_MAC) / IPv6(src=src, dst=KB, hlim=hlim) / ICMPv6ND_Redirect(tgt=target, dst=dst)
    if lladdr: p = p / ICMPv6NDOptDstLLAddr(lladdr=lladdr)
    if header: p = p / ICMPv6NDOptRedirectedHdr(pkt=IPv6(src=KB, dst=dst) / UDP(sport=5000, dport=9) / Raw(b'x'))
    enter('ka'); sendp(p, iface='va'); time.sleep(0.3); enter('kb')
def counters():
    out = sh('ip', 'netns', 'exec', 'kb', 'nstat', '-az', 'Icmp6InRedirects', 'Icmp6InErrors', 'Icmp6InMsgs')
    print('  ' + ' '.join(l.split()[0] + '=' + l.split()[1] for l in out.splitlines() if l and l[0] != '#'))
enter('kb')
# The socket the redirected header's datagram came from (without one udpv6_err finds nobody: Icmp6InErrors).
held = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); held.bind(('::', 5000))
print('A: from the current router, target fe80::2 with its MAC, for 2001:db8:99::5')
redirect(LL, 'fe80::2', '2001:db8:99::5', lladdr='02:00:00:00:00:22'); state('2001:db8:99::5', 'fe80::2'); where('2001:db8:99::5'); counters()
print('B: not from the current router (fe80::77), for 2001:db8:99::6')
redirect('fe80::77', 'fe80::2', '2001:db8:99::6', lladdr='02:00:00:00:00:22'); state('2001:db8:99::6', 'fe80::2'); counters()
print('C: on-link (target = destination 2001:db8:99::7), with its MAC')
redirect(LL, '2001:db8:99::7', '2001:db8:99::7', lladdr='02:00:00:00:00:77'); state('2001:db8:99::7', '2001:db8:99::7'); where('2001:db8:99::7'); counters()
print('D: from a global source (2001:db8::9), for 2001:db8:99::8')
redirect('2001:db8::9', 'fe80::2', '2001:db8:99::8', lladdr='02:00:00:00:00:22'); state('2001:db8:99::8', 'fe80::2'); counters()
print('E: no redirected header, target fe80::3 without a MAC, for 2001:db8:99::9')
redirect(LL, 'fe80::3', '2001:db8:99::9', header=False); state('2001:db8:99::9', 'fe80::3'); where('2001:db8:99::9'); counters()
print('F: hop limit 64, for 2001:db8:99::10')
redirect(LL, 'fe80::2', '2001:db8:99::10', lladdr='02:00:00:00:00:22', hlim=64); state('2001:db8:99::10', 'fe80::2'); counters()
print('G: target not link-local (2001:db8::20), for 2001:db8:99::11')
redirect(LL, '2001:db8::20', '2001:db8:99::11', lladdr='02:00:00:00:00:22'); state('2001:db8:99::11', '2001:db8::20'); counters()
print('J: as B without the header (from fe80::77), for 2001:db8:99::14')
redirect('fe80::77', 'fe80::2', '2001:db8:99::14', lladdr='02:00:00:00:00:22', header=False); state('2001:db8:99::14', 'fe80::2'); counters()
print('K: as C without the header (on-link 2001:db8:99::15, its MAC)')
redirect(LL, '2001:db8:99::15', '2001:db8:99::15', lladdr='02:00:00:00:00:77', header=False); state('2001:db8:99::15', '2001:db8:99::15'); where('2001:db8:99::15'); counters()
print('L: as A without the header (target fe80::2 with its MAC), for 2001:db8:99::16')
redirect(LL, 'fe80::2', '2001:db8:99::16', lladdr='02:00:00:00:00:22', header=False); state('2001:db8:99::16', 'fe80::2'); where('2001:db8:99::16'); counters()
print('M: as G without the header (target 2001:db8::20), for 2001:db8:99::17')
redirect(LL, '2001:db8::20', '2001:db8:99::17', lladdr='02:00:00:00:00:22', header=False); state('2001:db8:99::17', '2001:db8::20'); counters()
print('N: from the new first hop fe80::2, on to fe80::4, for 2001:db8:99::16')
redirect('fe80::2', 'fe80::4', '2001:db8:99::16', header=False); state('2001:db8:99::16', 'fe80::4'); counters()
subprocess.run(['ip', 'netns', 'exec', 'kb', 'sysctl', '-qw', 'net.ipv6.conf.vb.accept_redirects=0', 'net.ipv6.conf.all.accept_redirects=0'])
print('O: accept_redirects 0, without the header, for 2001:db8:99::18')
redirect(LL, 'fe80::2', '2001:db8:99::18', lladdr='02:00:00:00:00:22', header=False); state('2001:db8:99::18', 'fe80::2'); counters()
print('H: accept_redirects 0, for 2001:db8:99::12')
redirect(LL, 'fe80::2', '2001:db8:99::12', lladdr='02:00:00:00:00:22'); state('2001:db8:99::12', 'fe80::2'); counters()
held.close()
subprocess.run(['ip', 'netns', 'exec', 'kb', 'sysctl', '-qw', 'net.ipv6.conf.vb.accept_redirects=1', 'net.ipv6.conf.all.accept_redirects=1'])
print('I: no socket for the redirected header, for 2001:db8:99::13')
redirect(LL, 'fe80::2', '2001:db8:99::13', lladdr='02:00:00:00:00:22'); state('2001:db8:99::13', 'fe80::2'); counters()
PY
