@testable import Kernel
import NFTables
import Wire
import XCTest

/// A named map of address and port driving dnat, as `scripts/record_nat_port_map.sh` recorded it
/// on Linux 6.18: a datagram to 198.18.0.1:8080 reaches the socket on port 80, conntrack holds the
/// translation, and nft lists the rule without `addr . port`.
final class NATPortMapTests: XCTestCase {
    func testAMapOfAddressAndPortTranslatesBoth() throws {
        let s = try makeStack()
        let text = """
        table ip t {
          map portfw { type inet_service : ipv4_addr . inet_service; elements = { 8080 : 198.18.0.1 . 80, 8443 : 198.18.0.1 . 443 } }
          chain pre { type nat hook prerouting priority dstnat; policy accept;
            dnat ip addr . port to udp dport map @portfw
          }
        }
        """
        let rs = try NFParser.parse(text)
        s.loadRuleset(rs)
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address: .any, port: 80)))
        let r = s.inject(frame: frame(ident: 1, .udp(UDPRepr(srcPort: 5000, dstPort: 8080, payload: Array("hi".utf8)))), device: s.devices[0])
        XCTAssertEqual(r.outcome, .delivered)
        XCTAssertEqual(s.socket(1)?.queue.map { String(decoding: $0.payload, as: UTF8.self) }, ["hi"])
        XCTAssertEqual(s.conntrackListing, ["udp      17 30 src=198.18.0.9 dst=198.18.0.1 sport=5000 dport=8080 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=80 dport=5000 mark=0 use=1"])
        XCTAssertEqual(NFPrinter.ruleset(rs), """
        table ip t {
        \tmap portfw {
        \t\ttype inet_service : ipv4_addr . inet_service
        \t\telements = { 8080 : 198.18.0.1 . 80, 8443 : 198.18.0.1 . 443 }
        \t}

        \tchain pre {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tdnat ip to udp dport map @portfw
        \t}
        }

        """)
        // nft -j gives the data as a concatenation; typeof's form of the same map.
        XCTAssertTrue(NFJSON.encode(rs).rendered().contains(#""map":"ipv4_addr . inet_service","elem":[[8080,{"concat":["198.18.0.1",80]}]"#))
        let t = try NFParser.parse("table ip t { map m { typeof udp dport : ip daddr . udp dport; elements = { 9090 : 198.18.0.1 . 90 } }\n}")
        XCTAssertTrue(NFPrinter.ruleset(t).contains("typeof udp dport : ip daddr . udp dport\n\t\telements = { 9090 : 198.18.0.1 . 90 }"), NFPrinter.ruleset(t))
    }

    /// IPv6 (`IPV6=1 scripts/record_nat_port_map.sh`): a map of IPv6 address and port in an ip6
    /// table, listed as `dnat ip6 to udp dport map @portfw`; and `dnat to ip6 saddr map @m6` keyed
    /// by an IPv6 address (read off nft: no family word in an ip6 table, `ip6` in inet).
    func testIPv6MapsOfAddressesAndPorts() throws {
        var c = StackConfig(name: "t6", devices: [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        let peer = try IPv6Address(parsing: "2001:db8::9"), us = try IPv6Address(parsing: "2001:db8::1")
        c.neighbours6 = [Neighbour6Config(address: peer, mac: peerMAC, dev: "eth0")]
        let s = try Stack(config: c)
        let rs = try NFParser.parse("""
        table ip6 t {
          map portfw { type inet_service : ipv6_addr . inet_service; elements = { 8080 : 2001:db8::1 . 80, 8443 : 2001:db8::1 . 443 } }
          map m6 { type ipv6_addr : ipv6_addr; elements = { 2001:db8::7 : 2001:db8::1 } }
          chain pre { type nat hook prerouting priority dstnat; policy accept;
            dnat ip6 addr . port to udp dport map @portfw
            dnat to ip6 saddr map @m6
          }
        }
        """)
        s.loadRuleset(rs)
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address6: .any, port: 80)))
        let f = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                          network: .ipv6(IPv6Repr(src: peer, dst: us, nextHeader: IPProtocol.udp, hopLimit: 64), [],
                                         .udp(UDPRepr(srcPort: 5000, dstPort: 8080, payload: Array("hi".utf8))))).emit()
        XCTAssertEqual(s.inject(frame: f, device: s.devices[0]).outcome, .delivered)
        XCTAssertEqual(s.socket(1)?.queue.map { String(decoding: $0.payload, as: UTF8.self) }, ["hi"])
        XCTAssertEqual(s.conntrackListing, ["udp      17 30 src=2001:db8::9 dst=2001:db8::1 sport=5000 dport=8080 [UNREPLIED] src=2001:db8::1 dst=2001:db8::9 sport=80 dport=5000 mark=0 use=1"])
        let text = NFPrinter.ruleset(rs)
        for line in ["type inet_service : ipv6_addr . inet_service\n\t\telements = { 8080 : 2001:db8::1 . 80, 8443 : 2001:db8::1 . 443 }",
                     "type ipv6_addr : ipv6_addr\n\t\telements = { 2001:db8::7 : 2001:db8::1 }",
                     "\t\tdnat ip6 to udp dport map @portfw\n", "\t\tdnat to ip6 saddr map @m6\n"] {
            XCTAssertTrue(text.contains(line), text)
        }
        let inet = try NFParser.parse("table inet u { map m6 { type ipv6_addr : ipv6_addr; }\n chain pre { type nat hook prerouting priority dstnat; dnat ip6 to ip6 saddr map @m6\n }\n}")
        XCTAssertTrue(NFPrinter.ruleset(inet).contains("dnat ip6 to ip6 saddr map @m6"), NFPrinter.ruleset(inet))
    }

    /// Named data maps keyed by a concatenation (read off nft 1.0.6: `type ipv4_addr . inet_service
    /// : mark`, `: ipv4_addr . inet_service`, `typeof ip saddr . udp sport : ip daddr`), looked up
    /// with the key packed as rules read it.
    func testMapsKeyedByAConcatenation() throws {
        let s = try makeStack()
        let rs = try NFParser.parse("""
        table ip t {
          map mm { type ipv4_addr . inet_service : mark; elements = { 198.18.0.9 . 5000 : 0x7 } }
          map nm { type ipv4_addr . inet_service : ipv4_addr . inet_service; elements = { 198.18.0.9 . 5000 : 198.18.0.1 . 80 } }
          map am { typeof ip saddr . udp sport : ip daddr; elements = { 198.18.0.9 . 5000 : 198.18.0.1 } }
          chain pre { type nat hook prerouting priority dstnat; policy accept;
            meta mark set ip saddr . udp sport map @mm
            dnat ip addr . port to ip saddr . udp sport map @nm
            dnat to ip saddr . udp sport map @am
          }
          chain in { type filter hook input priority 0; meta mark 7 counter
          }
        }
        """)
        s.loadRuleset(rs)
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address: .any, port: 80)))
        let r = s.inject(frame: frame(ident: 1, .udp(UDPRepr(srcPort: 5000, dstPort: 7, payload: Array("hi".utf8)))), device: s.devices[0])
        XCTAssertEqual(r.outcome, .delivered)
        XCTAssertEqual(s.conntrackListing, ["udp      17 30 src=198.18.0.9 dst=198.18.0.1 sport=5000 dport=7 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=80 dport=5000 mark=0 use=1"])
        let text = s.listRuleset(handles: false)
        for line in ["type ipv4_addr . inet_service : mark\n\t\telements = { 198.18.0.9 . 5000 : 0x00000007 }",
                     "type ipv4_addr . inet_service : ipv4_addr . inet_service\n\t\telements = { 198.18.0.9 . 5000 : 198.18.0.1 . 80 }",
                     "typeof ip saddr . udp sport : ip daddr\n\t\telements = { 198.18.0.9 . 5000 : 198.18.0.1 }",
                     "\t\tmeta mark set ip saddr . udp sport map @mm\n", "\t\tdnat ip to ip saddr . udp sport map @nm\n",
                     "\t\tdnat to ip saddr . udp sport map @am\n", "meta mark 0x00000007 counter packets 1 bytes 30"] {
            XCTAssertTrue(text.contains(line), text)
        }
    }
}
