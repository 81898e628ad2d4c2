#!/usr/bin/env bash
# Records interval sets whose elements expire (ranges and prefixes with timeouts), on Linux 6.18,
# for KernelTests/IntervalTimeoutTests: ka (scapy on va) sends kb an IPv4 and an IPv6 datagram
# from inside the sets' ranges at 0.5 s and again at 3 s after kb's table is loaded (the Python
# part loads it, so the times count from the load); the ranges live 2 s. Printed: kb's ruleset
# with its counters at the end (the times left of what is still there vary: the test masks them).
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import subprocess, time
from nsutil import enter
from scapy.all import Ether, IP, IPv6, UDP, Raw, sendp, conf
conf.verb = 0
RULESET = '''table inet t {
	set v4 { type ipv4_addr; flags interval,timeout; timeout 1h; elements = { 192.0.2.0/24 timeout 2s, 10.0.0.1-10.0.0.9 timeout 2s, 198.51.100.7 } }
	set v6 { type ipv6_addr; flags interval,timeout; elements = { 2001:db8:9::/48 timeout 2s, 2001:db8:8::1 } }
	chain c {
		type filter hook prerouting priority filter; policy accept;
		ip saddr @v4 counter
		ip6 saddr @v6 counter
	}
}
'''
enter('ka')
subprocess.run(['ip', 'netns', 'exec', 'kb', 'nft', '-f', '-'], input=RULESET.encode(), check=True)
t0 = time.monotonic()
for at in (0.5, 3.0):
    time.sleep(max(0, t0 + at - time.monotonic()))
    for src in ('192.0.2.5', '10.0.0.5'):
        sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src=src, dst='198.18.0.1', ttl=64) / UDP(sport=1000, dport=9) / Raw(b'ttl'), iface='va')
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IPv6(src='2001:db8:9::5', dst='2001:db8::1', hlim=64) / UDP(sport=1000, dport=9) / Raw(b'ttl'), iface='va')
PY
ip netns exec kb nft list ruleset
