#!/usr/bin/python3
"""Writes the deployment-style oracle cases of Tests/OracleTests/Corpus that this script owns
(docker_1, kube_nft_1, arch_conf_1, meters_1, data_maps_1, data_maps_ranged_1, sctp_set_1, ct_mark_untracked_1, ct_zones_1, osf_1, vlan_1, ipsec_1, meta_keys_1, icmp_fields_1, ct_labels_1, named_catchall_1, fib_oifname_1, ftp_helper_1, ct_expect_1, ftp_nat_1, ct_expect_nat_1, tftp_1, icmp_nat_1): the ruleset as the tool writes it, adapted to the oracle's
addresses, and a scripted packet sequence built with scapy. Record each on the real kernel with
  /usr/bin/python3 ../shared/oracle/kernel_oracle.py CASE.json -o expected/CASE.json   (root)"""
import json, os, sys
from scapy.all import Dot1Q, Ether, IP, TCP, UDP, ICMP, raw

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "OracleTests", "Corpus")
SND, DUT0, DUT1, RCV = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:01:01", "02:00:00:00:01:02"

def frame(ingress, ip, l4, payload=b""):
    src, dst = (SND, DUT0) if ingress == "eth0" else (RCV, DUT1)
    return raw(Ether(src=src, dst=dst) / IP(**ip) / l4 / payload).hex()

def pkt(ingress, desc, ip, l4, payload=b""):
    return {"ingress": ingress, "desc": desc, "hex": frame(ingress, dict(ip, id=ip.get("id", 0x300)), l4, payload)}

def write(name, description, ruleset, packets, sysctls=None):
    case = {"name": name, "description": description, "ruleset": ruleset}
    if sysctls: case["sysctls"] = sysctls
    case["packets"] = packets
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")

def docker(ruleset):
    # Docker's iptables-nft rules (Tests/IPTablesTests/Files/docker.save with docker0 = eth1,
    # 172.17.0.0/16 = 198.18.1.0/24, the container 198.18.1.2 publishing 8080 -> 80), as
    # packetstack translates them; the kernel gets the nft text.
    c = "198.18.1.2"
    write("docker_1", "Docker's iptables-nft tables (bridge on eth1, container 198.18.1.2:80 published on 8080): DNAT in, masquerade out, isolation and the FORWARD policy drop", ruleset, [
        pkt("eth0", "published port: SYN to 198.18.0.2:8080, DNAT to the container, forwarded", {"src": "198.18.0.1", "dst": "198.18.0.2"}, TCP(sport=40001, dport=8080, flags="S", seq=100)),
        pkt("eth1", "container answers SYN-ACK: established, un-DNAT, back out eth0", {"src": c, "dst": "198.18.0.1"}, TCP(sport=80, dport=40001, flags="SA", seq=500, ack=101)),
        pkt("eth0", "ACK: established via the FORWARD ct state rule", {"src": "198.18.0.1", "dst": "198.18.0.2"}, TCP(sport=40001, dport=8080, flags="A", seq=101, ack=501)),
        pkt("eth1", "container to the outside: accepted, masqueraded to 198.18.0.2", {"src": c, "dst": "198.18.2.5"}, UDP(sport=5000, dport=53), b"q"),
        pkt("eth0", "straight to the container's unpublished port 81: DOCKER does not accept it, FORWARD policy drop", {"src": "198.18.0.1", "dst": c}, TCP(sport=40002, dport=81, flags="S", seq=7)),
        pkt("eth0", "to the host itself: INPUT accepts (no listener: RST)", {"src": "198.18.0.1", "dst": "198.18.0.2"}, TCP(sport=40003, dport=22, flags="S", seq=9)),
    ], {"net.ipv4.ip_forward": 1})

def kube(ruleset):
    # kube-proxy's nftables mode (Tests/NFTablesTests/Rulesets/kube-proxy.nft) with the pod CIDR
    # 198.18.0.0/16, so the clients here are pods (no masquerade: fully-random ports are random),
    # and one kube-dns endpoint (numgen random picks among endpoints).
    rs = ruleset.replace("10.244.0.0/16", "198.18.0.0/16")
    rs = rs.replace("numgen random mod 2 vmap { 0 : goto endpoint-5OJB2KTY-kube-system/kube-dns/udp/dns__198.18.1.3/53, 1 : goto endpoint-QGUHW2FI-kube-system/kube-dns/udp/dns__198.18.1.4/53 }",
                    "numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-kube-system/kube-dns/udp/dns__198.18.1.3/53 }")
    src = "198.18.0.1"
    write("kube_nft_1", "kube-proxy nftables mode (pod CIDR 198.18.0.0/16): ClusterIP DNAT through the service-ips verdict map, no-endpoint reject, bad ClusterIP port reject, unallocated ClusterIP drop", rs, [
        pkt("eth0", "ClusterIP 10.96.0.1:443 SYN: service-ips vmap, numgen, DNAT to 198.18.1.2:6443, forwarded", {"src": src, "dst": "10.96.0.1"}, TCP(sport=41000, dport=443, flags="S", seq=1000)),
        pkt("eth1", "endpoint SYN-ACK: un-DNAT to 10.96.0.1:443", {"src": "198.18.1.2", "dst": src}, TCP(sport=6443, dport=41000, flags="SA", seq=5000, ack=1001)),
        pkt("eth0", "kube-dns 10.96.0.10:53: DNAT to its endpoint 198.18.1.3", {"src": src, "dst": "10.96.0.10"}, UDP(sport=41001, dport=53), b"dns"),
        pkt("eth0", "service without endpoints: no-endpoint-services, goto reject-chain", {"src": src, "dst": "10.96.0.20"}, TCP(sport=41002, dport=80, flags="S", seq=1)),
        pkt("eth0", "ClusterIP on a port it does not serve: cluster-ips-check rejects", {"src": src, "dst": "10.96.0.1"}, TCP(sport=41003, dport=80, flags="S", seq=1)),
        pkt("eth0", "unallocated ClusterIP: dropped", {"src": src, "dst": "10.96.5.5"}, UDP(sport=41004, dport=80), b"x"),
    ], {"net.ipv4.ip_forward": 1})

def arch(ruleset):
    # Arch Linux's /etc/nftables.conf as shipped (Tests/NFTablesTests/Rulesets/arch.nft).
    src = "198.18.0.1"
    write("arch_conf_1", "Arch Linux's /etc/nftables.conf as shipped: icmp and ssh in, invalid dropped early, the rest rejected admin-prohibited under a limit", ruleset, [
        pkt("eth0", "ping: allow icmp (echo reply)", {"src": src, "dst": "198.18.0.2"}, ICMP(type=8, id=7, seq=1), b"ping"),
        pkt("eth0", "ssh SYN: allow sshd (no listener: RST)", {"src": src, "dst": "198.18.0.2"}, TCP(sport=42000, dport=22, flags="S", seq=1)),
        pkt("eth0", "SYN+FIN: ct state invalid, early drop", {"src": src, "dst": "198.18.0.2"}, TCP(sport=42001, dport=22, flags="SF", seq=1)),
        pkt("eth0", "UDP 53: limited reject with icmpx admin-prohibited", {"src": src, "dst": "198.18.0.2"}, UDP(sport=42002, dport=53), b"a"),
        pkt("eth0", "UDP 123: limited reject again", {"src": src, "dst": "198.18.0.2"}, UDP(sport=42003, dport=123), b"b"),
        pkt("eth0", "http SYN: limited reject (an ICMP admin-prohibited for TCP too)", {"src": src, "dst": "198.18.0.2"}, TCP(sport=42004, dport=80, flags="S", seq=1)),
    ])

METERS = """table ip f {
	set rl {
		type ipv4_addr
		size 65535
		flags dynamic,timeout
		timeout 1m
	}

	set cnt {
		type ipv4_addr
		flags dynamic
	}

	set conns {
		type ipv4_addr
		flags dynamic
	}

	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 22 ct state new meter ssh-meter { ip saddr limit rate 1/minute burst 2 packets } accept
		tcp dport 22 ct state new drop
		udp dport 53 update @rl { ip saddr limit rate over 1/minute burst 2 packets } counter drop
		udp dport 123 add @cnt { ip saddr counter }
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		tcp dport 443 add @conns { ip saddr ct count over 2 } reject with tcp reset
	}
}
"""

def meters():
    # Sets with a stateful expression per element (nft_dynset with limit, counter, connlimit) and a meter.
    a, b = "198.18.0.1", "198.18.0.3"
    p = [pkt("eth0", f"ssh SYN {k + 1} from {a}: meter element's limit (1/minute, burst 2)" + (" exceeded: dropped" if k == 2 else ": accepted (RST)"),
             {"src": a, "dst": "198.18.0.2"}, TCP(sport=1000 + k, dport=22, flags="S", seq=1)) for k in range(3)]
    p.append(pkt("eth0", f"ssh SYN from {b}: its own meter element", {"src": b, "dst": "198.18.0.2"}, TCP(sport=1000, dport=22, flags="S", seq=1)))
    p += [pkt("eth0", f"DNS {k + 1} from {a}: update @rl, limit over" + (": over, counted and dropped" if k == 2 else ": under, on to the socket lookup"),
              {"src": a, "dst": "198.18.0.2"}, UDP(sport=2000 + k, dport=53), b"d") for k in range(3)]
    p += [pkt("eth0", f"NTP from {s}: add @cnt with a counter per element", {"src": s, "dst": "198.18.0.2"}, UDP(sport=3000 + k, dport=123), b"n")
          for k, s in enumerate([a, a, b])]
    p += [pkt("eth0", f"https SYN {k + 1} from {a} through to 198.18.1.5: ct count over 2" + (": rejected with a reset" if k >= 2 else ": forwarded"),
              {"src": a, "dst": "198.18.1.5"}, TCP(sport=4000 + k, dport=443, flags="S", seq=1)) for k in range(4)]
    write("meters_1", "Sets with per-element limit, counter and ct count (nft_dynset stateful expressions), and a meter", METERS, p, {"net.ipv4.ip_forward": 1})

DATA_MAPS = """table ip nat {
	map portmap {
		type inet_service : ipv4_addr
		elements = { 80 : 198.18.1.2, 8080 : 198.18.1.3 }
	}

	map marks {
		type ipv4_addr : mark
		flags interval
		elements = { 198.18.0.0/24 : 0x00000001, 10.0.0.1 : 0x00000002 }
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		meta mark set ip saddr map @marks
		dnat to tcp dport map @portmap
	}
}
table ip filter {
	chain fw {
		type filter hook forward priority filter; policy accept;
		meta mark 0x00000001 counter accept
		counter
	}
}
"""

def data_maps():
    # Named maps of addresses and marks (`type inet_service : ipv4_addr`, `type ipv4_addr : mark`).
    write("data_maps_1", "Named data maps: dnat to tcp dport map @portmap, meta mark set ip saddr map @marks (an interval map); a port without an element is not NATed", DATA_MAPS, [
        pkt("eth0", "port 80: marked 0x1 (198.18.0.0/24), DNAT to 198.18.1.2, forwarded", {"src": "198.18.0.1", "dst": "198.18.0.2"}, TCP(sport=5000, dport=80, flags="S", seq=1)),
        pkt("eth0", "port 8080: DNAT to 198.18.1.3", {"src": "198.18.0.3", "dst": "198.18.0.2"}, TCP(sport=5001, dport=8080, flags="S", seq=1)),
        pkt("eth0", "port 81: no element, no NAT: the host answers (RST)", {"src": "198.18.0.1", "dst": "198.18.0.2"}, TCP(sport=5002, dport=81, flags="S", seq=1)),
        pkt("eth1", "reply from 198.18.1.2: un-DNATed", {"src": "198.18.1.2", "dst": "198.18.0.1"}, TCP(sport=80, dport=5000, flags="SA", seq=9, ack=2)),
    ], {"net.ipv4.ip_forward": 1})

DATA_MAPS_RANGED = """table ip t {
	map marks {
		type ipv4_addr . inet_service : mark
		flags interval
		elements = { 198.18.0.0/24 . 1000-1999 : 0x00000001, 198.18.0.1 . 2000 : 0x00000002,
			     * : 0x00000009 }
	}

	map byif {
		type ifname . ipv4_addr : mark
		elements = { "eth0" . 198.18.0.3 : 0x00000005 }
	}

	map portfw {
		type ipv4_addr . inet_service : ipv4_addr . inet_service
		flags interval
		elements = { 198.18.0.0/25 . 8000-8099 : 198.18.1.2 . 80 }
	}

	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		meta mark set ip saddr . udp dport map @marks
		meta mark set iifname . ip saddr map @byif
		dnat ip addr . port to ip saddr . tcp dport map @portfw
	}
}
table ip filter {
	chain input {
		type filter hook input priority filter; policy accept;
		meta mark 0x00000001 counter
		meta mark 0x00000002 counter
		meta mark 0x00000005 counter
		meta mark 0x00000009 counter
	}

	chain fw {
		type filter hook forward priority filter; policy accept;
		counter
	}
}
"""

def data_maps_ranged():
    # Named data maps keyed by a concatenation with ranges (flags interval), one keyed by an interface name.
    u = lambda src, sport, dport, desc: pkt("eth0", desc, {"src": src, "dst": "198.18.0.2"}, UDP(sport=sport, dport=dport), b"x")
    write("data_maps_ranged_1", "Named data maps keyed by ip saddr . udp dport with ranges (and a catch-all), by iifname . ip saddr, and a NAT map of address . port keyed by a prefix . port range", DATA_MAPS_RANGED, [
        u("198.18.0.1", 5000, 1500, "198.18.0.1 . 1500: in 198.18.0.0/24 . 1000-1999, mark 0x1"),
        u("198.18.0.1", 5000, 2000, "198.18.0.1 . 2000: mark 0x2"),
        u("198.18.0.5", 5000, 2001, "198.18.0.5 . 2001: the catch-all, mark 0x9"),
        u("198.18.0.3", 5000, 2002, "from 198.18.0.3 on eth0: the catch-all (0x9), then the ifname map's 0x5"),
        pkt("eth0", "TCP 198.18.0.7 . 8050: DNAT to 198.18.1.2:80, forwarded", {"src": "198.18.0.7", "dst": "198.18.0.2"}, TCP(sport=5001, dport=8050, flags="S", seq=1)),
        pkt("eth0", "TCP 198.18.0.200 . 8050: outside the /25, not NATed (RST)", {"src": "198.18.0.200", "dst": "198.18.0.2"}, TCP(sport=5002, dport=8050, flags="S", seq=1)),
    ], {"net.ipv4.ip_forward": 1})

def sctp_set():
    # sctp header writes: the kernel recomputes the CRC32c (csum_type 2 at offset 8, as nft --debug=netlink shows).
    from scapy.layers.sctp import SCTP, SCTPChunkInit, SCTPChunkData
    rs = "table ip t {\n\tchain f {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tsctp dport 5000 sctp dport set 22 counter\n\t\tsctp dport 5001 sctp vtag set 4660 counter\n\t\tsctp dport 5002 sctp sport set 7 sctp dport set 8 counter\n\t}\n}\n"
    to = {"src": "198.18.0.1", "dst": "198.18.1.2"}
    write("sctp_set_1", "sctp dport/vtag/sport written in forward: the frames leave with the field and a new CRC32c", rs, [
        pkt("eth0", "INIT to port 5000: dport 22", to, SCTP(sport=40000, dport=5000, tag=0) / SCTPChunkInit(init_tag=0x11223344, a_rwnd=65535, n_out_streams=1, n_in_streams=1, init_tsn=1)),
        pkt("eth0", "DATA to port 5001: vtag 0x1234", to, SCTP(sport=40000, dport=5001, tag=0xabcdef) / SCTPChunkData(tsn=9, stream_id=0, stream_seq=0, data=b"sctp data")),
        pkt("eth0", "DATA to port 5002: both ports", to, SCTP(sport=40000, dport=5002, tag=0xabcdef) / SCTPChunkData(tsn=10, data=b"x")),
    ], {"net.ipv4.ip_forward": 1})

def ct_mark_untracked():
    # `meta mark set ct mark` before conntrack has run (raw priority): no entry, the rule breaks
    # (nft_ct_get_eval's NFT_BREAK), so what follows it in the rule does not run either.
    rs = "table ip t {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tmeta mark set ct mark meta mark set 0x00000005\n\t}\n\n\tchain in {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct state new counter\n\t\tmeta mark 0x00000005 counter\n\t\tmeta mark 0x00000000 counter\n\t}\n}\n"
    write("ct_mark_untracked_1", "meta mark set ct mark before conntrack: the rule breaks, the mark stays 0", rs, [
        pkt("eth0", "UDP to the DUT: mark 0 at input", {"src": "198.18.0.1", "dst": "198.18.0.2"}, UDP(sport=4000, dport=4001), b"m"),
    ])

CT_ZONES = """table ip raw {
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		ip ttl 33 ct zone set 1
		ip ttl 33 ct zone set 7
		ip ttl 34 ct original zone set 2
		ip ttl 35 ct reply zone set 3
		ip ttl 36 ct zone set meta mark map { 0x00000000 : 4, 0x00000001 : 5 }
	}
}
table ip filter {
	chain fw {
		type filter hook forward priority filter; policy accept;
		ct zone set 9
		ct zone 1 counter
		ct zone 4 counter
		ct original zone 2 counter
		ct reply zone 2 counter
		ct reply zone 3 counter
		ct original zone 3 counter
		ct zone 0 counter
		ct state new counter
		ct state established counter
	}
}
"""

def ct_zones():
    # Conntrack zones (nft_ct's zone template, set before conntrack at priority raw): the same tuple
    # is two connections in two zones; a reply without the zone is a new connection unless the
    # zone was only the original direction's. The first `ct zone set` wins, one after conntrack
    # does nothing.
    a, r = "198.18.0.1", "198.18.1.2"
    write("ct_zones_1", "ct zone set, ct original|reply zone set and ct zone set from a map before conntrack; ct [original|reply] zone read after", CT_ZONES, [
        pkt("eth0", "ttl 33: zone 1 (the second set does nothing), a new connection, forwarded", {"src": a, "dst": r, "ttl": 33}, UDP(sport=1000, dport=5000), b"a"),
        pkt("eth0", "the same tuple, ttl 64: zone 0, a second connection", {"src": a, "dst": r}, UDP(sport=1000, dport=5000), b"b"),
        pkt("eth1", "the reply without a zone: the zone-0 connection's reply", {"src": r, "dst": a}, UDP(sport=5000, dport=1000), b"c"),
        pkt("eth0", "ttl 33 again: zone 1's connection, still unreplied", {"src": a, "dst": r, "ttl": 33}, UDP(sport=1000, dport=5000), b"d"),
        pkt("eth0", "ttl 34: original-direction zone 2", {"src": a, "dst": r, "ttl": 34}, UDP(sport=1001, dport=5001), b"e"),
        pkt("eth1", "its reply without a zone: the reply direction is zone 0, so it is the connection's reply", {"src": r, "dst": a}, UDP(sport=5001, dport=1001), b"f"),
        pkt("eth1", "ttl 35 from the receiver: reply-direction zone 3 on a new connection", {"src": r, "dst": a, "ttl": 35}, UDP(sport=5002, dport=1002), b"g"),
        pkt("eth0", "ttl 36: zone from the mark map (mark 0: zone 4)", {"src": a, "dst": r, "ttl": 36}, UDP(sport=1003, dport=5003), b"h"),
    ], {"net.ipv4.ip_forward": 1})

OSF = """table inet f {
	chain in {
		type filter hook input priority filter; policy accept;
		osf name "unknown" counter
		osf name "Linux" counter
		osf ttl skip version "unknown" counter
		osf name != "Linux" counter
		osf name { "Linux", "unknown" } counter
		ct mark set osf name map { "unknown" : 0x00000001 }
		ct mark 0x00000001 counter
	}
}
"""

def osf():
    # Passive OS fingerprinting (nft_osf) on a kernel with no fingerprints loaded (nfnl_osf never
    # run): a TCP SYN is "unknown", anything else breaks the rule.
    d = "198.18.0.2"
    write("osf_1", "osf name/version with no fingerprints loaded: SYNs read unknown, other packets break the rule", OSF, [
        pkt("eth0", "TCP SYN to 22: unknown (then a reset)", {"src": "198.18.0.1", "dst": d}, TCP(sport=1000, dport=22, flags="S", seq=1)),
        pkt("eth0", "TCP SYN with options, ttl 128: still unknown", {"src": "198.18.0.1", "dst": d, "ttl": 128},
            TCP(sport=1001, dport=22, flags="S", seq=1, window=64240, options=[("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None), ("SAckOK", b"")])),
        pkt("eth0", "TCP ACK: not a SYN, every osf rule breaks", {"src": "198.18.0.1", "dst": d}, TCP(sport=1002, dport=22, flags="A", seq=1, ack=1)),
        pkt("eth0", "UDP: not TCP, every osf rule breaks", {"src": "198.18.0.1", "dst": d}, UDP(sport=1003, dport=9), b"u"),
    ])

VLAN = """table netdev nd {
	chain in {
		type filter hook ingress device "eth0" priority filter; policy accept;
		vlan id 5 counter
		vlan id 0 counter
		vlan pcp 3 counter
		vlan dei 1 counter
		ether type 8021q vlan type ip counter
		ether type 8021q counter
		ether type ip counter
	}
}
table inet f {
	chain in {
		type filter hook input priority filter; policy accept;
		vlan id 0 counter
		ether type 8021q counter
		ether type ip counter
		ether saddr 02:00:00:00:00:01 counter
	}
}
"""

def vlan():
    # 802.1Q tags: netdev ingress sees the tag (nft_payload_copy_vlan puts the stripped tag back
    # into the header it reads); a VID with no VLAN device makes the frame someone else's
    # (PACKET_OTHERHOST); a priority tag (VID 0) is taken off and the packet goes on untagged.
    def tagged(vid, prio, dei, desc, l4):
        f = Ether(src=SND, dst=DUT0) / Dot1Q(vlan=vid, prio=prio, id=dei) / IP(src="198.18.0.1", dst="198.18.0.2", id=0x300) / l4
        return {"ingress": "eth0", "desc": desc, "hex": raw(f).hex()}
    write("vlan_1", "vlan id/pcp/dei/type at netdev ingress and in an inet input chain: tagged, priority-tagged and untagged frames", VLAN, [
        tagged(5, 3, 0, "VID 5, PCP 3: counted at ingress, then another host's (no VLAN device): dropped", ICMP(id=1, seq=1)),
        tagged(0, 2, 1, "VID 0 (priority tag), DEI 1: counted at ingress, untagged, the echo answered; input sees no tag", ICMP(id=2, seq=1)),
        pkt("eth0", "untagged echo: ether type ip at both hooks", {"src": "198.18.0.1", "dst": "198.18.0.2"}, ICMP(id=3, seq=1)),
    ])

IPSEC = """table inet f {
	chain fw {
		type filter hook forward priority filter; policy accept;
		ipsec in reqid 1 counter
		ipsec in spnum 2 ip saddr { 1.2.3.4, 10.6.0.0/16 } counter
		ipsec out spi 1-561 counter
		ipsec out ip daddr != 192.168.1.2 counter
		meta ipsec exists counter
		meta ipsec missing counter
	}
	chain in {
		type filter hook input priority filter; policy accept;
		meta secpath exists counter
		meta secpath missing counter
		ipsec in reqid != 7 counter
	}
}
"""

def ipsec():
    # nft_xfrm and meta secpath on a host with no IPsec states or policies: no packet has a
    # secpath or a transform on its route, so every ipsec key breaks its rule and meta ipsec is missing.
    write("ipsec_1", "ipsec in/out keys and meta ipsec (secpath) with no xfrm states: ipsec rules break, meta ipsec missing holds", IPSEC, [
        pkt("eth0", "forwarded UDP", {"src": "198.18.0.1", "dst": "198.18.1.2"}, UDP(sport=1000, dport=5000), b"x"),
        pkt("eth0", "local echo", {"src": "198.18.0.1", "dst": "198.18.0.2"}, ICMP(id=1, seq=1)),
    ], {"net.ipv4.ip_forward": 1})

META_KEYS = """table inet f {
	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		oifname != "eth9" counter
		oifname "eth1" counter
		meta rtclassid "cosmos" counter
	}
	chain in {
		type filter hook input priority filter; policy accept;
		meta rtclassid "cosmos" counter
		meta sdifname != "vrf1" counter
		meta sdif "lo" counter
		oifname != "eth9" counter
	}
	chain fw {
		type filter hook forward priority filter; policy accept;
		meta rtclassid "cosmos" counter
		meta sdif != "lo" counter
		oifname "eth1" counter
	}
}
"""

def meta_keys():
    # Keys a hook may lack: no output device before routing reads as the empty name; no route
    # before routing breaks meta rtclassid (realm 0, "cosmos", after it); no VRF: sdif none.
    write("meta_keys_1", "oifname before routing, meta rtclassid before and after routing, meta sdif and sdifname without a VRF", META_KEYS, [
        pkt("eth0", "to the host", {"src": "198.18.0.1", "dst": "198.18.0.2"}, UDP(sport=1000, dport=9), b"x"),
        pkt("eth0", "forwarded to eth1", {"src": "198.18.0.1", "dst": "198.18.1.2"}, UDP(sport=1000, dport=9), b"y"),
    ], {"net.ipv4.ip_forward": 1})

ICMP_FIELDS = """table ip f {
	chain in {
		type filter hook input priority filter; policy accept;
		icmp mtu 1480 counter
		icmp type 3 icmp mtu 1480 counter
		icmp gateway 3323068423 counter
		icmp sequence 1480 counter
	}
}
"""

def icmp_fields():
    # icmp mtu exists in a destination unreachable and icmp gateway in a redirect: nft's hidden
    # dependency on the type keeps them from reading an echo's id and sequence.
    d = "198.18.0.2"
    inner = bytes(IP(src=d, dst="198.18.0.1", id=0x300) / UDP(sport=9, dport=1000))[:28]
    write("icmp_fields_1", "icmp mtu and icmp gateway read only in their message types (nft's hidden icmp type dependency)", ICMP_FIELDS, [
        pkt("eth0", "echo request with sequence 1480: icmp sequence matches, icmp mtu does not", {"src": "198.18.0.1", "dst": d}, ICMP(type=8, id=0, seq=1480)),
        pkt("eth0", "fragmentation needed, mtu 1480", {"src": "198.18.0.1", "dst": d}, ICMP(type=3, code=4, nexthopmtu=1480), inner),
        pkt("eth0", "echo request whose id and sequence read as 3323068423 (0xc612, 0x0007): icmp gateway does not match", {"src": "198.18.0.1", "dst": d}, ICMP(type=8, id=0xc612, seq=7)),
    ])

CT_LABELS = """table ip f {
	chain in {
		type filter hook input priority filter; policy accept;
		ct label 5 counter
		ct label set 5
		ct label set 127
		ct label 5 counter
		ct label 127 counter
		ct label 6 counter
		ct label != 6 counter
	}
}
"""

def ct_labels():
    # Conntrack labels: set on the entry (unconfirmed on the first packet), seen by later packets.
    write("ct_labels_1", "ct label set N on the connection and ct label N matching the bit, from the first packet on", CT_LABELS, [
        pkt("eth0", f"UDP {k + 1} of one flow", {"src": "198.18.0.1", "dst": "198.18.0.2"}, UDP(sport=4000, dport=9), b"x") for k in range(2)
    ])

NAMED_CATCHALL = """table inet f {
	set addrs {
		type ipv4_addr
		elements = { 198.18.0.5, * }
	}

	set ports {
		type inet_service
		elements = { 53 }
	}

	map verdicts {
		type inet_service : verdict
		elements = { 22 : accept, * : jump counted }
	}

	map marks {
		type inet_service : mark
		elements = { 80 : 0x00000001, * : 0x00000002 }
	}

	map pairs {
		type ipv4_addr . inet_service : verdict
		elements = { 198.18.0.1 . 443 : continue, * : drop }
	}

	chain counted {
		counter
	}

	chain in {
		type filter hook input priority filter; policy accept;
		ip saddr @addrs counter
		udp dport @ports counter
		meta mark set udp dport map @marks
		meta mark 0x00000002 counter
		udp dport vmap @verdicts
		ip saddr . udp dport vmap @pairs
		counter
	}
}
"""

def named_catchall():
    # Catch-all elements (`*`) of named sets and maps: the key no other element holds finds them.
    p = [pkt("eth0", f"UDP to {port}" + why, {"src": "198.18.0.1", "dst": "198.18.0.2"}, UDP(sport=1000, dport=port), b"x")
         for port, why in [(22, ": accepted by its own element"), (80, ": mark 0x1, then the catch-all verdict (jump), then the pairs' catch-all drop"),
                           (443, ": the pairs' own element goes on"), (53, ": in @ports")]]
    write("named_catchall_1", "Catch-all elements in named sets, verdict maps, data maps and concatenated maps", NAMED_CATCHALL, p)

FIB_OIFNAME = """table ip f {
	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		fib saddr . iif oifname "eth0" counter
		fib daddr oifname "eth1" counter
		fib daddr oifname "eth0" counter
		fib daddr oifname "lo" counter
		fib daddr oif missing counter
		fib daddr oifname != "eth1" counter
	}
}
"""

def fib_oifname():
    # fib's oifname result: the name of the interface oif finds, or the empty name.
    write("fib_oifname_1", "fib saddr . iif oifname and fib daddr oifname for a forwarded, a local and an unroutable destination", FIB_OIFNAME, [
        pkt("eth0", f"UDP to {d}", {"src": "198.18.0.1", "dst": d}, UDP(sport=1000, dport=9), b"x")
        for d in ["198.18.1.2", "198.18.0.2", "203.0.113.1"]
    ], {"net.ipv4.ip_forward": 1})

FTP_HELPER = """table inet filter {
	ct helper ftp-standard {
		type "ftp" protocol tcp
		l3proto ip
	}

	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		tcp dport 21 ct helper set "ftp-standard"
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
		ct helper "ftp" counter
		ct state established accept
		ct state related counter accept
		tcp dport 21 ct state new accept
	}
}
"""

def ftp_helper():
    # The ftp conntrack helper, assigned by a ct helper object: PORT and 227 lines open RELATED
    # data connections; the first line each way only teaches it where lines start.
    c, s = {"src": "198.18.0.1", "dst": "198.18.1.2"}, {"src": "198.18.1.2", "dst": "198.18.0.1"}
    port = b"PORT 198,18,0,1,39,16\r\n"
    pasv = b"227 Entering Passive Mode (198,18,1,2,78,32)\r\n"
    bad = b"PORT 198,18,0,77,39,17\r\n"
    cseq = 1009 + len(port)
    write("ftp_helper_1", "ct helper object of type ftp: PORT (active) and 227 (passive) open related data connections; an address not the client's opens nothing", FTP_HELPER, [
        pkt("eth0", "control SYN to :21, ct helper set", c, TCP(sport=40100, dport=21, flags="S", seq=1000)),
        pkt("eth1", "SYN-ACK", s, TCP(sport=21, dport=40100, flags="SA", seq=5000, ack=1001)),
        pkt("eth0", "ACK", c, TCP(sport=40100, dport=21, flags="A", seq=1001, ack=5001)),
        pkt("eth1", "220 banner: the first server line is not parsed", s, TCP(sport=21, dport=40100, flags="PA", seq=5001, ack=1001), b"220 ready\r\n"),
        pkt("eth0", "USER: the first client line is not parsed", c, TCP(sport=40100, dport=21, flags="PA", seq=1001, ack=5012), b"USER a\r\n"),
        pkt("eth0", "PORT 198.18.0.1:10000: expectation from the server", c, TCP(sport=40100, dport=21, flags="PA", seq=1009, ack=5012), port),
        pkt("eth1", "active data SYN 20 -> 10000: related", s, TCP(sport=20, dport=10000, flags="S", seq=9000)),
        pkt("eth0", "its SYN-ACK", c, TCP(sport=10000, dport=20, flags="SA", seq=7000, ack=9001)),
        pkt("eth1", "SYN to 10001: nothing expected, dropped", s, TCP(sport=20, dport=10001, flags="S", seq=9100)),
        pkt("eth1", "227 passive reply 198.18.1.2:20000: expectation from the client", s, TCP(sport=21, dport=40100, flags="PA", seq=5012, ack=cseq), pasv),
        pkt("eth0", "passive data SYN to :20000: related", c, TCP(sport=40200, dport=20000, flags="S", seq=3000)),
        pkt("eth0", "PORT naming another host: no expectation", c, TCP(sport=40100, dport=21, flags="PA", seq=cseq, ack=5012 + len(pasv)), bad),
        pkt("eth1", "SYN to that host's 10001: dropped", s, TCP(sport=20, dport=10001, flags="S", seq=9200)),
    ], {"net.ipv4.ip_forward": 1})

CT_EXPECT = """table ip t {
	ct expectation rtp {
		protocol udp
		dport 5004
		timeout 1m
		size 2
		l3proto ip
	}

	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		udp dport 5060 ct expectation set "rtp"
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established accept
		ct state related counter accept
		udp dport 5060 ct state new accept
	}
}
"""

def ct_expect():
    # A ct expectation object: each packet it runs on expects a connection from the peer to
    # dport 5004, once.
    c, s = {"src": "198.18.0.1", "dst": "198.18.1.2"}, {"src": "198.18.1.2", "dst": "198.18.0.1"}
    write("ct_expect_1", "ct expectation object set on a signalling flow: the peer's flow to the expected port is related once; the reverse direction is not", CT_EXPECT, [
        pkt("eth0", "signalling 5060: expectation set", c, UDP(sport=5060, dport=5060), b"invite"),
        pkt("eth1", "peer 7000 -> 5004: related", s, UDP(sport=7000, dport=5004), b"rtp"),
        pkt("eth1", "peer 7001 -> 5004: the expectation is used up, dropped", s, UDP(sport=7001, dport=5004), b"rtp"),
        pkt("eth0", "signalling again: a new expectation", c, UDP(sport=5060, dport=5060), b"ack"),
        pkt("eth1", "peer 7002 -> 5004: related", s, UDP(sport=7002, dport=5004), b"rtp"),
        pkt("eth0", "client -> peer 5004: not the expected direction, dropped", c, UDP(sport=7003, dport=5004), b"rtp"),
    ], {"net.ipv4.ip_forward": 1})

FTP_NAT = """table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 198.18.0.2 tcp dport 21 dnat to 203.0.113.100
	}
}
table inet filter {
	ct helper ftp-standard {
		type "ftp" protocol tcp
		l3proto ip
	}

	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		tcp dport 21 ct helper set "ftp-standard"
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		tcp dport 21 ct state new accept
	}
}
"""

def ftp_nat():
    # nf_nat_ftp on a DNATed control connection: the server's 227 reply names its own address,
    # rewritten to the one the client connects to (3 bytes shorter, so later sequence numbers
    # move); the passive data connection follows the master's DNAT; an active one gets its SNAT.
    c, s = {"src": "198.18.0.1", "dst": "198.18.0.2"}, {"src": "203.0.113.100", "dst": "198.18.0.1"}
    pasv = b"227 Entering Passive Mode (203,0,113,100,78,32)\r\n"
    L = len(pasv)
    write("ftp_nat_1", "ftp helper with DNAT: the 227 line rewritten to the client's view, sequence numbers adjusted after it, data connections NATed as their master", FTP_NAT, [
        pkt("eth0", "control SYN to 198.18.0.2:21, DNAT to 203.0.113.100", c, TCP(sport=40100, dport=21, flags="S", seq=1000)),
        pkt("eth1", "SYN-ACK", s, TCP(sport=21, dport=40100, flags="SA", seq=5000, ack=1001)),
        pkt("eth0", "ACK", c, TCP(sport=40100, dport=21, flags="A", seq=1001, ack=5001)),
        pkt("eth1", "220 banner", s, TCP(sport=21, dport=40100, flags="PA", seq=5001, ack=1001), b"220 ready\r\n"),
        pkt("eth0", "USER", c, TCP(sport=40100, dport=21, flags="PA", seq=1001, ack=5012), b"USER a\r\n"),
        pkt("eth0", "PASV", c, TCP(sport=40100, dport=21, flags="PA", seq=1009, ack=5012), b"PASV\r\n"),
        pkt("eth1", "227 with the server's address: rewritten to 198,18,0,2 (3 bytes shorter)", s, TCP(sport=21, dport=40100, flags="PA", seq=5012, ack=1015), pasv),
        pkt("eth0", "client ACKs the shorter line: the ack moves up 3 toward the server", c, TCP(sport=40100, dport=21, flags="A", seq=1015, ack=5012 + L - 3)),
        pkt("eth0", "passive data SYN to 198.18.0.2:20000: related, DNAT to 203.0.113.100:20000", c, TCP(sport=40200, dport=20000, flags="S", seq=3000)),
        pkt("eth1", "its SYN-ACK: un-DNAT", s, TCP(sport=20000, dport=40200, flags="SA", seq=7000, ack=3001)),
        pkt("eth1", "226 after the rewritten line: its seq moves down 3", s, TCP(sport=21, dport=40100, flags="PA", seq=5012 + L, ack=1015), b"226 done\r\n"),
        pkt("eth0", "PORT 198.18.0.1:10000 (no rewrite: the client's own address), ack adjusted", c, TCP(sport=40100, dport=21, flags="PA", seq=1015, ack=5012 + L - 3 + 10), b"PORT 198,18,0,1,39,16\r\n"),
        pkt("eth1", "active data SYN from the server's 20: related, SNAT to 198.18.0.2", s, TCP(sport=20, dport=10000, flags="S", seq=9000)),
    ], {"net.ipv4.ip_forward": 1})

CT_EXPECT_NAT = """table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 198.18.0.2 udp dport 5060 dnat to 198.18.1.2
	}
}
""" + CT_EXPECT

def ct_expect_nat():
    # A ct expectation object on a DNATed flow: does the expected flow follow the master's NAT?
    c, s = {"src": "198.18.0.1", "dst": "198.18.0.2"}, {"src": "198.18.1.2", "dst": "198.18.0.1"}
    write("ct_expect_nat_1", "ct expectation set on a DNATed signalling flow: the peer's related flow to the expected port, as the NAT leaves it", CT_EXPECT_NAT, [
        pkt("eth0", "signalling to 198.18.0.2:5060, DNAT to 198.18.1.2: expectation set", c, UDP(sport=5060, dport=5060), b"invite"),
        pkt("eth1", "peer 7000 -> 198.18.0.1:5004: related", s, UDP(sport=7000, dport=5004), b"rtp"),
    ], {"net.ipv4.ip_forward": 1})

TFTP = """table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" masquerade
	}
}
table inet filter {
	ct helper tftp-standard {
		type "tftp" protocol udp
		l3proto ip
	}

	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		udp dport 69 ct helper set "tftp-standard"
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
		ct helper "tftp" counter
		ct state established accept
		ct state related counter accept
		udp dport 69 ct state new accept
	}
}
"""

def tftp():
    # The tftp helper on a masqueraded client: the read request expects the server's data from
    # any port to the client's, which follows the master's NAT back to the client.
    c, s = {"src": "198.18.0.1", "dst": "198.18.1.2"}, {"src": "198.18.1.2", "dst": "198.18.1.1"}
    rrq = b"\x00\x01boot.img\x00octet\x00"
    write("tftp_1", "ct helper of type tftp with masquerade: a read request expects the server's data connection, NATed back to the client as its master", TFTP, [
        pkt("eth0", "RRQ to :69, helper set, masqueraded", c, UDP(sport=40000, dport=69), rrq),
        pkt("eth1", "DATA from the server's 50000 to 198.18.1.1:40000: related, to the client", s, UDP(sport=50000, dport=40000), b"\x00\x03\x00\x01data"),
        pkt("eth0", "the client's ACK: established", c, UDP(sport=40000, dport=50000), b"\x00\x04\x00\x01"),
        pkt("eth1", "a second flow to the same port from 50001: nothing expected (used), dropped", s, UDP(sport=50001, dport=40000), b"\x00\x03\x00\x01data"),
    ], {"net.ipv4.ip_forward": 1})

ICMP_NAT = """table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "eth1" udp dport 8053 dnat to 198.18.0.1:53
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" masquerade
	}
}
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state related counter accept
		ct state established counter accept
		ct state new counter accept
	}
}
"""

def icmp_nat():
    # ICMP errors about NATed flows (nf_nat_icmp_reply_translation): the quoted datagram and the
    # outer header translated back, in both directions of a masqueraded and of a DNATed flow.
    def err(ingress, desc, outer, inner, l4, icmp=ICMP(type=3, code=3)):
        return pkt(ingress, desc, outer, icmp / IP(**dict(inner, id=0x300, ttl=63)) / l4 / b"q")
    c, s = {"src": "198.18.0.1", "dst": "198.18.1.2"}, {"src": "198.18.1.2", "dst": "198.18.1.1"}
    write("icmp_nat_1", "ICMP errors about a masqueraded and a DNATed flow, translated back (the quoted datagram and the outer header) as nf_nat_icmp_reply_translation does", ICMP_NAT, [
        pkt("eth0", "198.18.0.1:40000 -> 198.18.1.2:53, masqueraded to 198.18.1.1", c, UDP(sport=40000, dport=53), b"q"),
        err("eth1", "port unreachable from 198.18.1.2 quoting 198.18.1.1:40000 -> :53: related, to 198.18.0.1 quoting its own datagram",
            s, {"src": "198.18.1.1", "dst": "198.18.1.2"}, UDP(sport=40000, dport=53)),
        err("eth1", "time exceeded from 198.18.1.3 about the same flow: related, translated too",
            {"src": "198.18.1.3", "dst": "198.18.1.1"}, {"src": "198.18.1.1", "dst": "198.18.1.2"}, UDP(sport=40000, dport=53), ICMP(type=11, code=0)),
        pkt("eth1", "198.18.1.2:41000 -> 198.18.1.1:8053, DNATed to 198.18.0.1:53", s, UDP(sport=41000, dport=8053), b"q"),
        err("eth0", "port unreachable from 198.18.0.1 quoting :41000 -> 198.18.0.1:53: related, from 198.18.1.1 quoting :8053",
            {"src": "198.18.0.1", "dst": "198.18.1.2"}, {"src": "198.18.1.2", "dst": "198.18.0.1"}, UDP(sport=41000, dport=53)),
        err("eth1", "port unreachable about a flow nobody has: invalid, for the router itself (icmp_rcv)",
            s, {"src": "198.18.1.1", "dst": "198.18.1.2"}, UDP(sport=40001, dport=53)),
    ], {"net.ipv4.ip_forward": 1})

if __name__ == "__main__":
    # `--only NAME...`: write those cases only (the functions above, by name).
    if sys.argv[1:2] == ["--only"]:
        for name in sys.argv[2:]: globals()[name]()
        sys.exit(0)
    rulesets = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NFTablesTests", "Rulesets")
    # docker_1: the translation of Tests/IPTablesTests/Files/docker_oracle.save as GET ruleset lists it
    # (counters without values); IPTablesTests checks the case holds exactly that.
    docker(open(sys.argv[1]).read())
    kube(open(os.path.join(rulesets, "kube-proxy.nft")).read())
    arch(open(os.path.join(rulesets, "arch.nft")).read())
    meters()
    data_maps()
    ct_zones()
    osf()
    vlan()
    ipsec()
    meta_keys()
    icmp_fields()
    ct_labels()
    named_catchall()
    fib_oifname()
    ftp_helper()
    ct_expect()
    ftp_nat()
    ct_expect_nat()
    tftp()
    icmp_nat()
