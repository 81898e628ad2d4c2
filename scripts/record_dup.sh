#!/usr/bin/env bash
# Records nft's dup (nf_dup_ipv4) on the real kernel: kb's input chain duplicates datagrams to port 9 to
# 198.18.0.9 (ka itself), to port 10 through `device vb`, to port 11 by a map on the source address; an
# output chain counts what passes it. ka captures what comes back (the clones). Prints the clones' bytes.
# Recorded on Linux 6.18, 2026-12-05: for ports 9, 10 and 11 a copy to ka's MAC, IP ID 0x1234 kept, DF set
# (0x4000), TTL 63 (64 less the hop input takes), header checksum redone (9d6c); none for 12 (no map entry);
# the output chain counted 3 copies of 30 bytes, all untracked. Kept as NetfilterTests.testDupSendsACopyToTheGateway.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec kb nft -f - <<'NFT'
table ip t {
  chain i { type filter hook input priority 0;
    udp dport 9 dup to 198.18.0.9
    udp dport 10 dup to 198.18.0.9 device "vb"
    udp dport 11 dup to ip saddr map { 198.18.0.9 : 198.18.0.9 }
    udp dport 12 dup to ip saddr map { 198.18.0.7 : 198.18.0.9 }
  }
  chain o { type filter hook output priority 0; udp sport 5000 counter; meta l4proto udp ct state untracked counter; }
}
NFT
rm -f /tmp/dup.pcap
ip netns exec ka dumpcap -q -i va -f "udp and dst host 198.18.0.1" -w /tmp/dup.pcap 2>/dev/null &
sleep 1
for p in 9 10 11 12; do
  ip netns exec ka /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
send(IP(src='198.18.0.9', dst='198.18.0.1', id=0x1234, ttl=64)/UDP(sport=5000, dport=$p)/b'hi', iface='va')"
  sleep 0.3
done
sleep 0.5; kill %1; wait %1 2>/dev/null
/usr/bin/python3 -c "
from scapy.all import *
for p in rdpcap('/tmp/dup.pcap'): print(bytes(p).hex())"
ip netns exec kb nft list chain ip t o
ip netns exec kb nft list chain ip t i
