#!/usr/bin/env bash
# Records ip_rcv_options on Linux 6.18 (accept_source_route 0, as by default), for
# KernelTests/IPOptionTests: ka (scapy on va) sends kb UDP datagrams to a closed port with IPv4
# header options, one at a time. Printed per datagram: its frame, then the ICMP error that came
# back to ka (from its IP header) or "-", then kb's Ip/Icmp counters that changed.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip -n ka link set va address 02:00:00:00:00:09
ip -n ka neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev va
ip -n kb neigh add 198.18.0.9 lladdr 02:00:00:00:00:09 dev vb
ip netns exec kb sysctl -q net.ipv4.icmp_ratelimit=0
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import subprocess, time
from nsutil import enter
from scapy.all import Ether, IP, UDP, ICMP, Raw, IPOption, AsyncSniffer, sendp, conf
conf.verb = 0
opts = [
    b'',                                                        # none: port unreachable
    b'\x94\x04\x00\x00',                                        # router alert
    b'\x07\x07\x04\x00\x00\x00\x00\x00',                        # record route, empty
    b'\x83\x07\x04\xc6\x33\x64\x01\x00',                        # loose source route: dropped
    b'\x89\x0b\x04\xc6\x33\x64\x01\xc6\x33\x64\x02\x00',        # strict source route: dropped
    b'\x83\x07\x08\xc6\x33\x64\x01\x00',                        # loose source route at pointer 8
    b'\x07\x01\x04\x00',                                        # an option length of 1: problem at 20
    b'\x01\x07\x02\x04\x00\x00\x00\x00',                        # NOP, record route of length 2: problem at 22
    b'\x07\x07\x03\x00\x00\x00\x00\x00',                        # record route, pointer 3: problem at 22
    b'\x07\x07\x04\x00\x00\x00\x00\x07\x07\x04\x00\x00\x00\x00\x00\x00',  # two record routes: problem at 27
    b'\x94\x03\x00\x00',                                        # router alert of length 3: problem at 21
    b'\x44\x08\x09\xf0\x00\x00\x00\x00',                        # full timestamp, overflow full: problem at 23
    b'\x86\x08\x00\x00\x00\x01\x00\x00',                        # CIPSO (DOI 1)
    b'\x99\x04\x00\x00',                                        # an unknown option
    b'\x44\x0c\x05\x00' + bytes(8),                             # timestamps only, two slots
    b'\x44\x14\x05\x01' + bytes(16),                            # timestamps and addresses, two pairs
]
def counters():
    out = subprocess.run(['ip', 'netns', 'exec', 'kb', 'nstat', '-az'], capture_output=True, text=True).stdout
    return {l.split()[0]: int(l.split()[1]) for l in out.splitlines()[1:] if l.split()[0].startswith(('Ip', 'Icmp')) and not l.split()[0].startswith('IpExt')}
enter('ka')
before = counters()
for k, o in enumerate(opts):
    ip = IP(src='198.18.0.9', dst='198.18.0.1', ttl=64, id=200 + k)
    if o:
        ip.options = [IPOption(o)]
    raw = bytes(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / ip / UDP(sport=1000, dport=9) / Raw(b'opt'))
    sn = AsyncSniffer(iface='va', filter='icmp', store=True)
    sn.start(); time.sleep(0.1)
    sendp(raw, iface='va')
    time.sleep(0.25)
    got = sn.stop()
    back = '-'
    for p in got:
        if ICMP in p and p[IP].src == '198.18.0.1':
            back = bytes(p[IP]).hex()
    after = counters()
    diff = ' '.join('%s+%d' % (n, after[n] - before.get(n, 0)) for n in sorted(after) if after[n] != before.get(n, 0))
    before = after
    print(raw.hex(), back, diff)
PY
