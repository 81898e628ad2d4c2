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
}
