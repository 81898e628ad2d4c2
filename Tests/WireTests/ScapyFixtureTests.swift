import Foundation
import Wire
import XCTest

/// Frames built by Scapy (Fixtures/make_fixtures.py): parse them, check every field Scapy
/// reported, and re-emit them byte for byte.
final class ScapyFixtureTests: XCTestCase {
    struct Fixture {
        var name: String
        var bytes: [UInt8]
        var fields: [String: Any]
        func int(_ k: String) -> Int? { fields[k] as? Int }
        func str(_ k: String) -> String? { fields[k] as? String }
    }

    static func load() throws -> [Fixture] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/scapy_frames.json")
        let list = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        return try list.map { Fixture(name: $0["name"] as! String, bytes: try Hex.decode($0["hex"] as! String), fields: $0) }
    }

    func testEveryFixtureParsesWithScapysFieldsAndReEmitsByteExact() throws {
        let fixtures = try Self.load()
        XCTAssertEqual(fixtures.count, 24)
        for f in fixtures {
            let repr = try FrameRepr.parse(f.bytes)
            XCTAssertEqual(repr.emit(), f.bytes, "\(f.name): re-emitted bytes differ")
            XCTAssertEqual(repr.ethernet.dst.description, f.str("eth_dst"), f.name)
            XCTAssertEqual(repr.ethernet.src.description, f.str("eth_src"), f.name)
            if let vid = f.int("vlan_vid") {
                XCTAssertEqual(repr.vlan.map { Int($0.vid) }, vid, f.name)
                XCTAssertEqual(repr.vlan.map { Int($0.pcp) }, f.int("vlan_pcp"), f.name)
            } else {
                XCTAssertNil(repr.vlan, f.name)
            }
            switch repr.network {
            case .ipv4(let ip, let l4):
                XCTAssertEqual(ip.src.description, f.str("ip_src"), f.name)
                XCTAssertEqual(ip.dst.description, f.str("ip_dst"), f.name)
                XCTAssertEqual(Int(ip.ttl), f.int("ip_ttl"), f.name)
                XCTAssertEqual(Int(ip.ident), f.int("ip_id"), f.name)
                XCTAssertEqual(Int(ip.proto), f.int("ip_proto"), f.name)
                XCTAssertEqual(ip.headerLength + ip.payloadLength, f.int("ip_len"), f.name)
                XCTAssertEqual(ip.headerLength / 4, f.int("ip_ihl"), f.name)
                XCTAssertEqual(Int(ip.tos), f.int("ip_tos"), f.name)
                let flags = (ip.dontFragment ? 2 : 0) | (ip.moreFragments ? 1 : 0)
                XCTAssertEqual(flags, f.int("ip_flags"), f.name)
                XCTAssertEqual(ip.fragmentOffset / 8, f.int("ip_frag"), f.name)
                let p = try IPv4Packet(checking: f.bytes, at: f.int("vlan_vid") == nil ? 14 : 18)
                XCTAssertEqual(Int(p.checksum), f.int("ip_chksum"), f.name)
                switch l4 {
                case .udp(let u):
                    XCTAssertEqual(Int(u.srcPort), f.int("l4_sport"), f.name)
                    XCTAssertEqual(Int(u.dstPort), f.int("l4_dport"), f.name)
                    XCTAssertEqual(u.bufferLength, f.int("udp_len"), f.name)
                    XCTAssertEqual(u.payload.count, f.int("payload_len"), f.name)
                case .tcp(let t):
                    XCTAssertEqual(Int(t.srcPort), f.int("l4_sport"), f.name)
                    XCTAssertEqual(Int(t.dstPort), f.int("l4_dport"), f.name)
                    XCTAssertEqual(Int(t.seq), f.int("tcp_seq"), f.name)
                    XCTAssertEqual(Int(t.ack), f.int("tcp_ack"), f.name)
                    XCTAssertEqual(Int(t.flags.rawValue), f.int("tcp_flags"), f.name)
                    XCTAssertEqual(Int(t.window), f.int("tcp_window"), f.name)
                    XCTAssertEqual(t.headerLength / 4, f.int("tcp_dataofs"), f.name)
                    XCTAssertEqual(t.payload.count, f.int("payload_len"), f.name)
                case .icmp(let c):
                    XCTAssertEqual(Int(c.type), f.int("icmp_type"), f.name)
                    XCTAssertEqual(Int(c.code), f.int("icmp_code"), f.name)
                case .raw(let r):
                    XCTAssertEqual(f.name, "ip_fragment_mf")
                    XCTAssertEqual(r.count, 24)
                case .icmpv6:
                    XCTFail("\(f.name): ICMPv6 in IPv4")
                }
            case .ipv6(let ip, let exts, let l4):
                try Self.checkIPv6(f, ip, exts, l4)
            case .arp(let a):
                XCTAssertEqual(Int(a.operation), f.int("arp_op"), f.name)
                XCTAssertEqual(a.senderIP.description, f.str("arp_psrc"), f.name)
                XCTAssertEqual(a.targetIP.description, f.str("arp_pdst"), f.name)
                XCTAssertEqual(a.senderMAC.description, f.str("arp_hwsrc"), f.name)
                XCTAssertEqual(a.targetMAC.description, f.str("arp_hwdst"), f.name)
            case .raw:
                XCTFail("\(f.name): not dissected")
            }
        }
    }

    /// The IPv6 fields Scapy reported: fixed header, each extension header, and the upper layer.
    static func checkIPv6(_ f: Fixture, _ ip: IPv6Repr, _ exts: [IPv6ExtensionHeader], _ l4: TransportRepr) throws {
        XCTAssertEqual(ip.src.description, f.str("ip6_src"), f.name)
        XCTAssertEqual(ip.dst.description, f.str("ip6_dst"), f.name)
        XCTAssertEqual(Int(ip.hopLimit), f.int("ip6_hlim"), f.name)
        XCTAssertEqual(Int(ip.nextHeader), f.int("ip6_nh"), f.name)
        XCTAssertEqual(ip.payloadLength, f.int("ip6_plen"), f.name)
        XCTAssertEqual(Int(ip.trafficClass), f.int("ip6_tc"), f.name)
        XCTAssertEqual(Int(ip.flowLabel), f.int("ip6_fl"), f.name)
        let want = f.fields["ip6_ext"] as! [[String: Any]]
        XCTAssertEqual(exts.count, want.count, f.name)
        for (h, w) in zip(exts, want) {
            XCTAssertEqual(Int(h.nextHeader), w["nh"] as? Int, f.name)
            XCTAssertEqual(Int(h.kind), w["kind"] as? Int, f.name)
            switch h.body {
            case .fragment(let off, let more, let ident, _):
                XCTAssertEqual(off / 8, w["offset"] as? Int, f.name)
                XCTAssertEqual(more ? 1 : 0, w["m"] as? Int, f.name)
                XCTAssertEqual(Int(ident), w["id"] as? Int, f.name)
            case .routing(let type, let left, _):
                XCTAssertEqual(Int(type), w["type"] as? Int, f.name)
                XCTAssertEqual(Int(left), w["segleft"] as? Int, f.name)
                XCTAssertEqual(h.bufferLength / 8 - 1, w["len"] as? Int, f.name)
            case .options(let opts):
                XCTAssertEqual(h.bufferLength / 8 - 1, w["len"] as? Int, f.name)
                let ours: [[Int]] = opts.map { if case .tlv(let t, let d) = $0 { [Int(t), d.count] } else { [0, 0] } }
                XCTAssertEqual(ours, w["options"] as? [[Int]], f.name)
            }
        }
        switch l4 {
        case .udp(let u):
            XCTAssertEqual(Int(u.srcPort), f.int("l4_sport"), f.name)
            XCTAssertEqual(Int(u.dstPort), f.int("l4_dport"), f.name)
            XCTAssertEqual(u.bufferLength, f.int("udp_len"), f.name)
        case .tcp(let t):
            XCTAssertEqual(Int(t.srcPort), f.int("l4_sport"), f.name)
            XCTAssertEqual(Int(t.seq), f.int("tcp_seq"), f.name)
            XCTAssertEqual(Int(t.flags.rawValue), f.int("tcp_flags"), f.name)
            XCTAssertEqual(t.headerLength / 4, f.int("tcp_dataofs"), f.name)
        case .icmpv6(let m):
            XCTAssertEqual(Int(m.type), f.int("icmp6_type"), f.name)
            XCTAssertEqual(Int(m.code), f.int("icmp6_code"), f.name)
            if let mtu = f.int("icmp6_mtu") { XCTAssertEqual(Int(m.restOfHeader), mtu, f.name) }
            let nd = try NDPRepr.parse(m)
            if let tgt = f.str("nd_target") {
                switch nd {
                case .neighbourSolicitation(let t, _)?, .neighbourAdvertisement(_, _, _, let t, _)?, .redirect(let t, _, _)?:
                    XCTAssertEqual(t.description, tgt, f.name)
                default: XCTFail("\(f.name): no ND target")
                }
            }
            if case .neighbourAdvertisement(let r, let s, let o, _, _)? = nd {
                XCTAssertEqual([r, s, o].map { $0 ? 1 : 0 }, f.fields["nd_flags"] as? [Int], f.name)
            }
            if case .routerAdvertisement(let hop, let flags, let life, let reach, let retrans, _)? = nd {
                XCTAssertEqual([Int(hop), Int(flags >> 7), Int(flags >> 6) & 1, Int(life), Int(reach), Int(retrans)], f.fields["ra"] as? [Int], f.name)
            }
            if let wantOpts = f.fields["nd_options"] as? [[Any]], let nd {
                let ours: [String] = nd.options.map {
                    switch $0 {
                    case .sourceLinkLayer(let m): "src_ll \(m)"
                    case .targetLinkLayer(let m): "dst_ll \(m)"
                    case .prefixInformation(let len, let l, let a, let v, let p, let prefix): "prefix \(prefix) \(len) \(l ? 1 : 0) \(a ? 1 : 0) \(v) \(p)"
                    case .mtu(let m): "mtu \(m)"
                    case .other(let t, _): "other \(t)"
                    }
                }
                XCTAssertEqual(ours.sorted(), wantOpts.map { $0.map { "\($0)" }.joined(separator: " ") }.sorted(), f.name)
                XCTAssertEqual(nd.icmp, m, "\(f.name): ND message re-built differs")
            }
        case .raw(let r):
            XCTAssert(f.name.hasPrefix("ip6_fragment"), f.name)
            XCTAssertEqual(r.count, f.name == "ip6_fragment_first" ? 24 : 10, f.name)
        case .icmp:
            XCTFail("\(f.name): ICMPv4 in IPv6")
        }
    }

    /// IPv6 frames built from representations alone (payload length, header lengths and the
    /// pseudo-header checksums computed) give Scapy's bytes.
    func testConstructedIPv6FramesMatchScapy() throws {
        let fx = Dictionary(uniqueKeysWithValues: try Self.load().map { ($0.name, $0.bytes) })
        let eth = EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv6)
        let s6 = try IPv6Address(parsing: "2001:db8::9"), d6 = try IPv6Address(parsing: "2001:db8::2")
        let udp = FrameRepr(ethernet: eth, network: .ipv6(IPv6Repr(src: s6, dst: d6, nextHeader: IPProtocol.udp, trafficClass: 0xb8, flowLabel: 0x12345), [],
                                                          .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [0xab, 0xcd, 0xef]))))
        XCTAssertEqual(Hex.encode(udp.emit()), Hex.encode(fx["ip6_udp"]!))
        let hbh = IPv6ExtensionHeader(kind: IPProtocol.hopByHop, nextHeader: IPProtocol.udp,
                                      body: .options([.tlv(type: IPv6Option.routerAlertType, data: [0, 0]), .padN(2), .padN(4)]))
        let ra = FrameRepr(ethernet: eth, network: .ipv6(IPv6Repr(src: s6, dst: d6, nextHeader: IPProtocol.hopByHop), [hbh], .udp(UDPRepr(srcPort: 1, dstPort: 2))))
        XCTAssertEqual(Hex.encode(ra.emit()), Hex.encode(fx["ip6_hbh_padn_udp"]!))
        let echo = FrameRepr(ethernet: eth, network: .ipv6(IPv6Repr(src: s6, dst: d6, nextHeader: IPProtocol.icmpv6), [],
                                                           .icmpv6(ICMPv6Repr(type: ICMPv6Repr.echoRequest, code: 0, restOfHeader: 0x4242_0003, data: Array("ping6".utf8)))))
        XCTAssertEqual(Hex.encode(echo.emit()), Hex.encode(fx["ip6_echo_request"]!))
        let frag = FrameRepr(ethernet: eth, network: .ipv6(IPv6Repr(src: s6, dst: d6, nextHeader: IPProtocol.fragment),
                                                           [.fragment(next: IPProtocol.udp, offset: 24, more: false, ident: 0xabcd_ef01)], .raw([UInt8](repeating: 0x22, count: 10))))
        XCTAssertEqual(Hex.encode(frag.emit()), Hex.encode(fx["ip6_fragment_last"]!))
        let m1 = MACAddress(2, 0, 0, 0, 0, 1), ll = try IPv6Address(parsing: "fe80::ff:fe00:1")
        let ns = NDPRepr.neighbourSolicitation(target: d6, options: [.sourceLinkLayer(m1)])
        let nsFrame = FrameRepr(ethernet: EthernetRepr(dst: d6.solicitedNode.multicastMAC, src: m1, ethertype: EtherType.ipv6),
                                network: .ipv6(IPv6Repr(src: ll, dst: d6.solicitedNode, nextHeader: IPProtocol.icmpv6, hopLimit: 255), [], .icmpv6(ns.icmp)))
        XCTAssertEqual(Hex.encode(nsFrame.emit()), Hex.encode(fx["ip6_ns"]!))
    }

    func testIPv6AddressTextAsInetNtop() throws {
        for (text, want) in [("2001:db8:0:0:0:0:0:1", "2001:db8::1"), ("::", "::"), ("::1", "::1"), ("::ffff:198.18.0.1", "::ffff:198.18.0.1"),
                             ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"), ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"), ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"), ("fe80::ff:fe00:2", "fe80::ff:fe00:2"),
                             ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7")] {
            XCTAssertEqual(try IPv6Address(parsing: text).description, want, text)
        }
        for bad in ["1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1.2.3", "::01.2.3.4", "g::", "1:2:3:4:5:6:7::8:9", ":1::", "1"] {
            XCTAssertThrowsError(try IPv6Address(parsing: bad), bad)
        }
        let a = try IPv6Address(parsing: "2001:db8::2")
        XCTAssertEqual(a.solicitedNode.description, "ff02::1:ff00:2")
        XCTAssertEqual(a.solicitedNode.multicastMAC.description, "33:33:ff:00:00:02")
        XCTAssertEqual(try IPv6CIDR(parsing: "2001:db8:1::1/64").network.description, "2001:db8:1::")
    }

    /// Building from representations alone (checksums and lengths computed) gives Scapy's bytes.
    func testConstructedFramesMatchScapy() throws {
        let fx = Dictionary(uniqueKeysWithValues: try Self.load().map { ($0.name, $0.bytes) })
        let m1 = try MACAddress(parsing: "02:00:00:00:00:01"), m2 = try MACAddress(parsing: "02:00:00:00:ff:01")
        let a9 = IPv4Address(198, 18, 0, 9), a1 = IPv4Address(198, 18, 0, 1)
        let udp = FrameRepr(ethernet: EthernetRepr(dst: m1, src: m2, ethertype: EtherType.ipv4),
                            network: .ipv4(IPv4Repr(src: a9, dst: a1, proto: IPProtocol.udp, ident: 7, payloadLength: 0),
                                           .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [0xab, 0xcd]))))
        XCTAssertEqual(Hex.encode(udp.emit()), Hex.encode(fx["udp_dns"]!))
        let opts: [UInt8] = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7]
        let syn = FrameRepr(ethernet: EthernetRepr(dst: m1, src: m2, ethertype: EtherType.ipv4),
                            network: .ipv4(IPv4Repr(src: a9, dst: a1, proto: IPProtocol.tcp, ttl: 63, ident: 1, dontFragment: true, payloadLength: 0),
                                           .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: 1000, flags: .syn, window: 64240, options: opts))))
        XCTAssertEqual(Hex.encode(syn.emit()), Hex.encode(fx["tcp_syn_options"]!))
        let arp = FrameRepr(ethernet: EthernetRepr(dst: .broadcast, src: m2, ethertype: EtherType.arp),
                            network: .arp(ARPRepr(operation: ARPRepr.request, senderMAC: m2, senderIP: a9, targetMAC: .zero, targetIP: a1)))
        XCTAssertEqual(Hex.encode(arp.emit()), Hex.encode(fx["arp_request"]!))
        let vlan = FrameRepr(ethernet: EthernetRepr(dst: m1, src: m2, ethertype: EtherType.ipv4),
                             vlan: VLANTagRepr(pcp: 5, vid: 100, innerEthertype: EtherType.ipv4),
                             network: .ipv4(IPv4Repr(src: a9, dst: a1, proto: IPProtocol.udp, ident: 1, payloadLength: 0),
                                            .udp(UDPRepr(srcPort: 7, dstPort: 9, payload: [0x78]))))
        XCTAssertEqual(Hex.encode(vlan.emit()), Hex.encode(fx["vlan_udp"]!))
        let echo = FrameRepr(ethernet: EthernetRepr(dst: m1, src: m2, ethertype: EtherType.ipv4),
                             network: .ipv4(IPv4Repr(src: a9, dst: a1, proto: IPProtocol.icmp, ident: 1, payloadLength: 0),
                                            .icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x1234_0001, data: Array("ping".utf8) + Array("ping".utf8) + Array("ping".utf8) + Array("ping".utf8) + Array("ping".utf8) + Array("ping".utf8) + Array("ping".utf8) + Array("ping".utf8)))))
        XCTAssertEqual(Hex.encode(echo.emit()), Hex.encode(fx["icmp_echo"]!))
        let ra = FrameRepr(ethernet: EthernetRepr(dst: m1, src: m2, ethertype: EtherType.ipv4),
                           network: .ipv4(IPv4Repr(src: a9, dst: a1, proto: IPProtocol.udp, ident: 1, options: [0x94, 0x04, 0, 0], payloadLength: 0),
                                          .udp(UDPRepr(srcPort: 1, dstPort: 2))))
        XCTAssertEqual(Hex.encode(ra.emit()), Hex.encode(fx["ip_options_router_alert"]!))
    }

    func testIPv6MalformedChainsAreReported() throws {
        let fx = Dictionary(uniqueKeysWithValues: try Self.load().map { ($0.name, $0.bytes) })
        var udp6 = fx["ip6_udp"]!
        udp6[udp6.count - 1] ^= 1
        XCTAssertThrowsError(try FrameRepr.parse(udp6)) { XCTAssertEqual($0 as? WireError, .checksum) }
        var zero = fx["ip6_udp"]!
        zero[14 + 40 + 6] = 0; zero[14 + 40 + 7] = 0   // a zero UDP checksum is not "none" over IPv6
        XCTAssertThrowsError(try FrameRepr.parse(zero)) { XCTAssertEqual($0 as? WireError, .checksum) }
        var overrun = fx["ip6_hbh_padn_udp"]!
        overrun[14 + 40 + 7] = 9   // the PadN after the router alert claims more than its header holds
        XCTAssertThrowsError(try FrameRepr.parse(overrun)) { XCTAssertEqual($0 as? WireError, .malformed("option at 6 overruns its header")) }
        var long = fx["ip6_udp"]!
        long[14 + 5] = 12   // payload length beyond the frame
        XCTAssertThrowsError(try FrameRepr.parse(long)) { XCTAssertEqual($0 as? WireError, .truncated) }
        var ndZero = fx["ip6_ns"]!
        ndZero[ndZero.count - 7] = 0   // the source link-layer option's length
        let parsed = try FrameRepr.parse(ndZero, verifyChecksums: false)
        guard case .ipv6(_, _, .icmpv6(let m)) = parsed.network else { return XCTFail("not ICMPv6") }
        XCTAssertThrowsError(try NDPRepr.parse(m)) { XCTAssertEqual($0 as? WireError, .malformed("ND option of length 0")) }
    }

    func testBadChecksumsAreReportedNotTrapped() throws {
        var udp = try Self.load().first { $0.name == "udp_dns" }!.bytes
        udp[udp.count - 1] ^= 0xff
        XCTAssertThrowsError(try FrameRepr.parse(udp)) { XCTAssertEqual($0 as? WireError, .checksum) }
        XCTAssertNoThrow(try FrameRepr.parse(udp, verifyChecksums: false))
        var ip = try Self.load().first { $0.name == "udp_dns" }!.bytes
        ip[14 + 8] = 1 // TTL
        XCTAssertThrowsError(try FrameRepr.parse(ip)) { XCTAssertEqual($0 as? WireError, .checksum) }
    }
}
