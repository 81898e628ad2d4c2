#!/usr/bin/env bash
# Records nft's `ip option` matches on Linux 6.18 (nft 1.0.6), for KernelTests/IPOptionTests:
# ka (scapy on va) sends kb UDP datagrams with IPv4 header options, one at a time; kb's prerouting
# chain counts which `ip option` rules each matched (nft_exthdr's ipv4_find_option, run before
# ip_rcv_options could drop or rewrite anything). Printed per datagram: its frame in hex, then the
# rules' packet counters after it.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb nft -f - <<'NFT'
table ip t {
	chain c {
		type filter hook prerouting priority filter; policy accept;
		ip option ra exists counter
		ip option ra missing counter
		ip option lsrr exists counter
		ip option ssrr exists counter
		ip option rr exists counter
		ip option rr ptr 4 counter
		ip option rr ptr 8 counter
		ip option lsrr ptr 4 counter
		ip option lsrr addr 3325256705 counter
		ip option ra value 0 counter
		ip option lsrr length 7 counter
		ip option ssrr type 137 counter
		ip option rr addr 0 counter
		ip option ssrr length 11 counter
	}
}
NFT
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import subprocess, time, re
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, IPOption, sendp, conf
conf.verb = 0
opts = [
    b'',                                                        # none
    b'\x94\x04\x00\x00',                                        # router alert
    b'\x94\x04\x00\x01',                                        # router alert, value 1
    b'\x07\x07\x04\x00\x00\x00\x00\x00',                        # record route, empty
    b'\x07\x0b\x08\xc6\x33\x64\x01\x00\x00\x00\x00\x00',        # record route, one address
    b'\x83\x07\x04\xc6\x33\x64\x01\x00',                        # loose source route, 198.51.100.1
    b'\x89\x0b\x04\xc6\x33\x64\x01\xc6\x33\x64\x02\x00',        # strict source route, two hops
    b'\x83\x07\x08\xc6\x33\x64\x01\x00',                        # loose source route at pointer 8
    b'\x94\x04\x00\x00\x83\x07\x04\xc6\x33\x64\x01\x00',        # router alert and loose source route
    b'\x07\x01\x04\x00',                                        # an option length of 1
    b'\x07\x07\x04\x00\x00\x00\x00\x07\x07\x04\x00\x00\x00\x00\x00\x00',  # two record routes
    b'\x44\x0c\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x94\x04\x00\x00',  # timestamp, router alert
    b'\x44\x08\x09\xf0\x00\x00\x00\x00',                        # a full timestamp whose overflow is full
    b'\x99\x04\x00\x00\x94\x04\x00\x00',                        # an unknown option, router alert
    b'\x86\x08\x00\x00\x00\x01\x00\x00',                        # CIPSO (DOI 1)
    b'\x01\x01\x94\x04\x00\x00\x00\x00',                        # two NOPs, router alert
    b'\x07\x07\x08\x00\x00\x00\x00\x00',                        # record route, pointer past a 7-byte option
]
enter('ka')
for k, o in enumerate(opts):
    ip = IP(src='198.18.0.9', dst='198.18.0.1', ttl=64, id=100 + k)
    if o:
        ip.options = [IPOption(o)]
    f = Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / ip / UDP(sport=1000, dport=9) / Raw(b'opt')
    raw = bytes(f)
    sendp(raw, iface='va')
    time.sleep(0.05)
    out = subprocess.run(['ip', 'netns', 'exec', 'kb', 'nft', 'list', 'chain', 'ip', 't', 'c'], capture_output=True, text=True).stdout
    print(raw.hex(), ' '.join(re.findall(r'counter packets (\d+)', out)))
PY
