import JSON
import NFTables
import XCTest

/// ip6 and icmpv6 in inet tables, and ip6 tables, as nft 1.0.6 reads and lists them (each listing
/// read off the real nft); KernelTests and the IPv6 oracle corpus hold what they do to packets.
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
            // The fields of some message types only: the echo pair listed, the others hidden.
            ("icmpv6 id 1", "icmpv6 type { echo-request, echo-reply } icmpv6 id 1"),
            ("icmpv6 sequence 2", "icmpv6 type { echo-request, echo-reply } icmpv6 sequence 2"),
            ("icmpv6 mtu 1280", "icmpv6 mtu 1280"),
            ("icmpv6 type 2 icmpv6 mtu 1280", "icmpv6 mtu 1280"),
            ("icmpv6 max-delay 100", "icmpv6 max-delay 100"),
        ]
        let rs = try NFParser.parse("table inet t {\n\tchain c {\n" + cases.map { "\t\t\($0.0)\n" }.joined() + "\t}\n}\n")
        XCTAssertEqual(rs.tables[0].chains[0].rules.map(\.text), cases.map(\.1))
        let text = NFPrinter.ruleset(rs)
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(text)), text)
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(rs).rendered()))), text)
    }

    /// nft's refusal of a field outside the message type the rule already named.
    func testICMPFieldsOfAnotherTypeAreRefused() {
        for (rule, message) in [("icmpv6 type 1 icmpv6 mtu 1280", "rule has 1, need 2"), ("icmpv6 type 1 icmpv6 id 1", "rule has 1, need 128"),
                                ("icmp type 3 icmp id 1", "rule has 3, need 8"), ("icmp type { 3, 4 } icmp mtu 5", "rule has 4, need 3")] {
            XCTAssertThrowsError(try NFParser.parse("table inet t { chain c { \(rule); }; }"), rule) {
                XCTAssertTrue("\($0)".contains("incompatible icmp match: \(message)"), "\(rule): \($0)")
            }
        }
    }

    /// Extension header matches and NAT66 targets: the listings the real nft 1.0.6 printed for this
    /// input, and nft -j's JSON both ways.
    func testExthdrAndNAT66ListAsNft() throws {
        let exthdr = ["exthdr hbh exists counter", "exthdr dst exists counter", "exthdr frag missing", "exthdr rt exists", "exthdr mh exists",
                      "rt type 0 counter", "rt seg-left 2", "frag frag-off != 0 counter", "frag more-fragments 1", "frag id 5",
                      "hbh nexthdr 6", "hbh hdrlength 1", "dst nexthdr udp", "rt nexthdr 17", "mh type 5", "frag reserved 1", "frag reserved2 1",
                      "rt hdrlength 2", "dst hdrlength 0", "mh hdrlength 1", "mh nexthdr 59", "mh checksum 5", "mh reserved 3", "exthdr frag exists drop"]
        let listed = ["exthdr hbh exists counter packets 0 bytes 0", "exthdr dst exists counter packets 0 bytes 0", "exthdr frag missing", "exthdr rt exists",
                      "exthdr mh exists", "rt type 0 counter packets 0 bytes 0", "rt seg-left 2", "frag frag-off != 0 counter packets 0 bytes 0",
                      "frag more-fragments 1", "frag id 5", "hbh nexthdr tcp", "hbh hdrlength 1", "dst nexthdr udp", "rt nexthdr udp",
                      "mh type binding-update", "frag reserved 1", "frag reserved2 1", "rt hdrlength 2", "dst hdrlength 0", "mh hdrlength 1",
                      "mh nexthdr ipv6-nonxt", "mh checksum 5", "mh reserved 3", "exthdr frag exists drop"]
        let rs = try NFParser.parse("table inet t {\n\tchain c {\n" + exthdr.map { "\t\t\($0)\n" }.joined() + "\t}\n}\n")
        XCTAssertEqual(NFPrinter.ruleset(rs), "table inet t {\n\tchain c {\n" + listed.map { "\t\t\($0)\n" }.joined() + "\t}\n}\n")
        let nat = """
        table ip6 n {
        \tchain pre {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tip6 daddr 2001:db8::2 tcp dport 4443 dnat to [2001:db8:1::2]:80
        \t\ttcp dport 1 dnat to 2001:db8:1::2
        \t\ttcp dport 2 dnat to 2001:db8:1::2-2001:db8:1::5
        \t\ttcp dport 3 dnat to [2001:db8:1::2]-[2001:db8:1::5]:80-90
        \t\ttcp dport 4 redirect to :8080
        \t}

        \tchain post {
        \t\ttype nat hook postrouting priority srcnat; policy accept;
        \t\toifname "eth1" masquerade
        \t\tip6 saddr ::1 snat to 2001:db8::1 persistent
        \t}
        }
        table inet n2 {
        \tchain post {
        \t\ttype nat hook postrouting priority srcnat; policy accept;
        \t\toifname "eth1" ip6 saddr 2001:db8::/64 snat ip6 to 2001:db8:1::1
        \t\ttcp dport 5 snat ip6 to [2001:db8:1::1]:99
        \t}
        }

        """
        for text in [NFPrinter.ruleset(rs), nat] {
            let parsed = try NFParser.parse(text)
            XCTAssertEqual(NFPrinter.ruleset(parsed), text)
            XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(parsed).rendered()))), text, "through nft -j JSON")
        }
        // nft -j's NAT66 objects, as the real nft printed them.
        let json = NFJSON.encode(try NFParser.parse(nat)).rendered()
        for object in [#"{"dnat":{"addr":"2001:db8:1::2","port":80}}"#, #"{"dnat":{"addr":{"range":["2001:db8:1::2","2001:db8:1::5"]},"port":{"range":[80,90]}}}"#,
                       #"{"snat":{"addr":"2001:db8::1","flags":"persistent"}}"#, #"{"snat":{"family":"ip6","addr":"2001:db8:1::1","port":99}}"#] {
            XCTAssertTrue(json.contains(object), object)
        }
        // nft: "cannot use exthdr with ip"; an IPv6 NAT target in an ip table or without ip6 in inet.
        for (family, rule, message) in [("ip", "exthdr hbh exists", "cannot use exthdr with ip"), ("ip", "snat to [::1]:80", "conflicting protocols"),
                                         ("inet", "snat to 2001:db8::1", "ip or ip6 must be specified")] {
            XCTAssertThrowsError(try NFParser.parse("table \(family) t {\n chain c { type nat hook postrouting priority 100; \(rule); }\n}\n"), rule) { e in
                XCTAssertTrue((e as! NFSyntaxError).message.contains(message), "\(e)")
            }
        }
    }

    /// Anonymous NAT maps of IPv6 addresses and IPv6 netmap, as nft 1.0.6 listed them here (text
    /// and `nft -j`); what they do is the oracle case own6_nat_maps_1.
    func testNAT66MapsAndPrefixesListAsNft() throws {
        let text = """
        table ip6 n {
        \tchain pre {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tdnat to ip6 daddr map { 2001:db8::1 : 2001:db8::2, 2001:db8::3 : 2001:db8::4 }
        \t\tdnat ip6 to ip6 daddr . tcp dport map { 2001:db8::1 . 80 : 2001:db8::2 . 8080, 2001:db8::5 . 81 : 2001:db8::6 . 8000 }
        \t\tdnat to tcp dport map { 80 : 2001:db8::9 }
        \t\tdnat ip6 to ip6 saddr map { 2001:db8::/64 : 2001:db8:1::1-2001:db8:1::9 }
        \t\tdnat ip6 to ip6 saddr map { 2001:db9::/64 : 2001:db8:2::/120 }
        \t\tdnat to numgen inc mod 2 map { 0 : 2001:db8::1, 1 : 2001:db8::2 }
        \t}

        \tchain post {
        \t\ttype nat hook postrouting priority srcnat; policy accept;
        \t\tsnat to ip6 saddr map { 2001:db8::1 : 2001:db8::99 } persistent
        \t\tsnat ip6 prefix to ip6 saddr map { 2001:db8::/64 : 2001:db8:5::/64 }
        \t\tsnat prefix to 2001:db8:5::/64
        \t\tsnat ip6 prefix to ip6 saddr map { 2001:db8::/64 : 2001:db8:5::1/128 }
        \t\tsnat ip6 to ip6 saddr map { 2001:db8::/64 : 2001:db8:5::1/128, 2001:db9::/64 : 2001:db8:5::1-2001:db8:5::3 }
        \t\tsnat to 2001:db8::/120
        \t\tmeta l4proto tcp snat to 2001:db8::/120:80
        \t}
        }
        table inet m {
        \tchain pre {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tdnat ip6 to ip6 daddr map { 2001:db8::1 : 2001:db8::2 }
        \t\tdnat ip6 to ip6 daddr . tcp dport map { 2001:db8::1 . 80 : 2001:db8::2 . 8080 }
        \t}
        }

        """
        // As written, with ranges where nft lists prefixes and an explicit `meta nfproto`.
        let written = text.replacingOccurrences(of: "2001:db8:5::1/128 }\n", with: "2001:db8:5::1-2001:db8:5::1 }\n")
            .replacingOccurrences(of: "snat to 2001:db8::/120\n", with: "snat to 2001:db8::-2001:db8::ff\n")
            .replacingOccurrences(of: "snat to 2001:db8::/120:80", with: "snat to [2001:db8::]-[2001:db8::ff]:80")
            .replacingOccurrences(of: "\t\tdnat ip6 to ip6 daddr . tcp dport map { 2001:db8::1 . 80 : 2001:db8::2 . 8080 }", with: "\t\tmeta nfproto ipv6 dnat ip6 to ip6 daddr . tcp dport map { 2001:db8::1 . 80 : 2001:db8::2 . 8080 }")
        XCTAssertNotEqual(written, text)
        let rs = try NFParser.parse(written)
        XCTAssertEqual(NFPrinter.ruleset(rs), text)
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(rs).rendered()))), text, "through nft -j JSON")
        let json = NFJSON.encode(rs).rendered()
        for object in [
            #"{"dnat":{"addr":{"map":{"key":{"payload":{"protocol":"ip6","field":"daddr"}},"data":{"set":[["2001:db8::1","2001:db8::2"],["2001:db8::3","2001:db8::4"]]}}}}}"#,
            #"{"dnat":{"family":"ip6","addr":{"map":{"key":{"concat":[{"payload":{"protocol":"ip6","field":"daddr"}},{"payload":{"protocol":"tcp","field":"dport"}}]},"data":{"set":[[{"concat":["2001:db8::1",80]},{"concat":["2001:db8::2",8080]}],[{"concat":["2001:db8::5",81]},{"concat":["2001:db8::6",8000]}]]}}}}}"#,
            #"{"dnat":{"family":"ip6","addr":{"map":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":{"set":[[{"prefix":{"addr":"2001:db8::","len":64}},{"range":["2001:db8:1::1","2001:db8:1::9"]}]]}}}}}"#,
            #"{"dnat":{"addr":{"map":{"key":{"numgen":{"mode":"inc","mod":2,"offset":0}},"data":{"set":[[0,"2001:db8::1"],[1,"2001:db8::2"]]}}}}}"#,
            #"{"snat":{"addr":{"map":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":{"set":[["2001:db8::1","2001:db8::99"]]}}},"flags":"persistent"}}"#,
            #"{"snat":{"family":"ip6","addr":{"map":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":{"set":[[{"prefix":{"addr":"2001:db8::","len":64}},{"prefix":{"addr":"2001:db8:5::1","len":128}}]]}}},"flags":"netmap","type_flags":"prefix"}}"#,
            #"{"snat":{"addr":{"prefix":{"addr":"2001:db8:5::","len":64}},"flags":"netmap","type_flags":"prefix"}}"#,
            #"{"snat":{"addr":{"prefix":{"addr":"2001:db8::","len":120}},"port":80}}"#,
        ] {
            XCTAssertTrue(json.contains(object), object)
        }
        // An IPv6 range or prefix with a port is more data than the map's registers hold (ENODATA
        // here), and nft's grammar has no port after a prefix target.
        for (rule, column, message) in [("dnat ip6 to ip6 daddr . tcp dport map { 2001:db8::1 . 80 : 2001:db8::2 . 8080-8080 }", 1, "No data available"),
                                        ("dnat to tcp dport map { 80 : 2001:db8::2/128 . 8080 }", 1, "No data available"),
                                        ("snat prefix to [2001:db8::]-[2001:db8::ff]:80", 43, "syntax error, unexpected colon")] {
            XCTAssertThrowsError(try NFParser.parse("table ip6 t {\n chain c { type nat hook postrouting priority 100;\n\(rule)\n }\n}\n"), rule) { e in
                let s = e as! NFSyntaxError
                XCTAssertEqual([s.line, s.column], [3, column], "\(s)")
                XCTAssertTrue(s.message.contains(message), "\(s)")
            }
        }
    }

    /// An inet rule's `meta nfproto ipv4|ipv6` is left out of the listing where a header field of
    /// that family follows anywhere in the next statement: a map's or set's key, a concatenation,
    /// a vmap, a payload write, a hash (each read off nft 1.0.6). A statement in between, a field
    /// of another layer, or a conntrack address written with its family keeps it.
    func testAnExplicitNfprotoGoesWhereAFieldImpliesIt() throws {
        let cases = [
            ("meta nfproto ipv4 ip daddr vmap { 1.1.1.1 : accept }", "ip daddr vmap { 1.1.1.1 : accept }"),
            ("meta nfproto ipv4 meta mark set ip daddr map { 1.1.1.1 : 3 }", "meta mark set ip daddr map { 1.1.1.1 : 0x00000003 }"),
            ("meta nfproto ipv4 tcp dport . ip daddr { 80 . 1.1.1.1 }", "tcp dport . ip daddr { 80 . 1.1.1.1 }"),
            ("meta nfproto ipv4 counter name ip saddr map { 1.1.1.1 : \"c\" }", "counter name ip saddr map { 1.1.1.1 : \"c\" }"),
            ("meta nfproto ipv4 add @s { ip saddr }", "add @s { ip saddr }"),
            ("meta nfproto ipv4 meta mark set ip daddr map @m", "meta mark set ip daddr map @m"),
            ("meta nfproto ipv4 ip saddr . ip daddr vmap @v", "ip saddr . ip daddr vmap @v"),
            ("meta nfproto ipv4 tcp dport . ip daddr vmap { 80 . 1.1.1.1 : accept }", "tcp dport . ip daddr vmap { 80 . 1.1.1.1 : accept }"),
            ("meta nfproto ipv4 ip ttl set 3", "ip ttl set 3"),
            ("meta nfproto ipv4 meta mark set jhash ip saddr mod 2", "meta mark set jhash ip saddr mod 2"),
            ("meta nfproto ipv4 update @s2 { ip saddr . ip daddr }", "update @s2 { ip saddr . ip daddr }"),
            ("meta nfproto ipv4 meter mm { ip saddr limit rate 1/second }", "meter mm size 65535 { ip saddr limit rate 1/second }"),
            ("meta nfproto ipv4 dnat ip to ip saddr map @m4", "dnat ip to ip saddr map @m4"),
            ("meta nfproto ipv6 ip6 saddr & ::ffff == ::1", "ip6 saddr & ::ffff == ::1"),
            ("meta nfproto ipv6 dnat ip6 to ip6 daddr map @m6", "dnat ip6 to ip6 daddr map @m6"),
            ("meta nfproto ipv4 ct original saddr 1.1.1.1", "ct original ip saddr 1.1.1.1"),
            // Kept:
            ("meta nfproto ipv4 ct original ip saddr 1.1.1.1", "meta nfproto ipv4 ct original ip saddr 1.1.1.1"),
            ("meta nfproto ipv4 tcp dport 80", "meta nfproto ipv4 tcp dport 80"),
            ("meta nfproto ipv4 dnat ip to tcp dport map { 80 : 1.1.1.1 }", "meta nfproto ipv4 dnat ip to tcp dport map { 80 : 1.1.1.1 }"),
            ("meta nfproto ipv4 tcp dport vmap { 80 : accept }", "meta nfproto ipv4 tcp dport vmap { 80 : accept }"),
            ("meta nfproto ipv4 counter ip saddr 1.1.1.1", "meta nfproto ipv4 counter packets 0 bytes 0 ip saddr 1.1.1.1"),
        ]
        let rs = try NFParser.parse("""
        table inet m {
        counter c {}
        set s { type ipv4_addr; flags dynamic; }
        set s2 { type ipv4_addr . ipv4_addr; flags dynamic; }
        map m4 { type ipv4_addr : ipv4_addr; }
        map m6 { type ipv6_addr : ipv6_addr; }
        map m { type ipv4_addr : mark; }
        map v { type ipv4_addr . ipv4_addr : verdict; }
        chain pre { type nat hook prerouting priority dstnat;

        """ + cases.map { $0.0 + "\n" }.joined() + "}\n}\n")
        XCTAssertEqual(rs.tables[0].chains[0].rules.map(\.text), cases.map(\.1))
        let text = NFPrinter.ruleset(rs)
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(text)), text)
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
