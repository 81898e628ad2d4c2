#!/usr/bin/env python3
"""Writes scapy_frames.json: frames built by Scapy (an outside tool), with the field values
Scapy reports after building. WireTests parses each frame, checks the fields, and re-emits
it byte for byte. Re-run with: python3 make_fixtures.py > scapy_frames.json"""
import json
from scapy.all import Ether, Dot1Q, ARP, IP, ICMP, UDP, TCP, Raw, IPOption_RR, IPOption_Router_Alert
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment,
    PadN, Pad1, RouterAlert, HBHOptUnknown, ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_RS,
    ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptMTU,
    ICMPv6DestUnreach, ICMPv6PacketTooBig, ICMPv6TimeExceeded, ICMPv6ParamProblem)

def entry(name, pkt):
    raw = bytes(pkt)
    p = Ether(raw)
    e = {"name": name, "hex": raw.hex(), "eth_dst": p.dst, "eth_src": p.src}
    if Dot1Q in p:
        e["vlan_vid"] = p[Dot1Q].vlan; e["vlan_pcp"] = p[Dot1Q].prio
    if ARP in p:
        a = p[ARP]
        e.update(arp_op=a.op, arp_psrc=a.psrc, arp_pdst=a.pdst, arp_hwsrc=a.hwsrc, arp_hwdst=a.hwdst)
    if IP in p:
        i = p[IP]
        e.update(ip_src=i.src, ip_dst=i.dst, ip_ttl=i.ttl, ip_id=i.id, ip_proto=i.proto, ip_len=i.len,
                 ip_ihl=i.ihl, ip_chksum=i.chksum, ip_tos=i.tos, ip_flags=int(i.flags), ip_frag=i.frag)
    if UDP in p:
        u = p[UDP]; e.update(l4_sport=u.sport, l4_dport=u.dport, l4_chksum=u.chksum, udp_len=u.len)
    if TCP in p:
        t = p[TCP]; e.update(l4_sport=t.sport, l4_dport=t.dport, l4_chksum=t.chksum, tcp_seq=t.seq,
                             tcp_ack=t.ack, tcp_flags=int(t.flags), tcp_window=t.window, tcp_dataofs=t.dataofs)
    if IPv6 in p:
        i = p[IPv6]
        e.update(ip6_src=i.src, ip6_dst=i.dst, ip6_hlim=i.hlim, ip6_nh=i.nh, ip6_plen=i.plen, ip6_tc=i.tc, ip6_fl=i.fl)
        chain, layer = [], i.payload
        while layer.__class__ in (IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment):
            d = {"nh": layer.nh}
            if layer.__class__ is IPv6ExtHdrFragment:
                d.update(kind=44, offset=layer.offset, m=layer.m, id=layer.id)
            elif layer.__class__ is IPv6ExtHdrRouting:
                d.update(kind=43, type=layer.type, segleft=layer.segleft, len=layer.len)
            else:
                d.update(kind=0 if layer.__class__ is IPv6ExtHdrHopByHop else 60, len=layer.len,
                         options=[[o.otype, o.optlen if hasattr(o, "optlen") else 0] for o in layer.options])
            chain.append(d); layer = layer.payload
        e["ip6_ext"] = chain
        # The ICMPv6 layer: Scapy has one class per type; type, code and checksum are common to all.
        for cls in (ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_RS, ICMPv6ND_RA, ICMPv6ND_Redirect,
                    ICMPv6DestUnreach, ICMPv6PacketTooBig, ICMPv6TimeExceeded, ICMPv6ParamProblem):
            if cls in p:
                c = p[cls]; e.update(icmp6_type=c.type, icmp6_code=c.code, l4_chksum=c.cksum)
                if hasattr(c, "tgt"): e["nd_target"] = c.tgt
                if cls is ICMPv6ND_NA: e["nd_flags"] = [c.R, c.S, c.O]
                if cls is ICMPv6ND_RA: e["ra"] = [c.chlim, c.M, c.O, c.routerlifetime, c.reachabletime, c.retranstimer]
                if cls is ICMPv6PacketTooBig: e["icmp6_mtu"] = c.mtu
                opts = []
                if ICMPv6NDOptSrcLLAddr in p: opts.append(["src_ll", p[ICMPv6NDOptSrcLLAddr].lladdr])
                if ICMPv6NDOptDstLLAddr in p: opts.append(["dst_ll", p[ICMPv6NDOptDstLLAddr].lladdr])
                if ICMPv6NDOptPrefixInfo in p:
                    o = p[ICMPv6NDOptPrefixInfo]
                    opts.append(["prefix", o.prefix, o.prefixlen, o.L, o.A, o.validlifetime, o.preferredlifetime])
                if ICMPv6NDOptMTU in p: opts.append(["mtu", p[ICMPv6NDOptMTU].mtu])
                e["nd_options"] = opts
    if ICMP in p:
        c = p[ICMP]; e.update(icmp_type=c.type, icmp_code=c.code, l4_chksum=c.chksum)
    # What follows the transport header (Scapy may dissect it further, e.g. as DNS).
    e["payload_len"] = len(bytes(p[UDP].payload)) if UDP in p else len(bytes(p[TCP].payload)) if TCP in p else len(p[Raw].load) if Raw in p else 0
    return e

m1, m2 = "02:00:00:00:00:01", "02:00:00:00:ff:01"
frames = [
    entry("udp_dns", Ether(dst=m1, src=m2)/IP(src="198.18.0.9", dst="198.18.0.1", id=7)/UDP(sport=5353, dport=53)/Raw(b"\xab\xcd")),
    entry("tcp_syn_options", Ether(dst=m1, src=m2)/IP(src="198.18.0.9", dst="198.18.0.1", ttl=63, flags="DF")/
          TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240,
              options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None), ("WScale", 7)])),
    entry("tcp_psh_ack_data", Ether(dst=m1, src=m2)/IP(src="10.1.2.3", dst="198.18.0.1", tos=0x10)/
          TCP(sport=443, dport=51000, seq=0xfffffff0, ack=42, flags="PA")/Raw(b"hello world")),
    entry("icmp_echo", Ether(dst=m1, src=m2)/IP(src="198.18.0.9", dst="198.18.0.1")/ICMP(type=8, id=0x1234, seq=1)/Raw(b"ping" * 8)),
    entry("ip_options_router_alert", Ether(dst=m1, src=m2)/IP(src="198.18.0.9", dst="198.18.0.1", options=[IPOption_Router_Alert()])/UDP(sport=1, dport=2)),
    entry("vlan_udp", Ether(dst=m1, src=m2)/Dot1Q(vlan=100, prio=5)/IP(src="198.18.0.9", dst="198.18.0.1")/UDP(sport=7, dport=9)/Raw(b"x")),
    entry("arp_request", Ether(dst="ff:ff:ff:ff:ff:ff", src=m2)/ARP(op=1, hwsrc=m2, psrc="198.18.0.9", pdst="198.18.0.1")),
    entry("arp_reply_padded", Ether(dst=m1, src=m2)/ARP(op=2, hwsrc=m2, psrc="198.18.0.9", hwdst=m1, pdst="198.18.0.1")/Raw(b"\x00" * 18)),
    entry("ip_fragment_mf", Ether(dst=m1, src=m2)/IP(src="198.18.0.9", dst="198.18.0.1", id=99, flags="MF", frag=0, proto=17)/Raw(b"\x11" * 24)),
    entry("udp_one_byte", Ether(dst=m1, src=m2)/IP(src="198.18.0.9", dst="198.18.0.1")/UDP(sport=1000, dport=2000)/Raw(b"a") / Raw(b"")),
]
s6, d6, g6 = "2001:db8::9", "2001:db8::2", "fe80::ff:fe00:1"
e6 = Ether(dst="02:00:00:00:00:02", src=m1)
frames += [
    entry("ip6_udp", e6/IPv6(src=s6, dst=d6, fl=0x12345, tc=0xb8)/UDP(sport=5353, dport=53)/Raw(b"\xab\xcd\xef")),
    entry("ip6_tcp_syn", e6/IPv6(src=s6, dst=d6, hlim=63)/TCP(sport=40000, dport=22, seq=7, flags="S", window=64800,
          options=[("MSS", 1440), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])),
    entry("ip6_echo_request", e6/IPv6(src=s6, dst=d6)/ICMPv6EchoRequest(id=0x4242, seq=3, data=b"ping6")),
    entry("ip6_hbh_padn_udp", e6/IPv6(src=s6, dst=d6)/IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"\x00\x00")])/UDP(sport=1, dport=2)),
    entry("ip6_hbh_dest_unknown", e6/IPv6(src=s6, dst=d6)/IPv6ExtHdrHopByHop(options=[Pad1(), Pad1(), PadN(optdata=b"\x00\x00")])/
          IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x9e, optdata=b"\x01\x02\x03\x04")])/TCP(sport=3, dport=4, flags="A")),
    entry("ip6_routing_type0", e6/IPv6(src=s6, dst=d6)/IPv6ExtHdrRouting(type=0, segleft=1, addresses=["2001:db8:1::5"])/UDP(sport=9, dport=9)),
    entry("ip6_fragment_first", e6/IPv6(src=s6, dst=d6)/IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0xabcdef01)/Raw(b"\x11" * 24)),
    entry("ip6_fragment_last", e6/IPv6(src=s6, dst=d6)/IPv6ExtHdrFragment(nh=17, offset=3, m=0, id=0xabcdef01)/Raw(b"\x22" * 10)),
    entry("ip6_ns", Ether(dst="33:33:ff:00:00:02", src=m1)/IPv6(src=g6, dst="ff02::1:ff00:2", hlim=255)/
          ICMPv6ND_NS(tgt=d6)/ICMPv6NDOptSrcLLAddr(lladdr=m1)),
    entry("ip6_na", e6/IPv6(src=d6, dst=g6, hlim=255)/ICMPv6ND_NA(R=0, S=1, O=1, tgt=d6)/ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:02")),
    entry("ip6_rs", Ether(dst="33:33:00:00:00:02", src=m1)/IPv6(src=g6, dst="ff02::2", hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=m1)),
    entry("ip6_ra", Ether(dst="33:33:00:00:00:01", src=m1)/IPv6(src=g6, dst="ff02::1", hlim=255)/
          ICMPv6ND_RA(chlim=64, M=0, O=1, routerlifetime=1800, reachabletime=30000, retranstimer=1000)/
          ICMPv6NDOptSrcLLAddr(lladdr=m1)/ICMPv6NDOptMTU(mtu=1500)/
          ICMPv6NDOptPrefixInfo(prefix="2001:db8:5::", prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400)),
    entry("ip6_packet_too_big", e6/IPv6(src=s6, dst=d6)/ICMPv6PacketTooBig(mtu=1280)/IPv6(src=d6, dst="2001:db8:1::5")/UDP(sport=7, dport=8)),
    entry("ip6_vlan_udp", Ether(dst="02:00:00:00:00:02", src=m1)/Dot1Q(vlan=6)/IPv6(src=s6, dst=d6)/UDP(sport=10, dport=20)/Raw(b"v")),
]
print(json.dumps(frames, indent=1))
