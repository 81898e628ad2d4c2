#!/usr/bin/env bash
# Records IPv4 options on forwarded packets on Linux 6.18, for KernelTests/IPOptionTests: ka
# (198.18.0.1) sends UDP to kb (198.18.1.2) through the router kr (eth0 198.18.0.2, eth1
# 198.18.1.1, ip_forward 1), one datagram at a time; printed per datagram: its frame and the
# frame kb received (from its Ethernet header), or "-".
set -e
trap 'for n in ka kr kb; do ip netns del $n 2>/dev/null; done' EXIT
for n in ka kr kb; do ip netns add $n; ip -n $n link set lo up; done
ip link add va netns ka type veth peer name eth0 netns kr
ip link add eth1 netns kr type veth peer name vb netns kb
ip -n ka link set va address 02:00:00:00:00:01; ip -n kr link set eth0 address 02:00:00:00:00:02
ip -n kr link set eth1 address 02:00:00:00:01:01; ip -n kb link set vb address 02:00:00:00:01:02
ip -n ka addr add 198.18.0.1/24 dev va; ip -n kr addr add 198.18.0.2/24 dev eth0
ip -n kr addr add 198.18.1.1/24 dev eth1; ip -n kb addr add 198.18.1.2/24 dev vb
ip -n ka link set va up; ip -n kr link set eth0 up; ip -n kr link set eth1 up; ip -n kb link set vb up
ip -n kr neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev eth0
ip -n kr neigh add 198.18.1.2 lladdr 02:00:00:00:01:02 dev eth1
ip -n kr route add default via 198.18.1.2 dev eth1 2>/dev/null || true
ip netns exec kr sysctl -q net.ipv4.ip_forward=1
sleep 1
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import time
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, IPOption, AsyncSniffer, sendp, conf
conf.verb = 0
opts = [
    b'\x07\x0b\x04' + bytes(8) + b'\x00',                       # record route, two slots
    b'\x44\x0c\x05\x00' + bytes(8),                             # timestamps only, two slots
    b'\x44\x14\x05\x01' + bytes(16),                            # timestamps and addresses, two pairs
    b'\x94\x04\x00\x00',                                        # router alert
    b'\x07\x07\x08\xc6\x12\x00\x09\x00',                        # record route, full
    b'\x44\x08\x09\x00\x00\x00\x00\x00',                        # timestamps, full: overflow counted
]
enter('kb')
sn = AsyncSniffer(iface='vb', filter='udp', store=True)
sn.start(); time.sleep(0.3)
enter('ka')
sent = []
for k, o in enumerate(opts):
    ip = IP(src='198.18.0.1', dst='198.18.1.2', ttl=64, id=300 + k, options=[IPOption(o)])
    raw = bytes(Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02') / ip / UDP(sport=1000, dport=9) / Raw(b'fwd'))
    sent.append(raw)
    sendp(raw, iface='va')
    time.sleep(0.15)
time.sleep(0.3)
got = [bytes(p) for p in sn.stop()]
for raw in sent:
    ident = raw[18:20]
    out = [g for g in got if g[18:20] == ident]
    print(raw.hex(), out[0].hex() if out else '-')
PY
