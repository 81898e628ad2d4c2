#!/usr/bin/env bash
# Records NAT maps keyed by a concatenation with address . port-range data, and `snat ip prefix to`
# (netmap), on the real kernel: client namespace ka (198.18.0.1 and .3), router kb, server kc
# (198.18.1.2, dropping SYNs so the connections stay in SYN_SENT). Run as root; cleans up.
# Recorded on Linux 6.18 (nft 1.0.6, conntrack 1.4.7), 2026-12-05:
#   tcp 6 118 SYN_SENT src=198.18.0.1 dst=198.18.0.2 sport=40000 dport=8080 [UNREPLIED] src=198.18.1.2 dst=10.99.7.1 sport=80 dport=40000 mark=0 use=1
#   tcp 6 119 SYN_SENT src=198.18.0.3 dst=198.18.0.2 sport=40000 dport=8080 [UNREPLIED] src=198.18.1.2 dst=10.99.7.3 sport=8000 dport=40000 mark=0 use=1
# and a SYN to the router's closed port 22 (answered with a reset) leaves no entry.
# Kept as NetfilterTests.testNATMapsWithConcatenatedKeysRangesAndPrefixes.
set -e
trap 'ip netns del ka 2>/dev/null; ip netns del kb 2>/dev/null; ip netns del kc 2>/dev/null' EXIT
ip netns add ka; ip netns add kb; ip netns add kc
ip link add va netns ka type veth peer name vb netns kb
ip link add vc netns kc type veth peer name vb1 netns kb
ip -n ka addr add 198.18.0.1/24 dev va; ip -n ka addr add 198.18.0.3/24 dev va
ip -n kb addr add 198.18.0.2/24 dev vb; ip -n kb addr add 198.18.1.1/24 dev vb1
ip -n kc addr add 198.18.1.2/24 dev vc
for n in ka kb kc; do ip -n $n link set lo up; done
ip -n ka link set va up; ip -n kb link set vb up; ip -n kb link set vb1 up; ip -n kc link set vc up
ip -n ka route add default via 198.18.0.2; ip -n kc route add default via 198.18.1.1
ip netns exec kb sysctl -qw net.ipv4.ip_forward=1
ip netns exec kb nft 'table ip nat { chain pre { type nat hook prerouting priority dstnat; dnat ip to ip saddr . tcp dport map { 198.18.0.1 . 8080 : 198.18.1.2 . 80-80, 198.18.0.3 . 8080 : 198.18.1.2 . 8000-8009 } ; }; chain post { type nat hook postrouting priority srcnat; snat ip prefix to ip saddr map { 198.18.0.0/24 : 10.99.7.0/24 }; }; }'
ip netns exec kc nft "table ip f { chain i { type filter hook input priority 0; tcp flags syn drop; }; }"
sleep 1
for src in 198.18.0.1 198.18.0.3; do
    ip netns exec ka timeout 3 python3 -c "
import socket
s = socket.socket(); s.bind(('$src', 40000)); s.settimeout(0.5)
try: s.connect(('198.18.0.2', 8080))
except Exception as e: print('$src', e)
"
done
ip netns exec ka timeout 2 bash -c 'echo > /dev/tcp/198.18.0.2/22' 2>/dev/null || true
ip netns exec kb conntrack -L 2>&1
