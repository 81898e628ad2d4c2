#!/usr/bin/env bash
# Records what a TCP sender does with fragmentation needed (tcp_v4_err → tcp_v4_mtu_reduced): ka
# (198.18.0.9) sends 4,000 bytes at once to kb (198.18.1.2, port 5001) through the router kr, whose link
# to kb has an MTU of 1,300; offloads off on ka so segments leave as the MSS cuts them. Prints ka's side
# of the wire (dumpcap, tshark) and the sender's counters.
# Recorded on Linux 6.18, 2026-12-05, the same on three runs: ka sends 1,448, 1,448 and 1,104 bytes (1500, 1500,
# 1156 of IP; PSH on the last); kr answers the first two with fragmentation needed, MTU 1300 (576-byte
# ICMP messages); ka sends again at once 1,248, 1,248 and 400 bytes from snd_una (PSH on the last), not the
# third; TCP_MAXSEG is 1248 afterwards, `ip route get` shows `cache expires 597sec mtu 1300`; nstat:
# TcpRetransSegs 3, TcpOutSegs 7 (the resent ones not among them), IcmpInDestUnreachs 2,
# TcpExtOutOfWindowIcmps 1 (the veth pair delivers the second error inside tcp_transmit_skb, before
# snd_nxt covers the segment it quotes; the model's errors arrive after the send). Kept as
# TCPPathMTUTests.testFragmentationNeededLowersTheMSSAndResendsWhatNoLongerFits.
set -e
trap 'ip netns del ka 2>/dev/null; ip netns del kr 2>/dev/null; ip netns del kb 2>/dev/null' EXIT
for n in ka kr kb; do ip netns add $n; ip -n $n link set lo up; done
ip link add va netns ka type veth peer name ra netns kr
ip link add rb netns kr type veth peer name vb netns kb
ip -n ka addr add 198.18.0.9/24 dev va; ip -n kr addr add 198.18.0.1/24 dev ra
ip -n kr addr add 198.18.1.1/24 dev rb; ip -n kb addr add 198.18.1.2/24 dev vb
ip -n kr link set rb mtu 1300
for l in "ka va" "kr ra" "kr rb" "kb vb"; do set -- $l; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 tso off gso off gro off >/dev/null; done
ip -n ka route add default via 198.18.0.1; ip -n kb route add default via 198.18.1.1
ip netns exec kr sysctl -qw net.ipv4.ip_forward=1
ip netns exec kb /usr/bin/python3 -c "
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('198.18.1.2', 5001)); l.listen(1)
c, _ = l.accept(); n = 0
while n < 4000: n += len(c.recv(65536))
time.sleep(1)" &
sleep 0.5
rm -f /tmp/tcp_pmtu.pcap; ip netns exec ka dumpcap -q -i va -w /tmp/tcp_pmtu.pcap 2>/dev/null &
dump=$!
sleep 0.5
ip netns exec ka nstat -n
ip netns exec ka /usr/bin/python3 -c "
import socket, time
s = socket.create_connection(('198.18.1.2', 5001), source_address=('198.18.0.9', 40000))
time.sleep(0.2)
s.sendall(b'x' * 4000)
time.sleep(1.5)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), 'TCP_MAXSEG after')"
sleep 0.3
kill $dump; wait $dump 2>/dev/null || true
ip netns exec ka nstat | grep -vE "Icmp6|Ip6"
tshark -r /tmp/tcp_pmtu.pcap -T fields -e frame.time_relative -e ip.src -e ip.len -e tcp.seq_raw -e tcp.len -e tcp.flags.str -e icmp.type -e icmp.mtu -e tcp.options.mss_val -e tcp.seq_raw 2>/dev/null
ip netns exec ka ip route get 198.18.1.2
wait
