@testable import Kernel
import JSON
import NFTables
import Wire
import XCTest

/// Maps rules add to (`add|update @m { KEY : DATA }`, nft_dynset with data) and map elements
/// that expire, as `scripts/record_dynmap.sh` recorded them on Linux 6.18: eight datagrams from
/// four sources at set times after the load. An element a rule makes takes the rule's data (a
/// value, `meta mark`, `ip daddr`); one already there keeps its own (port 54's update of .9 left
/// 0x1); an expired element is found by no lookup, in static maps too (s's and v's .7 at 3.5 s). Before,
/// rules that add to a map were refused, and a map's expired element went on being found (the mark
/// 7 counter and chain x counted 2).
final class DynamicMapTests: XCTestCase {
    static let ruleset = """
    table ip t {
    \tmap d { type ipv4_addr : mark; flags dynamic,timeout; timeout 2s; }
    \tmap s { type ipv4_addr : mark; flags timeout; elements = { 198.18.0.7 timeout 3s : 0x7 } }
    \tmap c { type ipv4_addr . inet_service : mark; flags dynamic; }
    \tmap e { type ipv4_addr : mark; size 2; flags dynamic; }
    \tmap n { type ipv4_addr : ipv4_addr; flags dynamic; }
    \tmap v { type ipv4_addr : verdict; flags timeout; elements = { 198.18.0.7 timeout 3s : jump x } }
    \tchain x {
    \t\tcounter
    \t}
    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tudp dport 53 add @d { ip saddr : 0x1 }
    \t\tudp dport 54 update @d { ip saddr : 0x2 }
    \t\tudp dport 56 update @d { ip saddr timeout 5s : 0x3 }
    \t\tmeta mark set ip saddr map @d
    \t\tmeta mark 1 counter
    \t\tmeta mark 2 counter
    \t\tmeta mark 3 counter
    \t\tmeta mark set 0
    \t\tmeta mark set ip saddr map @s
    \t\tmeta mark 7 counter
    \t\tadd @c { ip saddr . udp dport : 0x9 }
    \t\tmeta mark set ip saddr . udp dport map @c
    \t\tmeta mark 9 counter
    \t\tupdate @e { ip saddr : meta mark }
    \t\tmeta mark set ip saddr map @e
    \t\tcounter
    \t\tadd @n { ip saddr : ip daddr }
    \t\tip daddr set ip saddr map @n counter
    \t\tip saddr vmap @v
    \t}
    }
    """

    /// `nft list ruleset` on the kernel after the last datagram (its times left vary: masked).
    static let recorded = """
    table ip t {
    \tmap d {
    \t\ttype ipv4_addr : mark
    \t\tsize 65535
    \t\tflags dynamic,timeout
    \t\ttimeout 2s
    \t\telements = { 198.18.0.9 expires 1s196ms : 0x00000001, 198.18.0.11 timeout 5s expires 4s296ms : 0x00000003 }
    \t}

    \tmap s {
    \t\ttype ipv4_addr : mark
    \t\tflags timeout
    \t}

    \tmap c {
    \t\ttype ipv4_addr . inet_service : mark
    \t\tsize 65535
    \t\tflags dynamic
    \t\telements = { 198.18.0.7 . 53 : 0x00000009,
    \t\t\t     198.18.0.9 . 53 : 0x00000009,
    \t\t\t     198.18.0.9 . 54 : 0x00000009,
    \t\t\t     198.18.0.10 . 54 : 0x00000009,
    \t\t\t     198.18.0.7 . 55 : 0x00000009,
    \t\t\t     198.18.0.10 . 55 : 0x00000009,
    \t\t\t     198.18.0.11 . 56 : 0x00000009 }
    \t}

    \tmap e {
    \t\ttype ipv4_addr : mark
    \t\tsize 2
    \t\tflags dynamic
    \t\telements = { 198.18.0.9 : 0x00000009, 198.18.0.10 : 0x00000009 }
    \t}

    \tmap n {
    \t\ttype ipv4_addr : ipv4_addr
    \t\tsize 65535
    \t\tflags dynamic
    \t\telements = { 198.18.0.7 : 198.18.0.1, 198.18.0.9 : 198.18.0.1,
    \t\t\t     198.18.0.10 : 198.18.0.1, 198.18.0.11 : 198.18.0.1 }
    \t}

    \tmap v {
    \t\ttype ipv4_addr : verdict
    \t\tflags timeout
    \t}

    \tchain x {
    \t\tcounter packets 1 bytes 31
    \t}

    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tudp dport 53 add @d { ip saddr : 0x00000001 }
    \t\tudp dport 54 update @d { ip saddr : 0x00000002 }
    \t\tudp dport 56 update @d { ip saddr timeout 5s : 0x00000003 }
    \t\tmeta mark set ip saddr map @d
    \t\tmeta mark 0x00000001 counter packets 4 bytes 124
    \t\tmeta mark 0x00000002 counter packets 1 bytes 31
    \t\tmeta mark 0x00000003 counter packets 1 bytes 31
    \t\tmeta mark set 0x00000000
    \t\tmeta mark set ip saddr map @s
    \t\tmeta mark 0x00000007 counter packets 1 bytes 31
    \t\tadd @c { ip saddr . udp dport : 0x00000009 }
    \t\tmeta mark set ip saddr . udp dport map @c
    \t\tmeta mark 0x00000009 counter packets 8 bytes 248
    \t\tupdate @e { ip saddr : meta mark }
    \t\tmeta mark set ip saddr map @e
    \t\tcounter packets 8 bytes 248
    \t\tadd @n { ip saddr : ip daddr }
    \t\tip daddr set ip saddr map @n counter packets 8 bytes 248
    \t\tip saddr vmap @v
    \t}
    }

    """

    /// (source, destination port, seconds after the load) as the recording sent them.
    static let plan: [(UInt8, UInt16, Double)] = [(9, 53, 0.0), (9, 54, 0.2), (10, 54, 0.4), (7, 53, 0.6), (10, 55, 2.8), (9, 53, 2.9), (11, 56, 3.0), (7, 55, 3.5)]

    static func masked(_ listing: String) -> String {
        listing.replacingOccurrences(of: #" expires [0-9a-z]+"#, with: " expires X", options: .regularExpression)
    }

    func makeStack() throws -> Stack {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        return s
    }

    func datagram(_ src: UInt8, _ dport: UInt16) -> [UInt8] {
        frame(src: IPv4Address(198, 18, 0, src), ident: dport, .udp(UDPRepr(srcPort: 1000, dstPort: dport, payload: Array("map".utf8))))
    }

    func testMapsRulesAddToAndElementsThatExpireAsRecorded() throws {
        let s = try makeStack()
        let t0 = s.clockNs
        for (src, dport, at) in Self.plan {
            _ = s.inject(frame: datagram(src, dport), device: s.devices[0], atNs: t0 + UInt64(at * 1e9))
        }
        XCTAssertEqual(Self.masked(s.listRuleset(handles: false)), Self.masked(Self.recorded))
        // The times left at 3.5 s, exactly: .9 added at 2.9 s for 2 s, .11 at 3.0 s for its own 5 s.
        XCTAssertTrue(s.listRuleset(handles: false).contains("198.18.0.9 expires 1s400ms : 0x00000001, 198.18.0.11 timeout 5s expires 4s500ms : 0x00000003"))
        // nft -j writes a map statement as its text (1.0.6 has no JSON form for it).
        guard case .array(let items) = NFJSON.encode(s.liveRuleset, counters: s.countersByTable)["nftables"] ?? .null else { return XCTFail("no nft -j form") }
        XCTAssertEqual(items.compactMap { $0["rule"]?["expr"]?.rendered() }, [
            #"[{"counter":{"packets":1,"bytes":31}}]"#,
            #"[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":53}},"add @d { ip saddr : 0x00000001 }"]"#,
            #"[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":54}},"update @d { ip saddr : 0x00000002 }"]"#,
            #"[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":56}},"update @d { ip saddr timeout 5s : 0x00000003 }"]"#,
            #"[{"mangle":{"key":{"meta":{"key":"mark"}},"value":{"map":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@d"}}}}]"#,
            #"[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":1}},{"counter":{"packets":4,"bytes":124}}]"#,
            #"[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":2}},{"counter":{"packets":1,"bytes":31}}]"#,
            #"[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":3}},{"counter":{"packets":1,"bytes":31}}]"#,
            #"[{"mangle":{"key":{"meta":{"key":"mark"}},"value":0}}]"#,
            #"[{"mangle":{"key":{"meta":{"key":"mark"}},"value":{"map":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@s"}}}}]"#,
            #"[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":7}},{"counter":{"packets":1,"bytes":31}}]"#,
            #"["add @c { ip saddr . udp dport : 0x00000009 }"]"#,
            #"[{"mangle":{"key":{"meta":{"key":"mark"}},"value":{"map":{"key":{"concat":[{"payload":{"protocol":"ip","field":"saddr"}},{"payload":{"protocol":"udp","field":"dport"}}]},"data":"@c"}}}}]"#,
            #"[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":9}},{"counter":{"packets":8,"bytes":248}}]"#,
            #"["update @e { ip saddr : meta mark }"]"#,
            #"[{"mangle":{"key":{"meta":{"key":"mark"}},"value":{"map":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@e"}}}}]"#,
            #"[{"counter":{"packets":8,"bytes":248}}]"#,
            #"["add @n { ip saddr : ip daddr }"]"#,
            #"[{"mangle":{"key":{"payload":{"protocol":"ip","field":"daddr"}},"value":{"map":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@n"}}}},{"counter":{"packets":8,"bytes":248}}]"#,
            #"[{"vmap":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@v"}}]"#])

        // A restart keeps what rules added, data and times left included, and lookups go on.
        let t = try makeStack()
        t.advance(toNs: s.clockNs)
        t.loadRuleset(try NFParser.parse(s.checkpointRuleset(), checkpoint: true))
        XCTAssertEqual(t.listRuleset(handles: false), s.listRuleset(handles: false))
        _ = t.inject(frame: datagram(9, 55), device: t.devices[0], atNs: t0 + 3_600_000_000)
        XCTAssertTrue(t.listRuleset(handles: false).contains("meta mark 0x00000001 counter packets 5 bytes 155"))
        // .9 expires at 4.9 s: at 5 s no element gives the mark (the rule breaks, the mark stays 0).
        _ = t.inject(frame: datagram(9, 55), device: t.devices[0], atNs: t0 + 5_000_000_000)
        XCTAssertTrue(t.listRuleset(handles: false).contains("meta mark 0x00000001 counter packets 5 bytes 155"))
        XCTAssertTrue(t.listRuleset(handles: false).contains("elements = { 198.18.0.11 timeout 5s expires 3s : 0x00000003 }"))
    }
}
