@testable import Kernel
import JSON
import NFTables
import Wire
import XCTest

/// Per-element counters, as `scripts/record_elem_counters.sh` recorded them on Linux 6.18: a
/// lookup that finds an element counts there (`@s`, an interval set's prefix, `vmap @m`, `map @d`;
/// a negated lookup that finds it does not), an element a rule adds to a set with its own
/// `counter` gets one, and the set's `counter` gives every declared element one. Before, the
/// set's `counter` was a syntax error and declared element counters stayed at 0.
final class ElementCounterTests: XCTestCase {
    static let ruleset = """
    table ip t {
    \tset s { type ipv4_addr; flags dynamic; elements = { 198.18.0.9 counter, 198.18.0.7 counter } }
    \tset sc { type ipv4_addr; counter; elements = { 198.18.0.9, 198.18.0.7 } }
    \tset q { type ipv4_addr; flags dynamic; counter; }
    \tset r { type ipv4_addr; flags interval; counter; elements = { 198.18.0.0/24 } }
    \tmap m { type ipv4_addr : verdict; counter; elements = { 198.18.0.9 : continue } }
    \tmap d { type ipv4_addr : mark; counter; elements = { 198.18.0.9 : 0x5 } }
    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tip saddr @s
    \t\tip saddr @sc
    \t\tip saddr != @sc counter
    \t\tadd @q { ip saddr }
    \t\tip saddr @r
    \t\tip saddr vmap @m
    \t\tmeta mark set ip saddr map @d
    \t}
    }
    """

    static let recorded = """
    table ip t {
    \tset s {
    \t\ttype ipv4_addr
    \t\tflags dynamic
    \t\telements = { 198.18.0.7 counter packets 0 bytes 0, 198.18.0.9 counter packets 2 bytes 62 }
    \t}

    \tset sc {
    \t\ttype ipv4_addr
    \t\tcounter
    \t\telements = { 198.18.0.7 counter packets 0 bytes 0, 198.18.0.9 counter packets 2 bytes 62 }
    \t}

    \tset q {
    \t\ttype ipv4_addr
    \t\tsize 65535
    \t\tflags dynamic
    \t\tcounter
    \t\telements = { 198.18.0.9 counter packets 2 bytes 62 }
    \t}

    \tset r {
    \t\ttype ipv4_addr
    \t\tflags interval
    \t\tcounter
    \t\telements = { 198.18.0.0/24 counter packets 2 bytes 62 }
    \t}

    \tmap m {
    \t\ttype ipv4_addr : verdict
    \t\tcounter
    \t\telements = { 198.18.0.9 counter packets 2 bytes 62 : continue }
    \t}

    \tmap d {
    \t\ttype ipv4_addr : mark
    \t\tcounter
    \t\telements = { 198.18.0.9 counter packets 2 bytes 62 : 0x00000005 }
    \t}

    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tip saddr @s
    \t\tip saddr @sc
    \t\tip saddr != @sc counter packets 0 bytes 0
    \t\tadd @q { ip saddr }
    \t\tip saddr @r
    \t\tip saddr vmap @m
    \t\tmeta mark set ip saddr map @d
    \t}
    }

    """

    func testLookupsCountOnTheElementTheyFind() throws {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        for _ in 0..<2 { _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1000, dstPort: 9, payload: Array("cnt".utf8)))), device: s.devices[0]) }
        XCTAssertEqual(s.listRuleset(handles: false), Self.recorded)
        // nft -j writes the set's statement and each element's counter; both read back.
        let json = NFJSON.encode(s.liveRuleset).rendered()
        XCTAssertTrue(json.contains(#"{"elem":{"val":"198.18.0.9","counter":{"packets":2,"bytes":62}}}],"stmt":[{"counter":null}]"#), json)
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(json))), NFPrinter.ruleset(s.liveRuleset))
        // A restart keeps the counts.
        let t = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        t.loadRuleset(try NFParser.parse(s.checkpointRuleset(), checkpoint: true))
        XCTAssertEqual(t.listRuleset(handles: false), Self.recorded)
    }

    /// nft refuses an element's statement where the set has none of its own and rules do not add
    /// to it (read off nft 1.0.6 here, under the statement).
    func testElementStatementsNeedTheSetsOrADynamicSet() throws {
        XCTAssertThrowsError(try NFParser.parse("table ip t {\n  set q { type ipv4_addr; elements = { 1.2.3.4 counter } }\n}\n")) {
            let e = $0 as? NFSyntaxError
            XCTAssertEqual(e?.message, "missing statement in set declaration")
            XCTAssertEqual(e.map { [$0.line, $0.column, $0.length] }, [2, 48, 7])
        }
        XCTAssertThrowsError(try NFParser.parse("table ip t {\n  set q { type ipv4_addr;  elements = { 1.2.3.4 counter packets 0 bytes 0 } }\n}\n")) {
            XCTAssertEqual(($0 as? NFSyntaxError).map { [$0.line, $0.column, $0.length] }, [2, 49, 25])
        }
        XCTAssertNoThrow(try NFParser.parse("table ip t {\n  set q { type ipv4_addr; flags dynamic; elements = { 1.2.3.4 counter } }\n}\n"))
    }

    /// A lookup runs all the element's expressions (`scripts/record_elem_stateful.sh`): the quota
    /// and limit a rule gave the element are spent by the lookup too, and end it when used up
    /// (the counter after `@s` and `@l` counted 1 of 5 datagrams; the model counted 5 before).
    func testLookupsRunAnElementsQuotaAndLimit() throws {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        s.loadRuleset(try NFParser.parse("""
            table ip t {
            \tset s { type ipv4_addr; flags dynamic; }
            \tset l { type ipv4_addr; flags dynamic; }
            \tchain c {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \t\tupdate @s { ip saddr quota 100 bytes }
            \t\tip saddr @s counter
            \t\tupdate @l { ip saddr limit rate 2/minute burst 2 packets }
            \t\tip saddr @l counter
            \t}
            }
            """))
        for _ in 0..<5 { _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1000, dstPort: 9, payload: Array("cnt".utf8)))), device: s.devices[0]) }
        XCTAssertEqual(s.listRuleset(handles: false), """
            table ip t {
            \tset s {
            \t\ttype ipv4_addr
            \t\tsize 65535
            \t\tflags dynamic
            \t\telements = { 198.18.0.9 quota 100 bytes used 100 bytes }
            \t}

            \tset l {
            \t\ttype ipv4_addr
            \t\tsize 65535
            \t\tflags dynamic
            \t\telements = { 198.18.0.9 limit rate 2/minute burst 2 packets }
            \t}

            \tchain c {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \t\tupdate @s { ip saddr quota 100 bytes }
            \t\tip saddr @s counter packets 1 bytes 31
            \t\tupdate @l { ip saddr limit rate 2/minute burst 2 packets }
            \t\tip saddr @l counter packets 1 bytes 31
            \t}
            }

            """)
    }

    /// A set's own `quota` and `limit` (and `counter quota` on one line) give each element its own,
    /// and a lookup runs them (`scripts/record_set_stmts.sh`, Linux 6.18, nft 1.0.6): five 31-byte
    /// datagrams; the quota of 70 bytes ends the rule at the third, the limit's burst of 2 at the
    /// third, the counter before a quota of 100 counts all five while the rule counts three.
    /// These were refused as not supported before.
    func testASetsOwnQuotaAndLimitActOnEachElement() throws {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let config = StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")])
        let s = try Stack(config: config)
        s.loadRuleset(try NFParser.parse("""
            table ip t {
            \tset s {
            \t\ttype ipv4_addr
            \t\tquota 70 bytes
            \t\telements = { 198.18.0.9 }
            \t}
            \tset l {
            \t\ttype ipv4_addr
            \t\tlimit rate 2/minute burst 2 packets
            \t\telements = { 198.18.0.9 }
            \t}
            \tset c {
            \t\ttype ipv4_addr
            \t\tcounter
            \t\tquota 100 bytes
            \t\telements = { 198.18.0.9, 198.18.0.7 }
            \t}
            \tchain c {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \t\tip saddr @s counter
            \t\tip saddr @l counter
            \t\tip saddr @c counter
            \t}
            }
            """))
        for _ in 0..<5 { _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1000, dstPort: 9, payload: Array("cnt".utf8)))), device: s.devices[0]) }
        let recorded = """
            table ip t {
            \tset s {
            \t\ttype ipv4_addr
            \t\tquota 70 bytes
            \t\telements = { 198.18.0.9 quota 70 bytes used 70 bytes }
            \t}

            \tset l {
            \t\ttype ipv4_addr
            \t\tlimit rate 2/minute burst 2 packets
            \t\telements = { 198.18.0.9 limit rate 2/minute burst 2 packets }
            \t}

            \tset c {
            \t\ttype ipv4_addr
            \t\tcounter quota 100 bytes
            \t\telements = { 198.18.0.7 counter packets 0 bytes 0 quota 100 bytes, 198.18.0.9 counter packets 5 bytes 155 quota 100 bytes used 100 bytes }
            \t}

            \tchain c {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \t\tip saddr @s counter packets 2 bytes 62
            \t\tip saddr @l counter packets 2 bytes 62
            \t\tip saddr @c counter packets 3 bytes 93
            \t}
            }

            """
        XCTAssertEqual(s.listRuleset(handles: false), recorded)
        // nft -j (recorded): each element's counter alone, the set's statements after its elements; read back the same.
        let json = NFJSON.encode(s.liveRuleset).rendered()
        XCTAssertTrue(json.contains(#""elem":[{"elem":{"val":"198.18.0.7","counter":{"packets":0,"bytes":0}}},{"elem":{"val":"198.18.0.9","counter":{"packets":5,"bytes":155}}}],"stmt":[{"counter":null},{"quota":{"val":100,"val_unit":"bytes"}}]"#), json)
        // Read back, the sets have their statements (nft -j leaves an element's quota and limit out).
        let back = NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(json)))
        for line in ["\t\tquota 70 bytes\n", "\t\tlimit rate 2/minute burst 2 packets\n", "\t\tcounter quota 100 bytes\n"] { XCTAssertTrue(back.contains(line), back) }
        // A restart (the checkpoint's listing read back) keeps what each element used.
        let t = try Stack(config: config)
        t.loadRuleset(try NFParser.parse(s.checkpointRuleset(), checkpoint: true))
        XCTAssertEqual(t.listRuleset(handles: false), recorded)
        // Statements nft takes there that the model does not act on are refused as such.
        for (stmt, word) in [("last", "last"), ("counter ct count 2", "ct count")] {
            XCTAssertThrowsError(try NFParser.parse("table ip t {\n\tset x {\n\t\ttype ipv4_addr\n\t\t\(stmt)\n\t}\n}\n")) {
                XCTAssertEqual(($0 as? NFSyntaxError)?.kind, .unsupported, stmt)
                XCTAssertTrue(($0 as? NFSyntaxError)?.message.hasPrefix("not supported yet: \(word) as a set's statement") == true, "\($0)")
            }
        }
    }
}
