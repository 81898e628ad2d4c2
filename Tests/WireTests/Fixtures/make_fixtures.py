#!/usr/bin/env python3
"""Writes scapy_frames.json: frames built by Scapy (an outside tool), with the field values
Scapy reports after building. WireTests parses each frame, checks the fields, and re-emits
it byte for byte. Re-run with: python3 make_fixtures.py > scapy_frames.json"""
import json
from scapy.all import Ether, Dot1Q, ARP, IP, ICMP, UDP, TCP, Raw, IPOption_RR, IPOption_Router_Alert

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
    if ICMP in p:
        c = p[ICMP]; e.update(icmp_type=c.type, icmp_code=c.code, l4_chksum=c.chksum)
    e["payload_len"] = len(p[Raw].load) if Raw in p else 0
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
print(json.dumps(frames, indent=1))
