#!/usr/bin/env python3
"""What this kernel makes of a router advertisement's reachable time and retrans timer: two
namespaces joined by a veth, RAs from scapy (accept_ra 1, not forwarding), then
net.ipv6.neigh.va.{base_reachable_time_ms,retrans_time_ms,gc_stale_time} read back. Root,
python3-scapy. Recorded on 6.18.44 (IPv6Tests.testAdvertisedRetransTimerAndReachableTime):
  before ['30000', '1000', '60']
  5000 2003 ['5000', '2000', '15']
  50 5 ['100', '8', '0']
  0 0 ['100', '8', '0']
  7001 1001 ['7000', '1000', '21']"""
import subprocess, time, sys
from scapy.all import Ether, IPv6, ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr, sendp
def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
sh("ip netns del ra_a; ip netns del ra_b")
sh("ip netns add ra_a; ip netns add ra_b")
sh("ip link add va netns ra_a type veth peer name vb netns ra_b")
sh("ip -n ra_a link set va address 02:00:00:00:00:0a up; ip -n ra_b link set vb address 02:00:00:00:00:0b up")
time.sleep(1.5)
def read():
    return sh("ip netns exec ra_a sh -c 'cat /proc/sys/net/ipv6/neigh/va/base_reachable_time_ms /proc/sys/net/ipv6/neigh/va/retrans_time_ms /proc/sys/net/ipv6/neigh/va/gc_stale_time'").split()
print("before", read())
for reach, retrans in [(5000, 2003), (50, 5), (0, 0), (7001, 1001)]:
    p = Ether(src="02:00:00:00:00:0b", dst="33:33:00:00:00:01")/IPv6(src="fe80::b", dst="ff02::1", hlim=255)/ICMPv6ND_RA(routerlifetime=0, reachabletime=reach, retranstimer=retrans)/ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0b")
    subprocess.run(["ip", "netns", "exec", "ra_b", sys.executable, "-c", f"from scapy.all import *; sendp(Ether(bytes.fromhex('{bytes(p).hex()}')), iface='vb', verbose=0)"])
    time.sleep(0.3)
    print(reach, retrans, read())
sh("ip netns del ra_a; ip netns del ra_b")
