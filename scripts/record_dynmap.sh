#!/usr/bin/env bash
# Records maps rules add to (nft_dynset with data) and map elements that expire, on Linux 6.18,
# for KernelTests/DynamicMapTests: ka (scapy on va) sends kb UDP datagrams from several sources
# at set times after kb's table t is loaded (the Python part loads it, so the times count from
# the load). Printed: kb's ruleset with its counters at the end (the times left vary from run
# to run; the test masks them) and the rules as nft -j writes them.
. "$(dirname "$0")/netns_pair.sh"
ip -n kb link set vb address 02:00:00:00:00:01
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - <<'PY'
import subprocess, time
from nsutil import enter
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
RULESET = '''table ip t {
	map d { type ipv4_addr : mark; flags dynamic,timeout; timeout 2s; }
	map s { type ipv4_addr : mark; flags timeout; elements = { 198.18.0.7 timeout 3s : 0x7 } }
	map c { type ipv4_addr . inet_service : mark; flags dynamic; }
	map e { type ipv4_addr : mark; size 2; flags dynamic; }
	map n { type ipv4_addr : ipv4_addr; flags dynamic; }
	map v { type ipv4_addr : verdict; flags timeout; elements = { 198.18.0.7 timeout 3s : jump x } }
	chain x {
		counter
	}
	chain c {
		type filter hook prerouting priority filter; policy accept;
		udp dport 53 add @d { ip saddr : 0x1 }
		udp dport 54 update @d { ip saddr : 0x2 }
		udp dport 56 update @d { ip saddr timeout 5s : 0x3 }
		meta mark set ip saddr map @d
		meta mark 1 counter
		meta mark 2 counter
		meta mark 3 counter
		meta mark set 0
		meta mark set ip saddr map @s
		meta mark 7 counter
		add @c { ip saddr . udp dport : 0x9 }
		meta mark set ip saddr . udp dport map @c
		meta mark 9 counter
		update @e { ip saddr : meta mark }
		meta mark set ip saddr map @e
		counter
		add @n { ip saddr : ip daddr }
		ip daddr set ip saddr map @n counter
		ip saddr vmap @v
	}
}
'''
enter('ka')
# (source, port, seconds after the load)
plan = [('198.18.0.9', 53, 0.0), ('198.18.0.9', 54, 0.2), ('198.18.0.10', 54, 0.4), ('198.18.0.7', 53, 0.6),
        ('198.18.0.10', 55, 2.8), ('198.18.0.9', 53, 2.9), ('198.18.0.11', 56, 3.0), ('198.18.0.7', 55, 3.5)]
subprocess.run(['ip', 'netns', 'exec', 'kb', 'nft', '-f', '-'], input=RULESET.encode(), check=True)
t0 = time.monotonic()
for src, dport, at in plan:
    time.sleep(max(0, t0 + at - time.monotonic()))
    sendp(Ether(src='02:00:00:00:00:09', dst='02:00:00:00:00:01') / IP(src=src, dst='198.18.0.1', id=dport, ttl=64) / UDP(sport=1000, dport=dport) / Raw(b'map'), iface='va')
print('sent at', ['%.2f' % (time.monotonic() - t0)])
PY
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list ruleset 2>/dev/null | python3 -c "import json,sys; [print(json.dumps(r['rule']['expr'],separators=(',',':'))) for r in json.load(sys.stdin)['nftables'] if 'rule' in r]"
