import JSON
import NFTables
import XCTest

/// `typeof` in set and map declarations, as nft 1.0.6 lists it on Linux 6.18 (read off the real
/// nft in a network namespace): the expressions stay as written; what they read sets the type.
final class TypeofTests: XCTestCase {
    func testTypeofDeclarationsListAsNftListsThem() throws {
        let rs = try NFParser.parse("""
        table inet t {
          set s1 { typeof ip saddr; elements = { 1.2.3.4 } }
          set s2 { typeof ip saddr . tcp dport; flags interval; elements = { 10.0.0.0/8 . 22-23 } }
          map m1 { typeof ip saddr : meta mark; elements = { 1.1.1.1 : 5 } }
          map m2 { typeof tcp dport : verdict; elements = { 22 : accept } }
          set s4 { typeof meta l4proto . th dport; elements = { tcp . 22 } }
          set s5 { typeof iifname; elements = { "eth0" } }
          set s6 { typeof ip6 daddr; }
          set s7 { typeof ct mark; }
          set s8 { typeof ether saddr; }
          map m5 { typeof ip daddr : ip daddr; }
          set s9 { typeof udp sport; }
          chain c { type filter hook input priority 0; ip saddr @s1 accept; ip saddr . tcp dport @s2 accept; meta mark set ip saddr map @m1; tcp dport vmap @m2; meta l4proto . th dport @s4 accept
          }
        }
        """)
        XCTAssertEqual(NFPrinter.ruleset(rs), """
        table inet t {
        \tset s1 {
        \t\ttypeof ip saddr
        \t\telements = { 1.2.3.4 }
        \t}

        \tset s2 {
        \t\ttypeof ip saddr . tcp dport
        \t\tflags interval
        \t\telements = { 10.0.0.0/8 . 22-23 }
        \t}

        \tmap m1 {
        \t\ttypeof ip saddr : meta mark
        \t\telements = { 1.1.1.1 : 0x00000005 }
        \t}

        \tmap m2 {
        \t\ttypeof tcp dport : verdict
        \t\telements = { 22 : accept }
        \t}

        \tset s4 {
        \t\ttypeof meta l4proto . th dport
        \t\telements = { tcp . 22 }
        \t}

        \tset s5 {
        \t\ttypeof iifname
        \t\telements = { "eth0" }
        \t}

        \tset s6 {
        \t\ttypeof ip6 daddr
        \t}

        \tset s7 {
        \t\ttypeof ct mark
        \t}

        \tset s8 {
        \t\ttypeof ether saddr
        \t}

        \tmap m5 {
        \t\ttypeof ip daddr : ip daddr
        \t}

        \tset s9 {
        \t\ttypeof udp sport
        \t}

        \tchain c {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tip saddr @s1 accept
        \t\tip saddr . tcp dport @s2 accept
        \t\tmeta mark set ip saddr map @m1
        \t\ttcp dport vmap @m2
        \t\tmeta l4proto . th dport @s4 accept
        \t}
        }

        """)
        // What it prints reads back the same; nft -j gives the types.
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(NFPrinter.ruleset(rs))), NFPrinter.ruleset(rs))
        // A map of address and port reads back from nft -j.
        let ports = try NFParser.parse("table ip t { map portfw { type inet_service : ipv4_addr . inet_service; elements = { 8080 : 198.18.0.1 . 80 } }\n}")
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(ports).rendered()))), NFPrinter.ruleset(ports))
        let ports6 = try NFParser.parse("table ip6 t { map p { type inet_service : ipv6_addr . inet_service; elements = { 8080 : 2001:db8::1 . 80 } }\n map m { type ipv6_addr : ipv6_addr; elements = { 2001:db8::7 : 2001:db8::1 } }\n chain c { type nat hook prerouting priority dstnat; dnat ip6 to tcp dport map @p; dnat to ip6 saddr map @m\n }\n}")
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(ports6).rendered()))), NFPrinter.ruleset(ports6))
        let objects = try NFParser.parse("table ip t { counter c1 { }\n map cm { type ipv4_addr : counter; elements = { 1.2.3.4 : \"c1\" } }\n chain c { type filter hook input priority 0; counter name ip saddr map @cm\n }\n}")
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(objects).rendered()))), NFPrinter.ruleset(objects))
        XCTAssertTrue(NFJSON.encode(rs).rendered().contains(#""name":"s2","table":"t","type":["ipv4_addr","inet_service"]"#), NFJSON.encode(rs).rendered())
        XCTAssertThrowsError(try NFParser.parse("table ip t { set s { typeof ip ttl; }\n}")) { e in
            XCTAssertEqual((e as? NFSyntaxError)?.kind, .unsupported)
        }
        XCTAssertThrowsError(try NFParser.parse("table ip t { map m { typeof ip saddr; }\n}")) { e in
            XCTAssertEqual((e as? NFSyntaxError)?.message, "a map needs a data type (typeof KEY : verdict)")
        }
    }
}

extension TypeofTests {
    /// Sets of flag, ICMP, DSCP, EtherType, packet type, family and uid/gid types, as nft 1.0.6
    /// lists them: in key order, five, two or one to a line by type (nft's calculate_delim).
    func testMoreSetTypesListAsNft() throws {
        let rs = try NFParser.parse("""
        table inet t {
          set a { type icmp_type; elements = { echo-request, echo-reply, destination-unreachable, time-exceeded, 13, 14, 15, 16 } }
          set b { type icmpv6_type; elements = { echo-request, echo-reply, nd-neighbor-solicit, nd-neighbor-advert, 1, 2, 3, 4 } }
          set c { type tcp_flag; elements = { syn, ack, fin, rst, psh, urg, ecn, cwr } }
          set d { type ct_state; elements = { new, established, related, invalid, untracked } }
          set e { type dscp; elements = { cs0, cs1, af11, af12, ef, 1, 2, 3 } }
          set f { type ether_type; elements = { ip, ip6, arp, vlan, 0x88cc, 0x8100 } }
          set g { type pkt_type; elements = { host, unicast, broadcast, multicast, other } }
          set h { type nf_proto; elements = { ipv4, ipv6 } }
          set i { type uid; elements = { 0, 1, 2, 3, 4, 5, 6, 7, 1000 } }
          chain x { type filter hook input priority 0; icmp type @a accept; icmpv6 type @b accept; tcp flags @c accept; ct state @d accept; ip dscp @e accept; ether type @f accept; meta pkttype @g accept; meta nfproto @h accept; meta skuid @i accept
          }
        }
        """)
        let sets = NFPrinter.ruleset(rs).components(separatedBy: "\n\n\tchain x")[0]
        XCTAssertEqual(sets, """
        table inet t {
        \tset a {
        \t\ttype icmp_type
        \t\telements = { echo-reply,
        \t\t\t     destination-unreachable,
        \t\t\t     echo-request,
        \t\t\t     time-exceeded,
        \t\t\t     timestamp-request,
        \t\t\t     timestamp-reply,
        \t\t\t     info-request,
        \t\t\t     info-reply }
        \t}

        \tset b {
        \t\ttype icmpv6_type
        \t\telements = { destination-unreachable,
        \t\t\t     packet-too-big,
        \t\t\t     time-exceeded,
        \t\t\t     parameter-problem,
        \t\t\t     echo-request,
        \t\t\t     echo-reply,
        \t\t\t     nd-neighbor-solicit,
        \t\t\t     nd-neighbor-advert }
        \t}

        \tset c {
        \t\ttype tcp_flag
        \t\telements = { fin, syn, rst, psh, ack,
        \t\t\t     urg, ecn, cwr }
        \t}

        \tset d {
        \t\ttype ct_state
        \t\telements = { invalid, established,
        \t\t\t     related, new,
        \t\t\t     untracked }
        \t}

        \tset e {
        \t\ttype dscp
        \t\telements = { cs0,
        \t\t\t     lephb,
        \t\t\t     0x02,
        \t\t\t     0x03,
        \t\t\t     cs1,
        \t\t\t     af11,
        \t\t\t     af12,
        \t\t\t     ef }
        \t}

        \tset f {
        \t\ttype ether_type
        \t\telements = { ip,
        \t\t\t     arp,
        \t\t\t     8021q,
        \t\t\t     ip6,
        \t\t\t     0x88cc }
        \t}

        \tset g {
        \t\ttype pkt_type
        \t\telements = { host, broadcast,
        \t\t\t     multicast, other }
        \t}

        \tset h {
        \t\ttype nf_proto
        \t\telements = { ipv4, ipv6 }
        \t}

        \tset i {
        \t\ttype uid
        \t\telements = { 0, 1, 2, 3, 4,
        \t\t\t     5, 6, 7, 1000 }
        \t}
        """)
        // In rules too: the hexadecimal types, and aliases by their type's name (read off nft).
        let rules = try NFParser.parse("""
        table inet t {
          chain x { type filter hook input priority 0; ip dscp 2; ether type 0x88cc; ip dscp { 2, 3, cs1 }; ether type { 0x88cc, vlan }; meta pkttype unicast; meta pkttype { unicast, host, broadcast }
          }
        }
        """)
        XCTAssertEqual(rules.tables[0].chains[0].rules.map(\.text), ["ip dscp 0x02", "ether type 0x88cc", "ip dscp { 0x02, 0x03, cs1 }",
                                                                     "ether type { 8021q, 0x88cc }", "meta pkttype host", "meta pkttype { host, broadcast }"])
        XCTAssertThrowsError(try NFParser.parse("table ip t { set s { type ct_status; }\n}")) { e in
            XCTAssertEqual((e as? NFSyntaxError)?.message, "not supported yet: sets of type ct_status")
        }
    }
}
