#!/usr/bin/env bash
# Records what a tc program sees of an skb on this kernel (root; clang, bpftool, iproute2, scapy):
# Tests/BPFTests/TC/tc_ctx_fields.c on the ingress of a veth (eth0) and the egress of another (eth1)
# of a forwarding namespace, one UDP datagram from 198.18.0.7 to 198.18.1.2; prints both programs' field
# maps and the clsact counters. TCFilterAPITests.testContextFieldsAsTheKernelSawThem holds the result.
src="$(dirname "$(readlink -f "$0")")/../Tests/BPFTests/TC/tc_ctx_fields.c"
cd "$(mktemp -d)"
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$src" -o f.o
cleanup() { ip netns del snd 2>/dev/null || true; ip netns del dut 2>/dev/null || true; ip netns del rcv 2>/dev/null || true; }
cleanup
ip netns add snd; ip netns add dut; ip netns add rcv
for n in snd dut rcv; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add peer0 netns snd type veth peer name eth0 netns dut
ip link add eth1 netns dut type veth peer name peer1 netns rcv
ip -n snd link set peer0 address 02:00:00:00:00:01 up
ip -n dut link set eth0 address 02:00:00:00:00:02 up
ip -n dut link set eth1 address 02:00:00:00:01:01 up
ip -n rcv link set peer1 address 02:00:00:00:01:02 up
ip -n dut link set lo up
ip -n dut addr add 198.18.0.2/24 dev eth0
ip -n dut addr add 198.18.1.1/24 dev eth1
ip netns exec dut sysctl -qw net.ipv4.ip_forward=1
ip -n dut neigh add 198.18.1.2 lladdr 02:00:00:00:01:02 dev eth1
ip netns exec dut tc qdisc add dev eth0 clsact
ip netns exec dut tc filter add dev eth0 ingress bpf da obj f.o sec tc
ip netns exec dut tc qdisc add dev eth1 clsact
ip netns exec dut tc filter add dev eth1 egress bpf da obj f.o sec tc
ip netns exec snd /usr/bin/python3 -c "
from scapy.all import *
sendp(Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='198.18.0.7', dst='198.18.1.2', ttl=64)/UDP(sport=9, dport=53)/Raw(b'hello'), iface='peer0', verbose=0)
" 2>/dev/null
sleep 0.5
for id in $(ip netns exec dut bpftool -j prog show | /usr/bin/python3 -c "import json,sys; print(' '.join(str(m) for p in json.load(sys.stdin) if p.get('name')=='ctx_fields' for m in p.get('map_ids',[])))"); do
  echo "map $id"; ip netns exec dut bpftool map dump id $id | grep -E "key|value" | paste - - | head -16
done
ip netns exec dut tc -s qdisc show dev eth0
ip netns exec dut tc -s filter show dev eth0 ingress
ip -n dut -s link show eth0 | head -6
cleanup
