import JSON
import NFTables
import XCTest

/// ip6 and icmpv6 in inet tables, and ip6 tables, as nft 1.0.6 reads and lists them (each listing
/// read off the real nft). The model carries no IPv6 packets yet: these rules load and never match.
final class IPv6RuleTests: XCTestCase {
    func testListingsAsNft() throws {
        let cases = [
            ("ip6 saddr ::1 accept", "ip6 saddr ::1 accept"),
            ("icmpv6 type echo-request accept", "icmpv6 type echo-request accept"),
            ("meta nfproto ipv6 ip6 saddr ::1", "ip6 saddr ::1"),
            ("meta nfproto ipv4 ip saddr 1.2.3.4", "ip saddr 1.2.3.4"),
            ("ip6 saddr { fe80::/10, ::1, 2001:DB8:0:0:0:0:0:1, ::ffff:1.2.3.4, ::1.2.3.4 }", "ip6 saddr { ::1, ::1.2.3.4, ::ffff:1.2.3.4, 2001:db8::1, fe80::/10 }"),
            ("ip6 saddr 2001:db8::1-2001:db8::ff", "ip6 saddr 2001:db8::1-2001:db8::ff"),
            ("ip6 daddr fe80::/64 udp dport 546", "ip6 daddr fe80::/64 udp dport 546"),
            ("ip6 nexthdr tcp", "ip6 nexthdr tcp"),
            ("meta l4proto ipv6-icmp icmpv6 type nd-neighbor-solicit", "icmpv6 type nd-neighbor-solicit"),
            ("icmpv6 type { nd-neighbor-solicit, nd-router-advert, 133 } accept", "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit } accept"),
            ("ip6 hoplimit 1", "ip6 hoplimit 1"),
            ("ip6 flowlabel 5", "ip6 flowlabel 5"),
            ("icmpv6 code admin-prohibited", "icmpv6 code admin-prohibited"),
        ]
        let rs = try NFParser.parse("table inet t {\n\tchain c {\n" + cases.map { "\t\t\($0.0)\n" }.joined() + "\t}\n}\n")
        XCTAssertEqual(rs.tables[0].chains[0].rules.map(\.text), cases.map(\.1))
        let text = NFPrinter.ruleset(rs)
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(text)), text)
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(rs).rendered()))), text)
    }

    func testConflictingFamiliesAsNftRefusesThem() {
        for (family, rule, column, message) in [("ip", "ip6 saddr ::1 accept", 2, "conflicting protocols specified: ip vs. ip6"),
                                                ("inet", "ip saddr 1.2.3.4 ip6 daddr ::1", 19, "conflicting protocols specified: ip vs. ip6"),
                                                ("inet", "ip6 daddr ::1 ip saddr 1.2.3.4", 16, "conflicting protocols specified: ip6 vs. ip"),
                                                ("ip6", "ip saddr 1.2.3.4", 2, "conflicting protocols specified: ip6 vs. ip")] {
            XCTAssertThrowsError(try NFParser.parse("table \(family) t {\n chain c {\n \(rule)\n }\n}\n"), rule) { e in
                let s = e as! NFSyntaxError
                XCTAssertEqual([s.line, s.column], [3, column], "\(s)")
                XCTAssertTrue(s.message.contains(message), "\(s)")
            }
        }
        // icmpv6 in an ip table is only a protocol match: nft takes it.
        XCTAssertNoThrow(try NFParser.parse("table ip t {\n chain c {\n icmpv6 type echo-request accept\n }\n}\n"))
    }

    func testAddressText() {
        for (input, text) in [("::", "::"), ("::1", "::1"), ("1::", "1::"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
                              ("0:0:0:0:0:ffff:102:304", "::ffff:1.2.3.4"), ("::ffff:0:1", "::ffff:0.0.0.1"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
                              ("fe80::0:1", "fe80::1"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")] {
            XCTAssertEqual(IPv6Text.parse(input).map(IPv6Text.text), text, input)
        }
        for bad in ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::g", "1.2.3.4", ":::"] { XCTAssertNil(IPv6Text.parse(bad), bad) }
    }
}
