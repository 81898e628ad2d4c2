#!/usr/bin/env python3
"""What state this kernel gives a neighbour that sends us an ARP request: two namespaces joined
by a veth, a request from scapy, then `ip neigh`. Root, python3-scapy (/usr/bin/python3).
Recorded on 6.18.44 (ForwardTests.testARPRequestsForOurAddressAreAnswered):
  after request: 10.9.0.2 lladdr ba:93:aa:42:5f:87 STALE"""
import subprocess, time
def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
sh("ip netns del ar_a; ip netns del ar_b")
sh("ip netns add ar_a; ip netns add ar_b")
sh("ip link add va netns ar_a type veth peer name vb netns ar_b")
sh("ip -n ar_a addr add 10.9.0.1/24 dev va; ip -n ar_b addr add 10.9.0.2/24 dev vb; ip -n ar_a link set va up; ip -n ar_b link set vb up")
time.sleep(0.5)
sh("ip netns exec ar_b /usr/bin/python3 -c \"from scapy.all import *; sendp(Ether(dst='ff:ff:ff:ff:ff:ff')/ARP(op=1, psrc='10.9.0.2', pdst='10.9.0.1', hwsrc=get_if_hwaddr('vb')), iface='vb', verbose=0)\"")
time.sleep(0.2)
print("after request:", sh("ip -n ar_a neigh show dev va"))
sh("ip netns del ar_a; ip netns del ar_b")
