@testable import Kernel
import NFTables
import Wire
import XCTest

/// Commands on the elements of sets rules add to, as nft 1.0.6 and Linux 6.18 took them here:
/// `delete element` removes one a rule added (before: ENOENT, the parser saw only the
/// declaration), one neither declared nor added is ENOENT under it, `flush set` empties what rules
/// added too, and a declared element that expires stays deleted (before, the next command's
/// carry-over of the set's live state brought back all three).
final class SetCommandTests: XCTestCase {
    static let ruleset = """
    table ip t {
      set s { type ipv4_addr; flags dynamic,timeout; timeout 1h; }
      set s2 { type ipv4_addr; flags timeout; elements = { 1.2.3.4 timeout 1h } }
      chain c { type filter hook prerouting priority 0; policy accept;
        add @s { ip saddr }
      }
    }
    """

    func command(_ s: Stack, _ text: String) throws {
        let next = try NFParser.parse(text, onto: s.ruleset)
        if let refusal = s.missingElement(next) { throw refusal }
        s.loadRuleset(next, keepingRuleState: true)
    }

    func testDeleteAndFlushReachWhatRulesAdded() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        for src: UInt8 in [5, 6] { _ = s.inject(frame: frame(src: IPv4Address(192, 0, 2, src), .udp(UDPRepr(srcPort: 1, dstPort: 9, payload: []))), device: s.devices[0]) }
        let elements = { s.listRuleset(handles: false).split(separator: "\n").filter { $0.contains("elements") }.map { String($0.drop { $0 == "\t" }) } }
        // (Times left as of the clock after the second datagram: the first was added a little earlier.)
        XCTAssertEqual(elements(), ["elements = { 192.0.2.5 expires 59m59s999ms, 192.0.2.6 expires 1h }", "elements = { 1.2.3.4 timeout 1h expires 59m59s999ms }"])
        try command(s, "delete element ip t s { 192.0.2.5 }")
        XCTAssertEqual(elements(), ["elements = { 192.0.2.6 expires 1h }", "elements = { 1.2.3.4 timeout 1h expires 59m59s999ms }"])
        XCTAssertThrowsError(try command(s, "delete element ip t s { 192.0.2.99 }")) {
            let e = $0 as? NFSyntaxError
            XCTAssertEqual(e?.message, "Could not process rule: No such file or directory")
            XCTAssertEqual(e.map { [$0.line, $0.column, $0.length] }, [1, 25, 10])
        }
        try command(s, "delete element ip t s2 { 1.2.3.4 }")
        XCTAssertEqual(elements(), ["elements = { 192.0.2.6 expires 1h }"])
        try command(s, "flush set ip t s")
        XCTAssertEqual(elements(), [])
        // The set takes what rules add again.
        _ = s.inject(frame: frame(src: IPv4Address(192, 0, 2, 7), .udp(UDPRepr(srcPort: 1, dstPort: 9, payload: []))), device: s.devices[0])
        XCTAssertEqual(elements(), ["elements = { 192.0.2.7 expires 1h }"])
    }
}
