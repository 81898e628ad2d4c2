@testable import Kernel
import JSON
import NFTables
import Wire
import XCTest

/// netdev egress chains (nf_hook_egress in __dev_queue_xmit), link-layer writes, maps of MAC
/// addresses, and what a drop on the way out does to a UDP sender, as `scripts/record_netdev_egress.sh`
/// recorded them on Linux 6.18.
final class NetdevEgressTests: XCTestCase {
    static let ruleset = """
    table netdev e {
    \tmap macs {
    \t\ttype ipv4_addr : ether_addr
    \t\telements = { 198.18.0.2 : 02:00:00:00:ff:01 }
    \t}

    \tchain out {
    \t\ttype filter hook egress device "va" priority filter; policy accept;
    \t\tether type arp counter packets 0 bytes 0
    \t\tudp dport 7 counter packets 0 bytes 0 drop
    \t\tudp dport 8 ether saddr set 02:00:00:00:00:aa ether daddr set ip daddr map @macs counter packets 0 bytes 0
    \t\tudp dport 9 counter packets 0 bytes 0
    \t}
    }
    table ip f {
    \tchain o {
    \t\ttype filter hook output priority filter; policy accept;
    \t\tudp dport 5 counter packets 0 bytes 0 drop
    \t}

    \tchain p {
    \t\ttype filter hook postrouting priority filter; policy accept;
    \t\tudp dport 6 counter packets 0 bytes 0 drop
    \t}
    }

    """

    func testEgressChainsAndDropsOnTheWayOut() throws {
        var va = DeviceConfig(name: "va", mac: MACAddress(2, 0, 0, 0, 0, 1), addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        va.veth = true   // its UDP checksums leave unfinished (CHECKSUM_PARTIAL), as recorded
        let s = try Stack(config: StackConfig(name: "pa", devices: [va]))
        let rs = try NFParser.parse(Self.ruleset)
        XCTAssertEqual(NFPrinter.ruleset(rs), Self.ruleset)
        s.loadRuleset(rs)
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address: .any, port: 0x8ee4)))
        func send(_ port: UInt16) -> PacketResult { s.send([Send(socket: 1, dst: IPv4Address(198, 18, 0, 2), port: port, payload: Array("egress".utf8))])[0] }
        // The frames vb received, as recorded (the IP ID and checksum masked: the kernel's come from its hashed counters).
        func masked(_ f: [UInt8]) -> String { var f = f; if f.count > 25 { f[18] = 0; f[19] = 0; f[24] = 0; f[25] = 0 }; return Hex.encode(f) }
        func recorded(_ hex: String) throws -> String { masked(try Hex.decode(hex)) }
        let nine = send(9)
        XCTAssertEqual(nine.emitted.map { Hex.encode($0.frame) }, ["ffffffffffff02000000000108060001080006040001020000000001c6120001000000000000c6120002"])
        let reply = s.inject(frame: try Hex.decode("02000000000102000000ff010806000108000604000202000000ff01c6120002020000000001c6120001"), device: s.devices[0])
        XCTAssertEqual(reply.emitted.map { masked($0.frame) }, [try recorded("02000000ff01020000000001080045000022d46040004011da42c6120001c61200028ee40009000e8c47656772657373")])
        let seven = send(7)
        XCTAssertEqual(seven.emitted.count, 0)
        XCTAssertEqual(seven.dropReason, .NETFILTER_DROP)
        XCTAssertNil(seven.errno, "NET_XMIT_DROP is ENOBUFS, a success without IP_RECVERR")
        let eight = send(8)
        XCTAssertEqual(eight.emitted.map { masked($0.frame) }, [try recorded("02000000ff010200000000aa080045000022d4e440004011d9bec6120001c61200028ee40008000e8c47656772657373")])
        XCTAssertEqual([send(5).errno, send(6).errno], ["EPERM", "EPERM"])
        XCTAssertEqual(s.listRuleset(handles: false), Self.ruleset
            .replacingOccurrences(of: "arp counter packets 0 bytes 0", with: "arp counter packets 1 bytes 42")
            .replacingOccurrences(of: "packets 0 bytes 0 drop\n\t\tudp dport 8", with: "packets 1 bytes 48 drop\n\t\tudp dport 8")
            .replacingOccurrences(of: "@macs counter packets 0 bytes 0", with: "@macs counter packets 1 bytes 48")
            .replacingOccurrences(of: "udp dport 9 counter packets 0 bytes 0", with: "udp dport 9 counter packets 1 bytes 48")
            .replacingOccurrences(of: "udp dport 5 counter packets 0 bytes 0", with: "udp dport 5 counter packets 1 bytes 34")
            .replacingOccurrences(of: "udp dport 6 counter packets 0 bytes 0", with: "udp dport 6 counter packets 1 bytes 34"))
        XCTAssertEqual([s.snmp.ip.OutRequests, s.snmp.ip.OutDiscards, s.snmp.udp.OutDatagrams, s.snmp.udp.SndbufErrors], [5, 3, 2, 1])
        // The device counts nothing for the drop (tx_dropped 0), and sends what left it.
        XCTAssertEqual([s.devices[0].stats.tx_packets, s.devices[0].stats.tx_dropped], [3, 0])
    }

    /// `dup to "vd"` in an ingress and an egress chain (scripts/record_dup_netdev.sh): the frame as it
    /// came out of vd, kb's port unreachables out of vb and, copied with the MAC header built for vb,
    /// out of vd; the counters count the egress frames with their MAC header.
    func testDupToADeviceInIngressAndEgress() throws {
        var vb = DeviceConfig(name: "vb", mac: MACAddress(2, 0, 0, 0, 0, 1), addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        var vd = DeviceConfig(name: "vd", mac: MACAddress(2, 0, 0, 0, 0x0d, 1))
        vb.veth = true; vd.veth = true
        let s = try Stack(config: StackConfig(name: "kb", devices: [vb, vd],
                                              neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, 9), mac: MACAddress(2, 0, 0, 0, 0, 9), dev: "vb")]))
        let ruleset = """
        table netdev t {
        \tchain in {
        \t\ttype filter hook ingress device "vb" priority filter; policy accept;
        \t\tudp sport 1001 counter packets 0 bytes 0 dup to "vd"
        \t}

        \tchain out {
        \t\ttype filter hook egress device "vb" priority filter; policy accept;
        \t\ticmp type destination-unreachable counter packets 0 bytes 0 dup to "vd"
        \t}
        }

        """
        let rs = try NFParser.parse(ruleset)
        XCTAssertEqual(NFPrinter.ruleset(rs), ruleset)
        XCTAssertTrue(NFJSON.encode(rs).rendered().contains(#"{"dup":{"addr":"vd"}}"#), "nft -j names the device as the address")
        s.loadRuleset(rs)
        // IP ID and header checksum masked (the kernel's come from its hashed counters).
        func masked(_ f: [UInt8]) -> String { var f = f; f[18] = 0; f[19] = 0; f[24] = 0; f[25] = 0; return Hex.encode(f) }
        let sent = ["02000000000102000000000908004500001f03e900004011eab6c6120009c612000103e90009000b9b41647570",
                    "02000000000102000000000908004500001f03ea00004011eab5c6120009c612000103ea0009000b9b40647570"]
        let unreach = ["020000000009020000000001080045c0003b7f33000040016ea0c6120001c612000903038948000000004500001f03e900004011eab6c6120009c612000103e90009000b9b41647570",
                       "020000000009020000000001080045c0003b7f64000040016e6fc6120001c612000903038948000000004500001f03ea00004011eab5c6120009c612000103ea0009000b9b40647570"]
        var out: [String] = []
        for (k, hex) in sent.enumerated() {
            let r = s.inject([Injection(device: 0, frame: try Hex.decode(hex), atNs: UInt64(k) * 300_000_000)])[0]
            out += r.emitted.map { "\($0.device) \($0.device == "vd" && $0.frame.count == 45 ? Hex.encode($0.frame) : masked($0.frame))" }
        }
        // What vc and va received, in the kernel's order (the egress copy leaves before the original).
        XCTAssertEqual(out, ["vd " + sent[0], "vd " + masked(try Hex.decode(unreach[0])), "vb " + masked(try Hex.decode(unreach[0])),
                             "vd " + masked(try Hex.decode(unreach[1])), "vb " + masked(try Hex.decode(unreach[1]))])
        XCTAssertEqual(s.listRuleset(handles: false), ruleset.replacingOccurrences(of: "1001 counter packets 0 bytes 0", with: "1001 counter packets 1 bytes 31")
            .replacingOccurrences(of: "destination-unreachable counter packets 0 bytes 0", with: "destination-unreachable counter packets 2 bytes 146"))
    }

    /// arp fields in netdev chains (scripts/record_arp_netdev.sh): an ARP request for kb and a
    /// gratuitous reply in, kb's reply out; the counters and the listing as the kernel's, and the
    /// rules in nft -j's words.
    func testARPFieldsInNetdevChains() throws {
        let s = try Stack(config: StackConfig(name: "kb", devices: [DeviceConfig(name: "vb", mac: MACAddress(2, 0, 0, 0, 0, 1),
                                                                                  addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])]))
        let listed = """
        table netdev t {
        \tchain in {
        \t\ttype filter hook ingress device "vb" priority filter; policy accept;
        \t\tarp operation request counter packets 1 bytes 28
        \t\tarp htype 1 arp ptype ip arp hlen 6 arp plen 4 counter packets 2 bytes 56
        \t\tarp saddr ip 198.18.0.9 counter packets 2 bytes 56
        \t\tarp daddr ip 198.18.0.1 arp operation request counter packets 1 bytes 28
        \t\tarp saddr ether 02:00:00:00:00:09 counter packets 2 bytes 56
        \t\tarp daddr ether 00:00:00:00:00:00 counter packets 1 bytes 28
        \t\tarp operation reply counter packets 1 bytes 28
        \t\tarp operation { request, reply } counter packets 2 bytes 56
        \t\tmeta protocol arp counter packets 2 bytes 56
        \t}

        \tchain out {
        \t\ttype filter hook egress device "vb" priority filter; policy accept;
        \t\tarp operation reply arp saddr ip 198.18.0.1 arp daddr ether 02:00:00:00:00:09 counter packets 1 bytes 42
        \t}
        }

        """
        let rs = try NFParser.parse(listed.replacingOccurrences(of: #"counter packets [0-9]+ bytes [0-9]+"#, with: "counter", options: .regularExpression))
        s.loadRuleset(rs)
        let json = NFJSON.encode(rs).rendered()
        for object in [#"{"match":{"op":"==","left":{"payload":{"protocol":"arp","field":"saddr ip"}},"right":"198.18.0.9"}}"#,
                       #"{"match":{"op":"==","left":{"payload":{"protocol":"arp","field":"ptype"}},"right":"ip"}}"#,
                       #"{"match":{"op":"==","left":{"payload":{"protocol":"arp","field":"operation"}},"right":{"set":["request","reply"]}}}"#,
                       #"{"match":{"op":"==","left":{"payload":{"protocol":"arp","field":"daddr ether"}},"right":"02:00:00:00:00:09"}}"#] {
            XCTAssertTrue(json.contains(object), object)
        }
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(json))), NFPrinter.ruleset(rs))
        let request = "ffffffffffff02000000000908060001080006040001020000000009c6120009000000000000c6120001"
        let gratuitous = "ffffffffffff02000000000908060001080006040002020000000009c6120009ffffffffffffc6120009"
        let r = s.inject([Injection(device: 0, frame: try Hex.decode(request), atNs: 0)])[0]
        XCTAssertEqual(r.emitted.map { Hex.encode($0.frame) }, ["02000000000902000000000108060001080006040002020000000001c6120001020000000009c6120009"])
        _ = s.inject([Injection(device: 0, frame: try Hex.decode(gratuitous), atNs: 300_000_000)])
        XCTAssertEqual(s.listRuleset(handles: false), listed)
    }
}
