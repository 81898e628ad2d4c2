#!/usr/bin/python3
"""Writes the IPv6 oracle cases of Tests/OracleTests/Corpus this project recorded (own6_*): what the
shared public6 cases do not cover (echo to groups, hop-by-hop checks, UDP and fragment checks),
built with scapy. Run in Tests/OracleTests/Corpus (naming cases writes only those), then record each on the real kernel with
  /usr/bin/python3 ../shared/oracle/kernel_oracle.py CASE.json -o expected/CASE.json   (root)
The first hop-by-hop packet's description was edited after recording (Scapy pads the header
with a second PadN, so it tests the 7-byte padding limit)."""
import json
from scapy.all import Ether, Raw, UDP, TCP
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrFragment, ICMPv6EchoRequest, ICMPv6DestUnreach, RouterAlert, PadN, Pad1, HBHOptUnknown)
E0 = lambda: Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
H = lambda p: bytes(p).hex()
S, D = "2001:db8::1", "2001:db8::2"
watch = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tcounter\n\t}\n}\n"
cases = []
# 1: echo to multicast groups and to the other device's address
cases.append({"name": "own6_echo_groups_1", "ipv6": True,
  "description": "ICMPv6 echo to all-nodes, to our solicited-node group, to a group not joined, and to eth1's global address via eth0",
  "ruleset": watch,
  "packets": [
    {"ingress": "eth0", "desc": "echo to ff02::1", "hex": H(Ether(dst="33:33:00:00:00:01", src="02:00:00:00:00:01")/IPv6(src=S, dst="ff02::1")/ICMPv6EchoRequest(id=1, seq=1, data=b"grp"))},
    {"ingress": "eth0", "desc": "echo to ff02::1:ff00:2 (solicited-node of ::2)", "hex": H(Ether(dst="33:33:ff:00:00:02", src="02:00:00:00:00:01")/IPv6(src=S, dst="ff02::1:ff00:2")/ICMPv6EchoRequest(id=1, seq=2, data=b"grp"))},
    {"ingress": "eth0", "desc": "echo to ff02::1:ff00:77 (not joined)", "hex": H(Ether(dst="33:33:ff:00:00:77", src="02:00:00:00:00:01")/IPv6(src=S, dst="ff02::1:ff00:77")/ICMPv6EchoRequest(id=1, seq=3, data=b"grp"))},
    {"ingress": "eth0", "desc": "echo to 2001:db8:1::1 (eth1's) arriving on eth0, tclass 0x28", "hex": H(E0()/IPv6(src=S, dst="2001:db8:1::1", tc=0x28)/ICMPv6EchoRequest(id=1, seq=4, data=b"weak"))},
  ]})
# 2: hop-by-hop options the kernel checks
def hbh(opts, dport, plen=None):
    ip = IPv6(src=S, dst=D) if plen is None else IPv6(src=S, dst=D, plen=plen)
    return H(E0()/ip/IPv6ExtHdrHopByHop(options=opts)/UDP(sport=1000, dport=dport)/Raw(b"hbh"))
cases.append({"name": "own6_hbh_checks_1", "ipv6": True,
  "description": "hop-by-hop: router alert, router alert of the wrong length, PadN with non-zero bytes, more than 7 padding bytes, a jumbo option with a payload length",
  "ruleset": watch,
  "packets": [
    {"ingress": "eth0", "desc": "router alert (len 2): accepted, port unreachable", "hex": hbh([RouterAlert(value=0), PadN(optdata=b"\x00\x00")], 2001)},
    {"ingress": "eth0", "desc": "router alert of length 3: dropped before prerouting", "hex": hbh([HBHOptUnknown(otype=5, optdata=b"\x00\x00\x00"), Pad1()], 2002)},
    {"ingress": "eth0", "desc": "PadN with a non-zero byte: dropped", "hex": hbh([PadN(optdata=b"\x00\x01\x00\x00")], 2003)},
    {"ingress": "eth0", "desc": "jumbo payload option with payload length set: parameter problem", "hex": hbh([HBHOptUnknown(otype=0xc2, optdata=b"\x00\x01\x00\x00")], 2004)},
  ]})
# 3: UDP zero checksum, atomic fragment, tiny first fragment, unaligned fragment
u = UDP(sport=3000, dport=3001)/Raw(b"A" * 40)
whole = bytes(IPv6(src=S, dst=D)/u)[40:]
cases.append({"name": "own6_udp_frag_checks_1", "ipv6": True,
  "description": "UDP with a zero checksum; an atomic fragment; a first fragment without the UDP header; a non-final fragment not a multiple of 8 bytes",
  "ruleset": watch,
  "packets": [
    {"ingress": "eth0", "desc": "zero UDP checksum: dropped, no port unreachable", "hex": H(E0()/IPv6(src=S, dst=D)/UDP(sport=3000, dport=3002, chksum=0)/Raw(b"zero"))},
    {"ingress": "eth0", "desc": "atomic fragment (offset 0, M 0): port unreachable", "hex": H(E0()/IPv6(src=S, dst=D)/IPv6ExtHdrFragment(nh=17, offset=0, m=0, id=0x1111)/UDP(sport=3000, dport=3003)/Raw(b"atomic"))},
    {"ingress": "eth0", "desc": "first fragment of 4 bytes (no UDP header): parameter problem code 3", "hex": H(E0()/IPv6(src=S, dst=D)/IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x2222)/Raw(whole[:4]))},
    {"ingress": "eth0", "desc": "non-final fragment of 20 bytes: parameter problem code 0 pointer 4", "hex": H(E0()/IPv6(src=S, dst=D)/IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x3333)/Raw(whole[:20]))},
  ]})
# 4: local output fragmented to the egress MTU (the reply routed back via eth0 at MTU 1280)
f = Ether(dst="02:00:00:00:01:01", src="02:00:00:00:01:02")/IPv6(src="2001:db8:2::5", dst="2001:db8:1::1")/ICMPv6EchoRequest(id=1, seq=1, data=b"p" * 1392)
cases.append({"name": "own6_frag_output_1", "ipv6": True,
     "description": "an echo reply larger than the egress MTU (eth0 at 1280) leaves in fragments: 1232 bytes, then the rest",
     "ruleset": "table inet filter {\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tcounter\n\t}\n}\n",
     "topology": {"dut_ip_cmds": ["link set eth0 mtu 1280"]},
     "packets": [{"ingress": "eth1", "desc": "1,440-byte echo request from 2001:db8:2::5 (routed back via eth0)", "hex": bytes(f).hex()}]})
# 5: the ftp helper over IPv6: EPRT |2|...| and a 229 reply open related data connections
E1 = lambda: Ether(dst="02:00:00:00:01:01", src="02:00:00:00:01:02")
C6, V6 = "2001:db8::1", "2001:db8:1::2"
def c6(tcp, data=b""): return H(E0()/IPv6(src=C6, dst=V6)/tcp/Raw(data)) if data else H(E0()/IPv6(src=C6, dst=V6)/tcp)
def s6(tcp, data=b""): return H(E1()/IPv6(src=V6, dst=C6)/tcp/Raw(data)) if data else H(E1()/IPv6(src=V6, dst=C6)/tcp)
eprt = b"EPRT |2|2001:db8::1|10000|\r\n"
epsv = b"229 Entering Extended Passive Mode (|||20000|)\r\n"
cases.append({"name": "own6_ftp_1", "ipv6": True, "sysctls": {"net.ipv6.conf.all.forwarding": 1},
  "description": "ct helper ftp in an inet table for IPv6 (l3proto inet): EPRT |2| and a 229 reply open related data connections",
  "ruleset": "table inet filter {\n\tct helper ftp-standard {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}\n\n\tchain prerouting {\n\t\ttype filter hook prerouting priority filter; policy accept;\n\t\ttcp dport 21 ct helper set \"ftp-standard\"\n\t}\n\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tct state established accept\n\t\tct state related counter accept\n\t\ttcp dport 21 ct state new accept\n\t}\n}\n",
  "packets": [
    {"ingress": "eth0", "desc": "control SYN", "hex": c6(TCP(sport=40100, dport=21, flags="S", seq=1000))},
    {"ingress": "eth1", "desc": "SYN-ACK", "hex": s6(TCP(sport=21, dport=40100, flags="SA", seq=5000, ack=1001))},
    {"ingress": "eth0", "desc": "ACK", "hex": c6(TCP(sport=40100, dport=21, flags="A", seq=1001, ack=5001))},
    {"ingress": "eth1", "desc": "220 banner (not parsed)", "hex": s6(TCP(sport=21, dport=40100, flags="PA", seq=5001, ack=1001), b"220 ready\r\n")},
    {"ingress": "eth0", "desc": "USER (not parsed)", "hex": c6(TCP(sport=40100, dport=21, flags="PA", seq=1001, ack=5012), b"USER a\r\n")},
    {"ingress": "eth0", "desc": "EPRT |2|2001:db8::1|10000|", "hex": c6(TCP(sport=40100, dport=21, flags="PA", seq=1009, ack=5012), eprt)},
    {"ingress": "eth1", "desc": "active data SYN 20 -> 10000: related", "hex": s6(TCP(sport=20, dport=10000, flags="S", seq=9000))},
    {"ingress": "eth1", "desc": "229 (|||20000|)", "hex": s6(TCP(sport=21, dport=40100, flags="PA", seq=5012, ack=1009 + len(eprt)), epsv)},
    {"ingress": "eth0", "desc": "passive data SYN to 20000: related", "hex": c6(TCP(sport=40200, dport=20000, flags="S", seq=3000))},
    {"ingress": "eth0", "desc": "another SYN to 20000: nothing expected, dropped", "hex": c6(TCP(sport=40201, dport=20000, flags="S", seq=3100))},
  ]})
# 6: anonymous NAT maps of IPv6 addresses: address . port data, a generator's map, netmap by map
N = lambda sport, dport: H(E0()/IPv6(src=C6, dst="2001:db8::2")/TCP(sport=sport, dport=dport, flags="S", seq=100))
cases.append({"name": "own6_nat_maps_1", "ipv6": True, "sysctls": {"net.ipv6.conf.all.forwarding": 1},
  "description": "dnat ip6 to ip6 daddr . tcp dport map { ... : ADDR . PORT }, dnat to numgen inc mod 2 map { N : ADDR }, snat ip6 prefix to ip6 saddr map { PREFIX : PREFIX }",
  "ruleset": "table ip6 nat {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tdnat ip6 to ip6 daddr . tcp dport map { 2001:db8::2 . 4443 : 2001:db8:1::2 . 80, 2001:db8::2 . 4444 : 2001:db8:1::3 . 81 }\n\t\ttcp dport 4446 dnat to numgen inc mod 2 map { 0 : 2001:db8:1::4, 1 : 2001:db8:1::5 }\n\t}\n\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tsnat ip6 prefix to ip6 saddr map { 2001:db8::/64 : 2001:db8:7::/64 }\n\t}\n}\ntable inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tct status dnat counter accept\n\t}\n}\n",
  "packets": [
    {"ingress": "eth0", "desc": "SYN to [2001:db8::2]:4443: to [2001:db8:1::2]:80 from 2001:db8:7::1", "hex": N(41000, 4443)},
    {"ingress": "eth1", "desc": "its SYN-ACK to 2001:db8:7::1: back to 2001:db8::1 from [2001:db8::2]:4443", "hex": H(E1()/IPv6(src="2001:db8:1::2", dst="2001:db8:7::1")/TCP(sport=80, dport=41000, flags="SA", seq=900, ack=101))},
    {"ingress": "eth0", "desc": "SYN to 4444: to [2001:db8:1::3]:81", "hex": N(41001, 4444)},
    {"ingress": "eth0", "desc": "SYN to 4445: no element, local, reset", "hex": N(41002, 4445)},
    {"ingress": "eth0", "desc": "SYN to 4446: numgen 0, to 2001:db8:1::4", "hex": N(41003, 4446)},
    {"ingress": "eth0", "desc": "SYN to 4446: numgen 1, to 2001:db8:1::5", "hex": N(41004, 4446)},
  ]})
# 7: the same from named maps keyed wider than 64 bits (address . port), one keyed by ranges,
# and a counter map keyed by address . port
cases.append({"name": "own6_nat_maps_2", "ipv6": True, "sysctls": {"net.ipv6.conf.all.forwarding": 1},
  "description": "dnat ip6 to ip6 daddr . tcp dport map @fw (ipv6_addr . inet_service : ipv6_addr . inet_service), dnat ip6 to ip6 daddr . tcp dport map @ranged (flags interval), counter name ip6 saddr . tcp dport map @per",
  "ruleset": "table ip6 nat {\n\tcounter seen {\n\t}\n\n\tcounter other {\n\t}\n\n\tmap fw {\n\t\ttype ipv6_addr . inet_service : ipv6_addr . inet_service\n\t\telements = { 2001:db8::2 . 4443 : 2001:db8:1::2 . 80, 2001:db8::2 . 4444 : 2001:db8:1::3 . 81 }\n\t}\n\n\tmap ranged {\n\t\ttype ipv6_addr . inet_service : ipv6_addr\n\t\tflags interval\n\t\telements = { 2001:db8::/64 . 5000-5009 : 2001:db8:1::4 }\n\t}\n\n\tmap per {\n\t\ttype ipv6_addr . inet_service : counter\n\t\telements = { 2001:db8::1 . 4443 : \"seen\", 2001:db8::1 . 5005 : \"other\" }\n\t}\n\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tcounter name ip6 daddr . tcp dport map @per\n\t\tcounter name ip6 saddr . tcp dport map @per\n\t\tdnat ip6 to ip6 daddr . tcp dport map @fw\n\t\tdnat ip6 to ip6 daddr . tcp dport map @ranged\n\t}\n}\ntable inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tct status dnat counter accept\n\t}\n}\n",
  "packets": [
    {"ingress": "eth0", "desc": "SYN to [2001:db8::2]:4443: counted in seen, to [2001:db8:1::2]:80", "hex": N(42000, 4443)},
    {"ingress": "eth0", "desc": "SYN to 4444: to [2001:db8:1::3]:81", "hex": N(42001, 4444)},
    {"ingress": "eth0", "desc": "SYN to 4445: no element, local, reset", "hex": N(42002, 4445)},
    {"ingress": "eth0", "desc": "SYN to 5005: counted in other, the range's 2001:db8:1::4", "hex": N(42003, 5005)},
    {"ingress": "eth0", "desc": "SYN to 5010: past the range, local, reset", "hex": N(42004, 5010)},
  ]})
# 8: ICMPv6 errors about NATed flows (nf_nat_icmpv6_reply_translation), both ways
U = lambda src, dst, sport, dport: IPv6(src=src, dst=dst, hlim=63)/UDP(sport=sport, dport=dport)/Raw(b"q")
cases.append({"name": "own6_icmp_nat_1", "ipv6": True, "sysctls": {"net.ipv6.conf.all.forwarding": 1},
  "description": "ICMPv6 port unreachables about a masqueraded and a DNATed flow, translated back (quoted packet, outer header, checksum)",
  "ruleset": "table ip6 nat {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tiifname \"eth1\" udp dport 8053 dnat to [2001:db8::1]:53\n\t}\n\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname \"eth1\" masquerade\n\t}\n}\ntable inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tct state related counter accept\n\t\tct state new counter accept\n\t}\n}\n",
  "packets": [
    {"ingress": "eth0", "desc": "[2001:db8::1]:40000 -> [2001:db8:1::2]:53, masqueraded to 2001:db8:1::1", "hex": H(E0()/IPv6(src=C6, dst=V6)/UDP(sport=40000, dport=53)/Raw(b"q"))},
    {"ingress": "eth1", "desc": "port unreachable quoting [2001:db8:1::1]:40000: related, to 2001:db8::1 quoting its own datagram", "hex": H(E1()/IPv6(src=V6, dst="2001:db8:1::1")/ICMPv6DestUnreach(code=4)/U("2001:db8:1::1", V6, 40000, 53))},
    {"ingress": "eth1", "desc": "[2001:db8:1::2]:41000 -> [2001:db8:1::1]:8053, DNATed to [2001:db8::1]:53", "hex": H(E1()/IPv6(src=V6, dst="2001:db8:1::1")/UDP(sport=41000, dport=8053)/Raw(b"q"))},
    {"ingress": "eth0", "desc": "port unreachable from 2001:db8::1 quoting :41000 -> [2001:db8::1]:53: related, from 2001:db8:1::1 quoting :8053", "hex": H(E0()/IPv6(src=C6, dst=V6)/ICMPv6DestUnreach(code=4)/U(V6, C6, 41000, 53))},
  ]})
import sys
for c in cases:
    # Names given: write those cases only (the others were recorded, some edited since).
    if len(sys.argv) == 1 or c["name"] in sys.argv[1:]:
        json.dump(c, open(c["name"] + ".json", "w"), indent=1)
