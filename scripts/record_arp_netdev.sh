#!/usr/bin/env bash
# Records nft's arp expressions in netdev chains on the real kernel: ka (scapy on va) sends an ARP
# request for kb's 198.18.0.1 and a gratuitous reply; kb's ingress chain on vb matches their fields,
# its egress chain the reply kb sends. Prints kb's ruleset with counters, as text and as nft -j.
# Recorded on Linux 6.18 (nft 1.0.6), 2026-12-07, kept in NetdevEgressTests: the counters 1/28,
# 2/56, 2/56, 1/28, 2/56, 1/28, 1/28, 2/56, 2/56 in, 1/42 out (in: from the ARP header; out: with
# the MAC header), listed as written; nft -j names the fields "saddr ip", "daddr ether"...
. "$(dirname "$0")/netns_pair.sh"
ip -n ka link set va address 02:00:00:00:00:09; ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.vb.disable_ipv6=1
ip netns exec kb nft -f - <<'NFT'
table netdev t {
  chain in { type filter hook ingress device "vb" priority 0;
    arp operation request counter
    arp htype 1 arp ptype ip arp hlen 6 arp plen 4 counter
    arp saddr ip 198.18.0.9 counter
    arp daddr ip 198.18.0.1 arp operation request counter
    arp saddr ether 02:00:00:00:00:09 counter
    arp daddr ether 00:00:00:00:00:00 counter
    arp operation reply counter
    arp operation { request, reply } counter
    meta protocol arp counter
  }
  chain out { type filter hook egress device "vb" priority 0;
    arp operation reply arp saddr ip 198.18.0.1 arp daddr ether 02:00:00:00:00:09 counter
  }
}
NFT
sleep 1
ip netns exec ka python3 - <<'PY'
import time
from scapy.all import Ether, ARP, sendp, conf
conf.verb = 0
sendp(Ether(src='02:00:00:00:00:09', dst='ff:ff:ff:ff:ff:ff') / ARP(op=1, hwsrc='02:00:00:00:00:09', psrc='198.18.0.9', hwdst='00:00:00:00:00:00', pdst='198.18.0.1'), iface='va')
time.sleep(0.3)
sendp(Ether(src='02:00:00:00:00:09', dst='ff:ff:ff:ff:ff:ff') / ARP(op=2, hwsrc='02:00:00:00:00:09', psrc='198.18.0.9', hwdst='ff:ff:ff:ff:ff:ff', pdst='198.18.0.9'), iface='va')
time.sleep(0.3)
PY
ip netns exec kb nft list ruleset
ip netns exec kb nft -j list ruleset
