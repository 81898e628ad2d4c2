#!/usr/bin/env bash
# Records what an ICMP redirect does to a host (icmp_redirect → udp_err → ipv4_sk_redirect →
# __ip_do_redirect): ka (198.18.0.9, default route via kb 198.18.0.1) shares a bridge with kb and kc
# (198.18.0.3). A UDP socket in ka on 198.18.0.9:7000 sends to 198.18.5.5:9; kb then sends ka a host
# redirect (gateway 198.18.0.3) quoting that datagram. Cases: kc's MAC unknown to ka, known, a redirect
# from a host that is not the gateway, accept_redirects 0, and one quoting a datagram no socket sent.
# Prints ka's `ip route get`, its neighbour for .3 and its Icmp counters after each.
# Recorded on Linux 6.18, 2026-12-05: .3 unknown: the route stays via .1 (`cache`), ka resolves .3 (REACHABLE
# afterwards); .3 known: `198.18.5.5 via 198.18.0.3 ... cache <redirected> expires 299sec`; from .4, and with
# accept_redirects 0: via .1; quoting port 7001 (no socket): via .1 and IcmpInErrors 1. Each: IcmpInMsgs 1,
# IcmpInRedirects 1, IcmpMsgInType5 1. Kept as ICMPInputTests.testRedirects.
set -e
trap 'for n in ka kb kc kbr; do ip netns del $n 2>/dev/null; done' EXIT
run() {
  for n in ka kb kc kbr; do ip netns del $n 2>/dev/null || true; ip netns add $n; ip -n $n link set lo up; done
  ip -n kbr link add br0 type bridge; ip -n kbr link set br0 up
  for n in ka kb kc; do
    ip link add v$n netns $n type veth peer name p$n netns kbr
    ip -n kbr link set p$n master br0; ip -n kbr link set p$n up; ip -n $n link set v$n up
  done
  ip -n ka addr add 198.18.0.9/24 dev vka; ip -n kb addr add 198.18.0.1/24 dev vkb; ip -n kc addr add 198.18.0.3/24 dev vkc
  ip -n ka route add default via 198.18.0.1
  ip netns exec ka sysctl -qw net.ipv4.conf.all.accept_redirects=$1 net.ipv4.conf.vka.accept_redirects=$1
  # A datagram to .3 (known) and to .1 first: their ARP exchanges make the entries REACHABLE.
  if [ "$2" = known ]; then ip netns exec ka /usr/bin/python3 -c "import socket; socket.socket(2, 2).sendto(b'x', ('198.18.0.3', 9))"; fi
  ip netns exec ka /usr/bin/python3 -c "import socket; socket.socket(2, 2).sendto(b'x', ('198.18.0.1', 9))"
  sleep 0.3
  ip netns exec ka /usr/bin/python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9', 7000)); s.sendto(b'x', ('198.18.5.5', 9))
import time; time.sleep(3)" &
  sleep 0.5
  ip netns exec ka nstat -n
  ip netns exec kb /usr/bin/python3 -c "
from scapy.all import *
conf.verb = 0
q = IP(src='198.18.0.9', dst='198.18.5.5', id=1)/UDP(sport=$4, dport=9)/b'x'
send(IP(src='$3', dst='198.18.0.9')/ICMP(type=5, code=1, gw='198.18.0.3')/raw(q)[:28], iface='vkb')"
  sleep 0.5
  echo "== accept_redirects $1, .3 $2, redirect from $3, quoting port $4"
  ip netns exec ka ip route get 198.18.5.5 | head -2
  ip netns exec ka ip neigh show 198.18.0.3
  ip netns exec ka nstat | grep -E "^Icmp[^6]" || true
  wait
}
run 1 unknown 198.18.0.1 7000
run 1 known 198.18.0.1 7000
run 1 known 198.18.0.4 7000
run 0 known 198.18.0.1 7000
run 1 known 198.18.0.1 7001
