#!/usr/bin/env bash
# Records the nftables wiki's port knocking ruleset on Linux 6.18 for KernelTests/PortKnockTests:
# ka (scapy on va) knocks on kb's TCP ports 123, 234 and 345, then opens 22; a source that did
# not knock tries 22 too. The keys rules add carry values (`ip saddr . 234`). Printed: kb's
# ruleset afterwards (the times left vary: the test masks them).
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import subprocess, time
from nsutil import enter
from scapy.all import Ether, IP, TCP, sendp, conf
conf.verb = 0
RULESET = '''define guarded_ports = {ssh}
table inet portknock {
	set clients_ipv4 {
		type ipv4_addr
		flags timeout
	}
	set candidates_ipv4 {
		type ipv4_addr . inet_service
		flags timeout
	}
	chain input {
		type filter hook input priority -10; policy accept;
		iifname "lo" return
		tcp dport 123 add @candidates_ipv4 {ip  saddr . 234 timeout 1s}
		tcp dport 234 ip  saddr . tcp dport @candidates_ipv4 add @candidates_ipv4 {ip  saddr . 345 timeout 1s}
		tcp dport 345 ip  saddr . tcp dport @candidates_ipv4 add @clients_ipv4 {ip  saddr timeout 10s} log prefix "Successful portknock: "
		tcp dport $guarded_ports ip  saddr @clients_ipv4 counter accept
		tcp dport $guarded_ports ct state established,related counter accept
		tcp dport $guarded_ports counter reject with tcp reset
	}
}
'''
enter('ka')
subprocess.run(['ip', 'netns', 'exec', 'kb', 'nft', '-f', '-'], input=RULESET.encode(), check=True)
t0 = time.monotonic()
for src, dport, at in [('198.18.0.9', 123, 0.0), ('198.18.0.9', 234, 0.2), ('198.18.0.9', 345, 0.4), ('198.18.0.9', 22, 0.6), ('198.18.0.10', 22, 0.8), ('198.18.0.10', 234, 1.0)]:
    time.sleep(max(0, t0 + at - time.monotonic()))
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src=src, dst='198.18.0.1', ttl=64) / TCP(sport=40000, dport=dport, flags='S', seq=1000), iface='va')
PY
ip netns exec kb nft list ruleset
