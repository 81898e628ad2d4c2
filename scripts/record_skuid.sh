#!/usr/bin/env bash
# Records which packets carry a socket owner (`meta skuid`, `meta skgid`) and a full socket
# (`meta cgroup`: the kernel's own reset socket too; not TIME-WAIT) on Linux 6.18 for
# APITests/SocketOwnerTests: pa (va 02:00:00:00:00:01, 198.18.0.1/24, root) with the ruleset
# below against pb (vb 02:00:00:00:ff:01, 198.18.0.9), which answers UDP on port 53 ("yy") and
# listens on TCP port 80. In order: pa sends a UDP datagram to pb port 9 (pb's port unreachable
# comes back), a connected UDP socket of pa sends to port 53 and reads the answer, pa connects by
# TCP to port 80, sends "hello" and closes; pb connects to pa's listener on port 8080, sends
# "hi" and closes; pb sends a SYN to pa's closed port 8081 (pa resets it). Printed: the ruleset
# as nft lists it after them (Cases/skuid.txt). Found with flag-by-flag counters: pb's immediate
# ACK of pa's FIN (from TIME-WAIT) reaches pa's input hook while pa is still in close(), before
# sock_orphan (veth runs the softirq as the FIN leaves), so it counts with a socket owner.
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pb addr add 198.18.0.9/24 dev vb
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip netns exec pa nft -f - <<'NFT'
table inet t {
	chain out {
		type filter hook output priority filter; policy accept;
		meta l4proto udp meta skuid 0 meta skgid 0 counter
		meta l4proto udp meta skuid != 0 counter
		meta l4proto udp counter
		tcp flags syn / syn,ack meta skuid 0 counter
		tcp flags syn,ack / syn,ack meta skuid 0 counter
		tcp flags & (syn | rst) == 0 meta skuid 0 counter
		tcp flags & (syn | rst) == 0 counter
		tcp flags rst meta skuid 0 counter
		tcp flags rst counter
		meta l4proto tcp counter
		meta l4proto icmp meta skuid 0 counter
		meta l4proto icmp counter
		meta l4proto udp meta cgroup 0 counter
		tcp flags syn / syn,ack meta cgroup 0 counter
		tcp flags syn,ack / syn,ack meta cgroup 0 counter
		tcp flags & (syn | rst) == 0 meta cgroup 0 counter
		tcp flags rst meta cgroup 0 counter
	}

	chain post {
		type filter hook postrouting priority filter; policy accept;
		meta l4proto udp meta skuid 0 counter
		meta l4proto tcp meta skuid 0 counter
		meta l4proto tcp counter
	}

	chain in {
		type filter hook input priority filter; policy accept;
		meta l4proto udp meta skuid 0 counter
		meta l4proto udp counter
		tcp dport 8080 tcp flags syn / syn,ack meta skuid 0 counter
		tcp dport 8080 tcp flags & (syn | rst) == 0 meta skuid 0 counter
		tcp dport 8080 counter
		tcp sport 80 tcp flags syn,ack / syn,ack meta skuid 0 counter
		tcp sport 80 tcp flags & (syn | rst) == 0 meta skuid 0 counter
		tcp sport 80 counter
		tcp dport 8081 meta skuid 0 counter
		tcp dport 8081 counter
		meta l4proto icmp meta skuid 0 counter
		meta l4proto icmp counter
		meta l4proto udp meta cgroup 0 counter
		tcp dport 8080 meta cgroup 0 counter
		tcp sport 80 meta cgroup 0 counter
		tcp dport 8081 meta cgroup 0 counter
		meta l4proto icmp meta cgroup 0 counter
	}
}
NFT
ip netns exec pb python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.9', 53))
while True:
    d, a = s.recvfrom(100); s.sendto(b'yy', a)" &
ECHO=$!
ip netns exec pb python3 -c "
import socket; l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('198.18.0.9', 80)); l.listen()
c, a = l.accept(); c.recv(100); c.close()" &
LSN=$!
ip netns exec pa python3 -c "
import socket; l = socket.socket(); l.bind(('198.18.0.1', 8080)); l.listen()
c, a = l.accept(); c.recv(100); c.close()" &
LSN2=$!
sleep 0.5
ip netns exec pa python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.1', 1111)); s.sendto(b'x', ('198.18.0.9', 9)); time.sleep(0.2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('198.18.0.1', 2222)); u.connect(('198.18.0.9', 53)); u.send(b'x'); print('udp answer', u.recv(10))
t = socket.socket(); t.bind(('198.18.0.1', 3333)); t.connect(('198.18.0.9', 80)); t.send(b'hello'); time.sleep(0.3); t.close(); time.sleep(0.3)"
ip netns exec pb python3 -c "
import socket, time
t = socket.socket(); t.bind(('198.18.0.9', 4444)); t.connect(('198.18.0.1', 8080)); t.send(b'hi'); time.sleep(0.3); t.close(); time.sleep(0.3)
from scapy.all import IP, TCP, send
send(IP(src='198.18.0.9', dst='198.18.0.1')/TCP(sport=5555, dport=8081, flags='S', seq=1000), verbose=0)"
sleep 0.5
kill $ECHO $LSN $LSN2 2>/dev/null || true; wait 2>/dev/null || true
echo "== listed"; ip netns exec pa nft list ruleset
ip netns del pa; ip netns del pb
