#!/usr/bin/env python3
"""Records what icmp_rcv does with each ICMP type on the real kernel: the /proc/net/snmp Icmp and
IcmpMsg counters it moves and whether it answers. Namespaces ka (198.18.0.9) and kb (198.18.0.1)
over a veth pair; every message is sent from ka to kb (unicast, or to 198.18.0.255 with a
broadcast MAC). Errors quote a UDP datagram 198.18.0.1:7000 -> 198.18.0.9:53 kb never sent (no
socket holds it). Run as root with Scapy; cleans up after itself.

Recorded on Linux 6.18, 2026-12-05 (counter deltas; every line also moved Icmp InMsgs by 1):
  echo                  InEchos InType8, answered: OutMsgs OutEchoReps OutType0
  echo-reply            InEchoReps InType0 (no ping socket; no InErrors)
  timestamp             InTimestamps InType13, answered with a timestamp reply (type 14) that
                        counts as OutMsgs OutEchoReps OutType0 (icmp_reply's accounting)
  dest-unreach port     InDestUnreachs InType3 InErrors (no socket for the quoted datagram)
  dest-unreach frag     InDestUnreachs InType3 InErrors
  source-quench         InSrcQuenchs InType4 InErrors
  redirect              InRedirects InType5 InErrors
  time-exceeded         InTimeExcds InType11 InErrors
  param-problem         InParmProbs InType12 InErrors
  addr-mask (17)        InAddrMasks InType17
  type 18 / 14          InAddrMaskReps InType18 / InTimestampReps InType14
  type 40               InType40 InErrors
  broadcast echo        InEchos InType8 InErrors (icmp_echo_ignore_broadcasts), no answer
  broadcast timestamp   InTimestamps InType13 InErrors
  broadcast dest-unr.   InDestUnreachs InType3 InErrors
  broadcast addr-mask   InAddrMasks InType17
  short quote (3 B)     InDestUnreachs InType3 InErrors
  quote with ihl 4      InDestUnreachs InType3 InErrors
  quote, no L4 bytes    InDestUnreachs InType3 InErrors
  unreach code 16       InDestUnreachs InType3 (above NR_ICMP_UNREACH: not passed on)
  time-exc fragtime     InTimeExcds InType11 (reassembly timeouts are not passed on)
  quoting ICMP echo     InDestUnreachs InType3 (icmp_err/ping_err: no InErrors)
  quoting TCP           InDestUnreachs InType3 InErrors (tcp_v4_err: no socket)
  quoting GRE           InDestUnreachs InType3 (no error handler)
  socket on 7000        InDestUnreachs InType3 (a UDP socket bound to the quoted source: no InErrors)
Kept as ICMPInputTests.
"""
import subprocess, time
from scapy.all import IP, ICMP, UDP, Ether

def sh(c): return subprocess.run(c, shell=True, capture_output=True, text=True).stdout

def snmp():
    lines = [l.split() for l in sh("ip netns exec kb cat /proc/net/snmp").splitlines() if l.startswith("Icmp")]
    d = {}
    for i in range(0, len(lines), 2):
        for k, v in zip(lines[i][1:], lines[i + 1][1:]): d[lines[i][0] + k] = int(v)
    return d

def main():
    for c in ["ip netns del ka", "ip netns del kb"]: sh(c)
    for c in ["ip netns add ka", "ip netns add kb", "ip link add va netns ka type veth peer name vb netns kb",
              "ip -n ka addr add 198.18.0.9/24 dev va", "ip -n kb addr add 198.18.0.1/24 dev vb",
              "ip -n ka link set va up", "ip -n kb link set vb up"]:
        subprocess.run(c, shell=True, check=True)
    time.sleep(1)
    us, bc = "198.18.0.1", "198.18.0.255"
    quote = IP(src=us, dst="198.18.0.9", id=1) / UDP(sport=7000, dport=53)
    cases = [
        ("echo", us, ICMP(type=8, id=1, seq=1)), ("echo-reply", us, ICMP(type=0, id=1, seq=1)),
        ("timestamp", us, ICMP(type=13, id=2, seq=1, ts_ori=1000)),
        ("dest-unreach port", us, ICMP(type=3, code=3) / quote), ("dest-unreach frag", us, ICMP(type=3, code=4, nexthopmtu=1200) / quote),
        ("source-quench", us, ICMP(type=4) / quote), ("redirect", us, ICMP(type=5, code=1, gw="198.18.0.7") / quote),
        ("time-exceeded", us, ICMP(type=11) / quote), ("param-problem", us, ICMP(type=12) / quote),
        ("addr-mask", us, ICMP(type=17)), ("type 18", us, ICMP(type=18)), ("type 14", us, ICMP(type=14)), ("type 40", us, ICMP(type=40)),
        ("broadcast echo", bc, ICMP(type=8)), ("broadcast timestamp", bc, ICMP(type=13)),
        ("broadcast dest-unr.", bc, ICMP(type=3, code=3) / quote), ("broadcast addr-mask", bc, ICMP(type=17)),
        ("short quote", us, ICMP(type=3, code=3) / b"\x45\x00\x00"), ("quote with ihl 4", us, ICMP(type=3, code=3) / (b"\x44" + bytes(19))),
        ("quote, no L4 bytes", us, ICMP(type=3, code=3) / bytes(IP(src=us, dst="198.18.0.9", proto=17))),
        ("unreach code 16", us, ICMP(type=3, code=16) / quote), ("time-exc fragtime", us, ICMP(type=11, code=1) / quote),
        ("quoting ICMP echo", us, ICMP(type=3, code=1) / IP(src=us, dst="198.18.0.9") / ICMP(type=8)),
        ("quoting TCP", us, ICMP(type=3, code=1) / IP(src=us, dst="198.18.0.9", proto=6) / bytes(20)),
        ("quoting GRE", us, ICMP(type=3, code=1) / IP(src=us, dst="198.18.0.9", proto=47) / bytes(8)),
    ]
    cases.append(("socket on 7000", us, ICMP(type=3, code=3) / quote))
    for name, dst, icmp in cases:
        if name == "socket on 7000":
            # A UDP socket bound to the quoted datagram's source: udp_err finds it (no InErrors).
            subprocess.Popen(["ip", "netns", "exec", "kb", "/usr/bin/python3", "-c",
                              "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.1', 7000)); time.sleep(3)"])
            time.sleep(0.5)
        before = snmp()
        frame = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src="198.18.0.9", dst=dst) / icmp)
        code = ("from scapy.all import *\nconf.verb=0\n"
                f"r = srp1(Ether(bytes.fromhex('{frame.hex()}')), iface='va', timeout=0.5)\n"
                "print(r[ICMP].type if r and ICMP in r else 'no answer')")
        answer = subprocess.run(["ip", "netns", "exec", "ka", "/usr/bin/python3", "-c", code], capture_output=True, text=True).stdout.strip()
        time.sleep(0.1)
        after = snmp()
        print(f"{name:22} answer {answer:10}", {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)})
    sh("ip netns del ka"); sh("ip netns del kb")

if __name__ == "__main__":
    main()
