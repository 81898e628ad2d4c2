#!/usr/bin/env python3
"""Which ARP frames change a neighbour's MAC on this kernel: A resolves B, then frames from B's side
(scapy) claim B's address with other MACs: a reply within the 1 s locktime of the entry's last
change, the same reply after it, a gratuitous request (sender = target address) and a gratuitous
reply (target MAC = sender MAC) within the locktime, and an unsolicited reply for an address A
has no entry for. Prints `ip neigh` after each. Root, python3-scapy (/usr/bin/python3).
Recorded on 6.18.44 (ForwardTests.testARPLocktimeAndGratuitousFrames):
  resolved:                 10.9.2.2 lladdr <B> REACHABLE
  reply, X, +0.3 s:         10.9.2.2 lladdr <B> REACHABLE   (ignored: within the locktime)
  reply, X, +1.6 s:         10.9.2.2 lladdr 02:00:00:00:00:0x REACHABLE
  gratuitous request, Y:    10.9.2.2 lladdr 02:00:00:00:00:0y STALE
  gratuitous reply, Z:      10.9.2.2 lladdr 02:00:00:00:00:0z STALE
  unsolicited reply from .77: no entry"""
import subprocess, time

def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
def neigh(): return sh("ip -n lt_a neigh show dev va") or "(none)"

sh("ip netns del lt_a; ip netns del lt_b")
sh("ip netns add lt_a; ip netns add lt_b")
sh("ip link add va netns lt_a type veth peer name vb netns lt_b")
sh("ip -n lt_a addr add 10.9.2.1/24 dev va; ip -n lt_b addr add 10.9.2.2/24 dev vb; ip -n lt_a link set va up; ip -n lt_b link set vb up")
amac = sh("ip -n lt_a -br link show va").split()[2]
time.sleep(0.5)
# B's scapy process, started once (it takes a second to import): it sends what it reads, one line each.
b = subprocess.Popen(["ip", "netns", "exec", "lt_b", "/usr/bin/python3", "-c", f"""
import sys
from scapy.all import Ether, ARP, sendp
for line in sys.stdin:
    op, psrc, pdst, hwsrc, hwdst, edst = line.split()
    sendp(Ether(src=hwsrc, dst=edst)/ARP(op=int(op), psrc=psrc, pdst=pdst, hwsrc=hwsrc, hwdst=hwdst), iface='vb', verbose=0)
    print('sent', flush=True)
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def send(op, psrc, pdst, hwsrc, hwdst, edst):
    b.stdin.write(f"{op} {psrc} {pdst} {hwsrc} {hwdst} {edst}\n"); b.stdin.flush()
    b.stdout.readline()
    time.sleep(0.05)
sh("ip netns exec lt_a /usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('10.9.2.2', 9))\"")
time.sleep(0.05)
t0 = time.time()
print("resolved:", neigh())
time.sleep(0.25)
send(2, "10.9.2.2", "10.9.2.1", "02:00:00:00:00:0a", amac, amac)
print(f"reply, X, +{time.time() - t0:.1f} s:", neigh())
time.sleep(1.6 - (time.time() - t0))
send(2, "10.9.2.2", "10.9.2.1", "02:00:00:00:00:0a", amac, amac)
print(f"reply, X, +{time.time() - t0:.1f} s:", neigh())
send(1, "10.9.2.2", "10.9.2.2", "02:00:00:00:00:0b", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")
print("gratuitous request, Y:", neigh())
send(2, "10.9.2.2", "10.9.2.2", "02:00:00:00:00:0c", "02:00:00:00:00:0c", "ff:ff:ff:ff:ff:ff")
print("gratuitous reply, Z:", neigh())
send(2, "10.9.2.77", "10.9.2.1", "02:00:00:00:00:4d", amac, amac)
print("unsolicited reply from .77:", sh("ip -n lt_a neigh show 10.9.2.77 dev va") or "no entry")
b.stdin.close(); b.wait()
sh("ip netns del lt_a; ip netns del lt_b")
