#!/usr/bin/env python3
"""This kernel's host-wide ICMP limit (net.ipv4.icmp_msgs_per_sec 1000, icmp_msgs_burst 50): B
sends A 200 UDP datagrams to a closed port, each from its own source address (so the per-host
limit never bites), in about a millisecond; A answers port unreachables until its credit is
gone. Each message sent costs a random 0, 1 or 2 credits (icmp_global_consume), so the count
varies; the rest count as OutRateLimitGlobal. Three runs of one burst, three of two bursts 30 ms
apart (the credit refills only 20 ms or more after the last refill, by 1 a millisecond).
Root, /usr/bin/python3. Recorded on 6.18.44 (ForwardTests.testICMPErrorsHaveAHostWideLimit):
  one burst: 46, 59, 57 answered (OutRateLimitGlobal 154, 141, 143); two bursts: 77, 79, 72 of 400"""
import socket, struct, subprocess, time

def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
def counters():
    lines = sh("ip netns exec gl_a cat /proc/net/snmp").splitlines()
    head, vals = [l.split() for l in lines if l.startswith("Icmp:")][:2]
    return dict(zip(head[1:], map(int, vals[1:])))

for run in range(6):
    second = run >= 3
    sh("ip netns del gl_a; ip netns del gl_b")
    sh("ip netns add gl_a; ip netns add gl_b")
    sh("ip link add va netns gl_a type veth peer name vb netns gl_b")
    sh("ip -n gl_a addr add 10.9.3.1/16 dev va; ip -n gl_a link set va up; ip -n gl_b link set vb up")
    amac = sh("ip -n gl_a -br link show va").split()[2]
    # Every source is B's MAC in A's table, so no answer waits for ARP.
    bmac = sh("ip -n gl_b -br link show vb").split()[2]
    sh(f"ip -n gl_a route add 10.8.0.0/16 dev va")
    batch = "\n".join(f"neigh add 10.8.{k // 200}.{1 + k % 200} lladdr {bmac} dev va nud permanent" for k in range(400))
    subprocess.run(["ip", "-n", "gl_a", "-batch", "-"], input=batch, text=True)
    time.sleep(0.3)
    def frames(base):
        out = []
        for k in range(base, base + 200):
            src = bytes([10, 8, k // 200, 1 + k % 200])
            udp = struct.pack("!HHHH", 4000, 9, 9, 0) + b"x"
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 29, k, 0, 64, 17, 0, src, bytes([10, 9, 3, 1]))
            s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
            ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
            out.append(bytes.fromhex(amac.replace(":", "")) + bytes.fromhex(bmac.replace(":", "")) + b"\x08\x00" + ip + udp)
        return out
    code = f"""
import socket, time, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('vb', 0))
a = [bytes.fromhex(x) for x in {[f.hex() for f in frames(0)]!r}]
b = [bytes.fromhex(x) for x in {[f.hex() for f in frames(200)]!r}]
t = time.time()
for f in a: s.send(f)
print(round((time.time() - t) * 1000, 2), flush=True)
if {second}:
    time.sleep(0.03)
    for f in b: s.send(f)
"""
    before = counters()
    took = sh(f"ip netns exec gl_b /usr/bin/python3 -c \"{code}\"")
    time.sleep(0.2)
    c = counters()
    print(f"run {run + 1}: {'two bursts 30 ms apart' if second else 'one burst'}, the first sent in {took} ms; OutDestUnreachs {c['OutDestUnreachs'] - before['OutDestUnreachs']}, "
          f"OutRateLimitGlobal {c['OutRateLimitGlobal'] - before['OutRateLimitGlobal']}, OutRateLimitHost {c['OutRateLimitHost'] - before['OutRateLimitHost']}")
sh("ip netns del gl_a; ip netns del gl_b")
