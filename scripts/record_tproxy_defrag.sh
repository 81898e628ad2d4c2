#!/usr/bin/env bash
# Records which rulesets make the kernel reassemble IPv4 before PREROUTING without conntrack (Linux 6.18,
# nft 1.0.6), for TProxyTests.testTproxyBringsDefragmentation: kb (198.18.0.1) counts `ip protocol udp` in a
# prerouting chain at priority 0 beside a second rule; ka (198.18.0.9) sends one 2,028-byte UDP datagram in
# two fragments (scapy). Recorded 2026-12-06: beside a tproxy rule (nft_tproxy_init enables nf_defrag_ipv4)
# the counter saw one packet of 2,028 bytes; beside `socket transparent 1` or `meta mark 7`, two fragments
# (2,048 bytes).
. "$(dirname "$0")/netns_pair.sh"
for variant in tproxy socket plain; do
ip netns exec kb nft flush ruleset
case $variant in
tproxy) R='meta l4proto udp udp dport 7 tproxy to :50080' ;;
socket) R='socket transparent 1 counter' ;;
plain) R='meta mark 7 counter' ;;
esac
ip netns exec kb nft -f - <<NFT
table ip t { chain p { type filter hook prerouting priority 0; ip protocol udp counter; $R; }; }
NFT
ip netns exec ka /usr/bin/python3 - <<'PY'
from scapy.all import IP, UDP, fragment, send, conf
conf.verb = 0
for f in fragment(IP(dst='198.18.0.1', id=77) / UDP(sport=5000, dport=9) / (b'x' * 2000), fragsize=1480): send(f)
PY
sleep 0.3
echo "== $variant"; ip netns exec kb nft list chain ip t p | grep "ip protocol"
done
