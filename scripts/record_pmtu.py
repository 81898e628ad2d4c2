#!/usr/bin/env python3
"""Records path MTU discovery on the real kernel (kept as ICMPInputTests.testPathMTUDiscovery).
Host ka (198.18.0.1) sends 1,400-byte UDP datagrams to 198.18.1.2 through router kb, whose link
to kc has MTU 1300 (kc drops them silently, so no port unreachable comes back). Per socket mode,
three sends 0.2 s apart, then `ip route get`; the route cache is flushed between modes.

Recorded on Linux 6.18, 2026-12-05:
  do   -        ['sent', 'EMSGSIZE', 'EMSGSIZE']   (the first leaves with DF and draws the error)
  do   recverr  ['sent', 'EMSGSIZE', 'EMSGSIZE']
  want -        ['sent', 'sent', 'sent']           (after the error: fragmented to the path MTU)
  want recverr  ['sent', 'EMSGSIZE', 'sent']       (the error is the socket's sk_err once)
  ip route get: "198.18.1.2 via 198.18.0.2 dev va src 198.18.0.1 uid 0 / cache expires 599sec mtu 1300"
  ka: IcmpInMsgs 4, IcmpInDestUnreachs 4, IcmpInErrors 0, IpOutRequests 7, IpFragOKs 3, IpFragCreates 6
"""
import subprocess, time, socket
def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout
def run(c): subprocess.run(c, shell=True, check=True)
for n in ["ka", "kb", "kc"]: sh(f"ip netns del {n}")
for c in ["ip netns add ka", "ip netns add kb", "ip netns add kc",
          "ip link add va netns ka type veth peer name vb netns kb", "ip link add vc netns kc type veth peer name vb1 netns kb",
          "ip -n ka addr add 198.18.0.1/24 dev va", "ip -n kb addr add 198.18.0.2/24 dev vb", "ip -n kb addr add 198.18.1.1/24 dev vb1",
          "ip -n kc addr add 198.18.1.2/24 dev vc", "ip -n kb link set vb1 mtu 1300", "ip -n kc link set vc mtu 1300",
          "ip -n ka link set va up", "ip -n kb link set vb up", "ip -n kb link set vb1 up", "ip -n kc link set vc up",
          "ip -n ka route add default via 198.18.0.2", "ip -n kc route add default via 198.18.1.1",
          "ip netns exec kb sysctl -qw net.ipv4.ip_forward=1",
          "ip netns exec kc nft 'table ip f { chain i { type filter hook input priority 0; udp dport 9 drop; }; }'"]:
    run(c)
time.sleep(1)
prog = r'''
import socket, sys, time, errno
IP_MTU_DISCOVER, IP_RECVERR = 10, 11
modes = {"dont": 0, "want": 1, "do": 2}
for mode in ["do", "want"]:
  for recverr in [0, 1]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, modes[mode])
    s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, recverr)
    s.bind(("198.18.0.1", 7000))
    out = []
    for k in range(3):
        try:
            n = s.sendto(b"x" * 1400, ("198.18.1.2", 9)); out.append("sent")
        except OSError as e: out.append(errno.errorcode[e.errno])
        time.sleep(0.2)
    print(mode, "recverr" if recverr else "-", out, flush=True)
    s.close()
    import subprocess
    print(subprocess.run("ip route get 198.18.1.2", shell=True, capture_output=True, text=True).stdout.strip().replace("\n", " | "), flush=True)
    subprocess.run("ip route flush cache", shell=True)
'''
sh("ip netns exec ka nstat -n")
subprocess.run(["ip", "netns", "exec", "ka", "/usr/bin/python3", "-c", prog])
print(sh("ip netns exec ka nstat -az 2>/dev/null | grep -E 'Icmp(InDest|InErrors|InMsgs|MsgInType3)|IpFrag|IpOutRequests|UdpOutDatagrams|UdpSndbufErrors' "))
for n in ["ka", "kb", "kc"]: sh(f"ip netns del {n}")
