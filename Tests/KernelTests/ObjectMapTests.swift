@testable import Kernel
import NFTables
import Wire
import XCTest

/// Named maps of objects (`map cm { type ipv4_addr : counter; elements = { 1.2.3.4 : "c1" } }`,
/// `counter name ip saddr map @cm`), listed as nft 1.0.6 lists them (read off nft): the key finds
/// the element, whose object counts; no element breaks the rule.
final class ObjectMapTests: XCTestCase {
    func testAMapOfCountersCountsIntoTheObjectItNames() throws {
        let s = try makeStack()
        let rs = try NFParser.parse("""
        table ip t {
          counter c1 { }
          counter c2 { }
          quota q1 { 1000 bytes }
          map cm { type ipv4_addr : counter; elements = { 198.18.0.9 : "c1", 5.6.7.8 : "c2" } }
          map qm { type inet_service : quota; elements = { 22 : "q1" } }
          chain c { type filter hook input priority 0;
            counter name ip saddr map @cm
            quota name udp dport map @qm
          }
        }
        """)
        s.loadRuleset(rs)
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 5000, dstPort: 22, payload: [1]))), device: s.devices[0])
        _ = s.inject(frame: frame(src: IPv4Address(10, 0, 0, 1), .udp(UDPRepr(srcPort: 5000, dstPort: 22, payload: [1]))), device: s.devices[0])
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip t {
        \tcounter c1 {
        \t\tpackets 1 bytes 29
        \t}

        \tcounter c2 {
        \t\tpackets 0 bytes 0
        \t}

        \tquota q1 {
        \t\t1000 bytes used 58 bytes
        \t}

        \tmap cm {
        \t\ttype ipv4_addr : counter
        \t\telements = { 5.6.7.8 : "c2", 198.18.0.9 : "c1" }
        \t}

        \tmap qm {
        \t\ttype inet_service : quota
        \t\telements = { 22 : "q1" }
        \t}

        \tchain c {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tcounter name ip saddr map @cm
        \t\tquota name udp dport map @qm
        \t}
        }

        """)
        // nft -j lists the elements sorted as the text does (nft 1.0.6 here: 5.6.7.8 first).
        XCTAssertTrue(NFJSON.encode(rs).rendered().contains(#""map":"counter","elem":[["5.6.7.8","c2"],["198.18.0.9","c1"]]"#), NFJSON.encode(rs).rendered())
        XCTAssertThrowsError(try NFParser.parse("table ip t { map cm { type ipv4_addr : counter; elements = { 1.2.3.4 : \"nope\" } }\n}"))
    }
}
