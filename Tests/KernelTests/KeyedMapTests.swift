@testable import Kernel
import NFTables
import Wire
import XCTest

/// Named and anonymous maps keyed by an interface name and by concatenations (packed into one
/// word, and wider: an address and a name), as `scripts/record_keyed_maps.sh` recorded them on
/// Linux 6.18: two datagrams (to ports 53 and 54) set a mark from a map keyed by iifname and pass
/// counter maps of every such key. Before, a lone name as a named map's key never found its
/// element (the mark and c1 stayed at 0) and a counter map with a concatenated key was a syntax
/// error.
final class KeyedMapTests: XCTestCase {
    static let ruleset = """
    table ip t {
    \tcounter c1 {
    \t\tpackets 0 bytes 0
    \t}

    \tcounter c2 {
    \t\tpackets 0 bytes 0
    \t}

    \tcounter c3 {
    \t\tpackets 0 bytes 0
    \t}

    \tmap m {
    \t\ttype ifname : mark
    \t\telements = { "vb" : 0x00000005 }
    \t}

    \tmap o {
    \t\ttype ifname : counter
    \t\telements = { "vb" : "c1" }
    \t}

    \tmap cc {
    \t\ttype ipv4_addr . inet_service : counter
    \t\telements = { 198.18.0.9 . 53 : "c2" }
    \t}

    \tmap wide {
    \t\ttype ipv4_addr . ifname : counter
    \t\telements = { 198.18.0.9 . "vb" : "c3" }
    \t}

    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tmeta mark set iifname map @m
    \t\tmeta mark 0x00000005 counter packets 0 bytes 0
    \t\tcounter name iifname map @o
    \t\tcounter name iifname map { "vb" : "c1" }
    \t\tcounter name ip saddr . udp dport map @cc
    \t\tcounter name ip saddr . udp dport map { 198.18.0.9 . 53 : "c2", 198.18.0.9 . 54 : "c1" }
    \t\tcounter name ip saddr . iifname map @wide
    \t}
    }

    """

    func testMapsKeyedByNamesAndConcatenationsAsRecorded() throws {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        for port: UInt16 in [53, 54] {
            _ = s.inject(frame: frame(ident: port, .udp(UDPRepr(srcPort: 1000, dstPort: port, payload: Array("map".utf8)))), device: s.devices[0])
        }
        // The recorded listing: c1 5 packets (its named and anonymous name maps twice each, port
        // 54's tuple once), c2 and c3 two, the mark's counter two; 31 bytes a datagram.
        XCTAssertEqual(s.listRuleset(handles: false), Self.ruleset
            .replacingOccurrences(of: "c1 {\n\t\tpackets 0 bytes 0", with: "c1 {\n\t\tpackets 5 bytes 155")
            .replacingOccurrences(of: "c2 {\n\t\tpackets 0 bytes 0", with: "c2 {\n\t\tpackets 2 bytes 62")
            .replacingOccurrences(of: "c3 {\n\t\tpackets 0 bytes 0", with: "c3 {\n\t\tpackets 2 bytes 62")
            .replacingOccurrences(of: "0x00000005 counter packets 0 bytes 0", with: "0x00000005 counter packets 2 bytes 62"))
    }

    /// Table u of the recording: interface indexes (a set of them, listed in ifindex order, and
    /// maps keyed by them), a verdict map keyed by iifname (which never found its element before)
    /// and a NAT map keyed by iifname (a syntax error before), port 54's datagram NATed to 5353.
    func testInterfaceIndexesAndNameKeyedVerdictAndNATMapsAsRecorded() throws {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        XCTAssertEqual(s.interfaceOrder, ["lo", "vb"])
        s.loadRuleset(try NFParser.parse("""
        table ip u {
        \tcounter c4 { }
        \tset s { type iface_index; elements = { "vb", "lo" } }
        \tmap v { type ifname : verdict; elements = { "vb" : jump x } }
        \tmap vi { type iface_index : verdict; elements = { "vb" : jump x } }
        \tmap mm { type iface_index : mark; elements = { "vb" : 7 } }
        \tmap o { type iface_index : counter; elements = { "vb" : "c4" } }
        \tchain x { counter; }
        \tchain c {
        \t\ttype filter hook prerouting priority 10; policy accept;
        \t\tiifname vmap @v
        \t\tiif vmap @vi
        \t\tiif @s counter
        \t\tmeta mark set iif map @mm
        \t\tmeta mark 7 counter
        \t\tcounter name iif map @o
        \t}
        \tchain n {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tudp dport 54 dnat to iifname map { "vb" : 198.18.0.1 . 5353 }
        \t}
        \tchain i {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tct status dnat counter
        \t}
        }
        """, interfaces: s.interfaceOrder))
        var unreachables: [String] = []
        for port: UInt16 in [53, 54] {
            let r = s.inject(frame: frame(ident: port, .udp(UDPRepr(srcPort: 1000, dstPort: port, payload: Array("map".utf8)))), device: s.devices[0])
            // The port unreachable from the MAC header's type on, its IP ID and header checksum
            // (the kernel's hashed ID) masked.
            var f = try XCTUnwrap(r.emitted.first { $0.device == "vb" }).frame
            f[18] = 0; f[19] = 0; f[24] = 0; f[25] = 0
            unreachables.append(f[12...].map { String(format: "%02x", $0) }.joined())
        }
        // As recorded: port 54's quotes the datagram as ka sent it (NAT undone in POSTROUTING:
        // nf_nat_icmp_reply_translation), not as the socket lookup saw it (to 5353).
        XCTAssertEqual(unreachables, [
            "080045c0003b000000004001" + "0000c6120001c612000903038948000000004500001f003500004011ee6ac6120009c612000103e80035000b922a6d6170",
            "080045c0003b000000004001" + "0000c6120001c612000903038948000000004500001f003600004011ee69c6120009c612000103e80036000b92296d6170"])
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip u {
        \tcounter c4 {
        \t\tpackets 2 bytes 62
        \t}

        \tset s {
        \t\ttype iface_index
        \t\telements = { "lo", "vb" }
        \t}

        \tmap v {
        \t\ttype ifname : verdict
        \t\telements = { "vb" : jump x }
        \t}

        \tmap vi {
        \t\ttype iface_index : verdict
        \t\telements = { "vb" : jump x }
        \t}

        \tmap mm {
        \t\ttype iface_index : mark
        \t\telements = { "vb" : 0x00000007 }
        \t}

        \tmap o {
        \t\ttype iface_index : counter
        \t\telements = { "vb" : "c4" }
        \t}

        \tchain x {
        \t\tcounter packets 4 bytes 124
        \t}

        \tchain c {
        \t\ttype filter hook prerouting priority filter + 10; policy accept;
        \t\tiifname vmap @v
        \t\tiif vmap @vi
        \t\tiif @s counter packets 2 bytes 62
        \t\tmeta mark set iif map @mm
        \t\tmeta mark 0x00000007 counter packets 2 bytes 62
        \t\tcounter name iif map @o
        \t}

        \tchain n {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tudp dport 54 dnat ip to iifname map { "vb" : 198.18.0.1 . 5353 }
        \t}

        \tchain i {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tct status dnat counter packets 1 bytes 31
        \t}
        }

        """)
    }
}
