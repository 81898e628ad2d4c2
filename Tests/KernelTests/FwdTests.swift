@testable import Kernel
import JSON
import NFTables
import Wire
import XCTest

/// nft's `fwd` in a netdev ingress chain, as `scripts/record_fwd.sh` recorded it on Linux 6.18:
/// `fwd to "vd"` sends the frame out of vd as it came; `fwd ip to 198.18.1.2 device "vd"` asks
/// ARP for the neighbour and sends the datagram to it one hop less (TTL 63, checksum fixed);
/// a device that is gone frees the packet. Each rule's counter counts the IP length (31 bytes).
final class FwdTests: XCTestCase {
    func testFwdSendsOutOfAnotherDeviceOrToANeighbour() throws {
        let vb = try MACAddress(parsing: "32:6c:21:60:51:be"), vd = try MACAddress(parsing: "8e:7c:6a:ae:69:ff")
        let vc = try MACAddress(parsing: "e6:d5:5d:68:86:73"), ka = MACAddress(2, 0, 0, 0, 0, 9)
        let s = try Stack(config: StackConfig(name: "kb", devices: [
            DeviceConfig(name: "vb", mac: vb, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
            DeviceConfig(name: "vd", mac: vd, addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")]),
        ]))
        s.loadRuleset(try NFParser.parse("""
        table netdev t {
          chain c { type filter hook ingress device "vb" priority 0;
            udp sport 1001 counter fwd to "vd"
            udp sport 1002 counter fwd ip to 198.18.1.2 device "vd"
            udp sport 1003 counter fwd to "vd2"
          }
        }
        """))
        func datagram(_ sport: UInt16) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: vb, src: ka, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, ttl: 64, ident: sport, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: sport, dstPort: 9, payload: Array("fwd".utf8))))).emit()
        }
        let hex = { (f: [UInt8]) in f.map { String(format: "%02x", $0) }.joined() }
        let whole = s.inject(frame: datagram(1001), device: s.devices[0])
        XCTAssertEqual(whole.emitted.map { "\($0.device) " + hex($0.frame) }, ["vd 326c216051be02000000000908004500001f03e900004011eab6c6120009c612000103e90009000ba53f667764"])
        XCTAssertEqual(whole.nfEvents.last?.verdict, "stolen")
        let neigh = s.inject(frame: datagram(1002), device: s.devices[0])
        XCTAssertEqual(neigh.emitted.map { "\($0.device) " + hex($0.frame) }, ["vd ffffffffffff8e7c6aae69ff080600010800060400018e7c6aae69ffc6120101000000000000c6120102"])
        let reply = FrameRepr(ethernet: EthernetRepr(dst: vd, src: vc, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: 2, senderMAC: vc, senderIP: IPv4Address(198, 18, 1, 2), targetMAC: vd, targetIP: IPv4Address(198, 18, 1, 1)))).emit()
        let queued = s.inject(frame: reply, device: s.devices[1])
        XCTAssertEqual(queued.emitted.map { "\($0.device) " + hex($0.frame) }, ["vd e6d55d6886738e7c6aae69ff08004500001f03ea00003f11ebb5c6120009c612000103ea0009000ba53e667764"])
        let gone = s.inject(frame: datagram(1003), device: s.devices[0])
        XCTAssertEqual(["\(gone.outcome)", gone.dropReason.map { "\($0)" } ?? "-", "\(gone.emitted.count)"], ["dropped", "NOT_SPECIFIED", "0"])
        let listing = s.listRuleset(handles: false)
        for rule in ["udp sport 1001 counter packets 1 bytes 31 fwd to \"vd\"", "udp sport 1002 counter packets 1 bytes 31 fwd ip to 198.18.1.2 device \"vd\"",
                     "udp sport 1003 counter packets 1 bytes 31 fwd to \"vd2\""] {
            XCTAssertTrue(listing.contains(rule), listing)
        }
        XCTAssertThrowsError(try NFParser.parse("table ip t { chain c { type filter hook input priority 0; fwd to \"vd\"\n }\n}")) { e in
            XCTAssertEqual((e as? NFSyntaxError)?.message, "unsupported family")
        }
    }
}

/// kb of scripts/record_vlan_set.sh and record_fwd_map.sh: vb (02:00:00:00:00:01, 198.18.0.1/24)
/// facing ka (02:00:00:00:00:09, 198.18.0.9), and vd (02:00:00:00:0d:01) toward kc; the ruleset
/// as listed (counters read off the kernel) loaded without its counters.
private func recordedKB(_ rules: String) throws -> Stack {
    let s = try Stack(config: StackConfig(name: "kb", devices: [
        DeviceConfig(name: "vb", mac: MACAddress(2, 0, 0, 0, 0, 1), addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
        DeviceConfig(name: "vd", mac: MACAddress(2, 0, 0, 0, 0x0d, 1), addresses: []),
    ], neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, 9), mac: MACAddress(2, 0, 0, 0, 0, 9), dev: "vb")]))
    s.loadRuleset(try NFParser.parse(rules.replacingOccurrences(of: #" counter packets [0-9]+ bytes [0-9]+"#, with: " counter", options: .regularExpression)))
    return s
}

/// A UDP datagram from ka to kb (IP id = source port, as the scripts' scapy sent them), tagged or not.
private func kaDatagram(sport: UInt16, dport: UInt16, ident: UInt16, payload: String, vlan: VLANTagRepr? = nil) -> [UInt8] {
    FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 1), src: MACAddress(2, 0, 0, 0, 0, 9), ethertype: EtherType.ipv4), vlan: vlan,
              network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, ttl: 64, ident: ident, payloadLength: 0),
                             .udp(UDPRepr(srcPort: sport, dstPort: dport, payload: Array(payload.utf8))))).emit()
}

/// VLAN header writes in a netdev ingress chain, as scripts/record_vlan_set.sh recorded them on
/// Linux 6.18: the tag is still the skb's there (vlan_tci), and nft_payload_set_vlan takes whole
/// words of it: `vlan id set` rewrites the TCI (the PCP kept), `ether type set` the TPID, `vlan
/// type set` the frame's own ether type past the tag; `vlan pcp|dei set` write part of the TCI and
/// break the rule (the counter after it counts); the frame is still PACKET_HOST there (recorded
/// with the pkttype rules added: vlan_do_receive makes it someone else's only after the ingress
/// hooks). Every frame vd sent, byte for byte.
final class VLANWriteTests: XCTestCase {
    func testVLANFieldsWrittenAsTheKernelWritesThem() throws {
        let rules = """
        table netdev t {
        \tchain in {
        \t\ttype filter hook ingress device "vb" priority filter; policy accept;
        \t\tvlan id 10 vlan id set 20 fwd to "vd"
        \t\tvlan id 11 vlan pcp set 5 fwd to "vd"
        \t\tvlan id 11 counter packets 1 bytes 29
        \t\tvlan id 12 vlan type set ip6 fwd to "vd"
        \t\tvlan id 13 ether type set 8021ad fwd to "vd"
        \t\tvlan id 14 vlan dei set 1 fwd to "vd"
        \t\tvlan id 14 counter packets 1 bytes 29
        \t\tvlan id 15 meta pkttype host counter packets 1 bytes 29
        \t\tvlan id 15 meta pkttype other counter packets 0 bytes 0
        \t\tvlan id 15 ether saddr set 02:00:00:00:00:77 fwd to "vd"
        \t}
        }

        """
        let s = try recordedKB(rules)
        var out: [String] = []
        for vid: UInt16 in 10...15 {
            let frame = kaDatagram(sport: 1000 + vid, dport: 9, ident: vid, payload: "v", vlan: VLANTagRepr(pcp: 1, vid: vid, innerEthertype: EtherType.ipv4))
            out += s.inject(frame: frame, device: s.devices[0]).emitted.map { "\($0.device) " + Hex.encode($0.frame) }
        }
        XCTAssertEqual(out, ["vd 0200000000010200000000098100201408004500001d000a00004011ee97c6120009c612000103f200090009f9b176",
                             "vd 0200000000010200000000098100200c86dd4500001d000c00004011ee95c6120009c612000103f400090009f9af76",
                             "vd 02000000000102000000000988a8200d08004500001d000d00004011ee94c6120009c612000103f500090009f9ae76",
                             "vd 0200000000010200000000778100200f08004500001d000f00004011ee92c6120009c612000103f700090009f9ac76"])
        XCTAssertEqual(s.listRuleset(handles: false), rules)
    }
}

/// `fwd to KEY map { K : "DEVICE" }` and `dup to KEY map { ... }` in a netdev ingress chain, as
/// scripts/record_fwd_map.sh recorded them on Linux 6.18: the device the packet's key finds gets
/// the frame (fwd: instead of the stack; dup: a copy, the original goes on); a key without an
/// element breaks the rule. The frames out of vd byte for byte, kb's port unreachables (their IP
/// id and checksum masked: the kernel's), the counters, the listing and nft -j's form.
final class FwdMapTests: XCTestCase {
    func testDevicesFromAnonymousMaps() throws {
        let rules = """
        table netdev t {
        \tchain in {
        \t\ttype filter hook ingress device "vb" priority filter; policy accept;
        \t\tudp dport 9 fwd to udp sport map { 1001 : "vd", 1005 : "vd" }
        \t\tudp dport 9 counter packets 1 bytes 31
        \t\tudp dport 10 dup to udp sport map { 1003 : "vd" }
        \t\tudp dport 10 counter packets 2 bytes 62
        \t}
        }

        """
        let s = try recordedKB(rules)
        let rs = s.liveRuleset
        /// The IP id and header checksum of kb's own ICMP messages masked (the kernel drew its ids).
        func masked(_ f: [UInt8]) -> String { var f = f; if f.count > 34, f[23] == 1 { f[18] = 0; f[19] = 0; f[24] = 0; f[25] = 0 }; return Hex.encode(f) }
        var out: [String] = []
        for (sport, dport): (UInt16, UInt16) in [(1001, 9), (1002, 9), (1003, 10), (1004, 10)] {
            out += s.inject(frame: kaDatagram(sport: sport, dport: dport, ident: sport, payload: "map"), device: s.devices[0]).emitted.map { "\($0.device) " + masked($0.frame) }
        }
        XCTAssertEqual(out, ["vd 02000000000102000000000908004500001f03e900004011eab6c6120009c612000103e90009000b92556d6170",
                             "vb 020000000009020000000001080045c0003b0000000040010000c6120001c612000903038948000000004500001f03ea00004011eab5c6120009c612000103ea0009000b92546d6170",
                             "vd 02000000000102000000000908004500001f03eb00004011eab4c6120009c612000103eb000a000b92526d6170",
                             "vb 020000000009020000000001080045c0003b0000000040010000c6120001c612000903038948000000004500001f03eb00004011eab4c6120009c612000103eb000a000b92526d6170",
                             "vb 020000000009020000000001080045c0003b0000000040010000c6120001c612000903038948000000004500001f03ec00004011eab3c6120009c612000103ec000a000b92516d6170"])
        XCTAssertEqual(s.listRuleset(handles: false), rules)
        guard case .array(let items) = NFJSON.encode(s.liveRuleset)["nftables"] ?? .null else { return XCTFail("no nft -j form") }
        XCTAssertEqual(items.compactMap { $0["rule"]?["expr"]?.rendered() }.filter { !$0.contains("counter") }, [
            #"[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":9}},{"fwd":{"dev":{"map":{"key":{"payload":{"protocol":"udp","field":"sport"}},"data":{"set":[[1001,"vd"],[1005,"vd"]]}}}}}]"#,
            #"[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":10}},{"dup":{"addr":{"map":{"key":{"payload":{"protocol":"udp","field":"sport"}},"data":{"set":[[1003,"vd"]]}}}}}]"#])
        // nft -j's form reads back.
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(rs).rendered()))), NFPrinter.ruleset(rs))
    }
}
