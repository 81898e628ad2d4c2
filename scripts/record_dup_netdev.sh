#!/usr/bin/env bash
# Records nft's `dup to DEVICE` in netdev chains on the real kernel (nf_dup_netdev): kb gets a
# second veth (vd) to a third namespace kc (vc). ka (scapy on va) sends UDP datagrams to kb's
# closed port 9: an ingress chain on vb copies those from port 1001 out of vd, an egress chain on
# vb copies kb's ICMP port unreachables (to ka) out of vd too; the originals go on. Prints the
# frames kc's vc received (hex), what ka got back, kb's ruleset with counters, and ip -s link of
# vb and vd.
# Recorded on Linux 6.18 (nft 1.0.6), 2026-12-07 (kept in NetdevEgressTests):
#   vc in 02000000000102000000000908004500001f03e900004011eab6c6120009c612000103e90009000b9b41647570
#   vc in 020000000009020000000001080045c0003b7f33000040016ea0c6120001c612000903038948000000004500001f03e900004011eab6c6120009c612000103e90009000b9b41647570
#   vc in 020000000009020000000001080045c0003b7f64000040016e6fc6120001c612000903038948000000004500001f03ea00004011eab5c6120009c612000103ea0009000b9b40647570
#   va in (kb's ARP request for 198.18.0.9, not copied), then the same two port unreachables
#   counters: ingress 1 packet 31 bytes (from the IP header), egress 2 packets 146 bytes (from the MAC header)
. "$(dirname "$0")/netns_pair.sh"
trap 'ip netns del ka 2>/dev/null; ip netns del kb 2>/dev/null; ip netns del kc 2>/dev/null' EXIT
ip netns add kc
ip link add vd netns kb address 02:00:00:00:0d:01 type veth peer name vc netns kc address 02:00:00:00:0c:01
ip -n kb link set vd up; ip -n kc link set vc up; ip -n kc link set lo up
ip -n ka link set va address 02:00:00:00:00:09; ip -n kb link set vb address 02:00:00:00:00:01
ip netns exec kb sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.vd.disable_ipv6=1 net.ipv6.conf.vb.disable_ipv6=1
ip netns exec kc sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.vc.disable_ipv6=1
sleep 1
ip netns exec kb nft -f - <<'NFT'
table netdev t {
  chain in { type filter hook ingress device "vb" priority 0;
    udp sport 1001 counter dup to "vd"
  }
  chain out { type filter hook egress device "vb" priority 0;
    icmp type destination-unreachable counter dup to "vd"
  }
}
NFT
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
echo "kb vb $KB_MAC"
KB_MAC=$KB_MAC python3 - <<'PY'
import ctypes, os, socket, time
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open('/var/run/netns/' + ns, os.O_RDONLY); assert libc.setns(fd, 0x40000000) == 0; os.close(fd)
enter('kc')
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); cap.bind(('vc', 0)); cap.settimeout(0.5)
enter('ka')
back = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); back.bind(('va', 0)); back.settimeout(0.5)
for sport in (1001, 1002):
    sendp(Ether(src='02:00:00:00:00:09', dst=os.environ['KB_MAC']) / IP(src='198.18.0.9', dst='198.18.0.1', id=sport, ttl=64) / UDP(sport=sport, dport=9) / Raw(b'dup'), iface='va')
    time.sleep(0.3)
for s, name in ((cap, 'vc in'), (back, 'va in')):
    try:
        while True:
            f, a = s.recvfrom(2000)
            if a[2] != 4: print(name, f.hex())
    except socket.timeout: pass
PY
ip netns exec kb nft list ruleset
ip -n kb -s link show vb; ip -n kb -s link show vd
