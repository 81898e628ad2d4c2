#!/usr/bin/python3
"""Writes the IPv6 oracle cases of Tests/OracleTests/Corpus this project recorded (own6_*): what the
shared public6 cases do not cover (echo to groups, hop-by-hop checks, UDP and fragment checks),
built with scapy. Run in Tests/OracleTests/Corpus, then record each on the real kernel with
  /usr/bin/python3 ../shared/oracle/kernel_oracle.py CASE.json -o expected/CASE.json   (root)
The first hop-by-hop packet's description was edited after recording (Scapy pads the header
with a second PadN, so it tests the 7-byte padding limit)."""
import json
from scapy.all import Ether, Raw, UDP, TCP
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrFragment, ICMPv6EchoRequest, RouterAlert, PadN, Pad1, HBHOptUnknown)
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
for c in cases:
    json.dump(c, open(c["name"] + ".json", "w"), indent=1)
