#!/usr/bin/env python3
"""How this kernel's ARP checks a neighbour it has not heard from (NUD): two namespaces joined by a
veth; A resolves B; the entry ages from REACHABLE to STALE; a packet sent then makes it DELAY, and
delay_first_probe_time later A asks B with unicast ARP requests (PROBE), ucast_solicit of them
retrans_time apart, then FAILED. B answers the first round and is silenced (arp off) for the second.
A's times are made short: base_reachable_time_ms 4000, delay_first_probe_time 1 s. (With a
reachable time under delay_first_probe_time an idle entry goes REACHABLE -> DELAY -> PROBE over and
over: the kernel's timer sees it used within delay_probe_time of its last confirmation.)
Prints each state change of A's entry (`ip -s neigh`) and the frames B saw, in seconds from the
first send. Root, tshark, /usr/bin/python3. Recorded on 6.18.44 (ForwardTests.testARPProbesANeighbourThatWentQuiet):
   0.03 send: broadcast request, unicast reply, the datagram; REACHABLE
   6.17 STALE (the reachable time is a random 0.5-1.5 of the base)
   9.04 send in STALE: the datagram leaves at once; DELAY
  10.05 a request to B's MAC (ARP target MAC 00:00:00:00:00:00), B replies; REACHABLE (10.10)
  16.14 STALE
  18.06 send, B silent: the datagram; DELAY; requests to B's MAC at 19.08, 20.10, 21.12 (1.024 s
        apart: the timer wheel's granularity); PROBE; FAILED by 22.19"""
import os, subprocess, time
def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
sh("ip netns del nud_a; ip netns del nud_b")
sh("ip netns add nud_a; ip netns add nud_b")
sh("ip link add va netns nud_a type veth peer name vb netns nud_b")
sh("ip -n nud_a addr add 10.9.1.1/24 dev va; ip -n nud_b addr add 10.9.1.2/24 dev vb; ip -n nud_a link set va up; ip -n nud_b link set vb up")
for k, v in [("base_reachable_time_ms", 4000), ("delay_first_probe_time", 1), ("retrans_time_ms", 1000), ("ucast_solicit", 3), ("mcast_solicit", 3)]:
    sh(f"ip netns exec nud_a sysctl -qw net.ipv4.neigh.va.{k}={v}")
amac = sh("ip -n nud_a -br link show va").split()[2]
sh(f"ip -n nud_b neigh add 10.9.1.1 lladdr {amac} dev vb nud permanent")
sh("ip netns exec nud_b nft add table ip f; ip netns exec nud_b nft 'add chain ip f in { type filter hook input priority 0; }'; ip netns exec nud_b nft add rule ip f in udp dport 9 drop")
time.sleep(0.5)
p = subprocess.Popen("ip netns exec nud_b tshark -q -i vb -w /tmp/record_arp_nud.pcap -f 'arp or udp'", shell=True, stderr=subprocess.DEVNULL)
time.sleep(2)
def send(): sh("ip netns exec nud_a /usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('10.9.1.2', 9))\"")
t0 = time.time(); last = None
def poll(until):
    global last
    while time.time() - t0 < until:
        n = sh("ip -s -n nud_a neigh show dev va")
        st = n.split()[-1] if n else "none"
        if st != last: print(f"{time.time()-t0:6.2f} {n}"); last = st
        time.sleep(0.05)
send(); print(f"{time.time()-t0:6.2f} send")
poll(9)
send(); print(f"{time.time()-t0:6.2f} send")
poll(18)
sh("ip -n nud_b link set vb arp off")
send(); print(f"{time.time()-t0:6.2f} send (B arp off)")
poll(24)
p.terminate(); p.wait()
out = sh("tshark -r /tmp/record_arp_nud.pcap -T fields -e frame.time_epoch -e eth.dst -e arp.opcode -e arp.dst.hw_mac -e udp.dstport")
for line in out.splitlines():
    f = line.split("\t"); print(f"  frame {float(f[0]) - t0:7.3f}", *f[1:])
sh("ip netns del nud_a; ip netns del nud_b")
