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
}
