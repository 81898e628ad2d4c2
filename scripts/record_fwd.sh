#!/usr/bin/env bash
# Records nft's `fwd` in a netdev ingress chain on the real kernel (6.18): kb gets a second veth (vd)
# to a third namespace kc (vc, 198.18.1.2/24; kb's vd 198.18.1.1/24). ka (scapy on va) sends UDP
# datagrams to kb: from port 1001 they are forwarded whole to vd (`fwd to "vd"`), from 1002 as IPv4
# to 198.18.1.2 through vd's neighbour (`fwd ip to 198.18.1.2 device "vd"`: TTL one less, MACs of
# the neighbour), from 1003 to a device that is not there once the rule loaded (vd2, deleted).
# Prints the frames kc's vc received (hex), kb's ruleset with counters, and ip -s link of vb and vd.
. "$(dirname "$0")/netns_pair.sh"
trap 'ip netns del ka 2>/dev/null; ip netns del kb 2>/dev/null; ip netns del kc 2>/dev/null' EXIT
ip netns add kc
ip link add vd netns kb type veth peer name vc netns kc
ip -n kb link add vd2 type veth peer name vd3
ip -n kb addr add 198.18.1.1/24 dev vd; ip -n kc addr add 198.18.1.2/24 dev vc
ip -n kb link set vd up; ip -n kc link set vc up; ip -n kc link set lo up; ip -n kb link set vd2 up; ip -n kb link set vd3 up
sleep 1
ip netns exec kb nft -f - <<'NFT'
table netdev t {
  chain c { type filter hook ingress device "vb" priority 0;
    udp sport 1001 counter fwd to "vd"
    udp sport 1002 counter fwd ip to 198.18.1.2 device "vd"
    udp sport 1003 counter fwd to "vd2"
  }
}
NFT
ip -n kb link del vd2
KB_MAC=$(ip -n kb -j link show vb | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
echo "kb vb $KB_MAC; kb vd $(ip -n kb -j link show vd | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])"); kc vc $(ip -n kc -j link show vc | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")"
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
for sport in (1001, 1002, 1003):
    sendp(Ether(src='02:00:00:00:00:09', dst=os.environ['KB_MAC']) / IP(src='198.18.0.9', dst='198.18.0.1', id=sport, ttl=64) / UDP(sport=sport, dport=9) / Raw(b'fwd'), iface='va')
    time.sleep(0.3)
try:
    while True:
        f, a = cap.recvfrom(2000)
        if a[2] != 4: print('vc in', f.hex())
except socket.timeout: pass
PY
ip netns exec kb nft list ruleset
ip -n kb -s link show vb; ip -n kb -s link show vd
