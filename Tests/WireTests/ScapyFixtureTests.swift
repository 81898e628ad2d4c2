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
        XCTAssertEqual(fixtures.count, 10)
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
                }
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
