@testable import Kernel
import NFTables
import Wire
import XCTest

/// Named data maps keyed by an Ethernet address, an interface name and a protocol, as nft 1.0.6
/// loads and lists them (read off the real nft): a key found sets the mark, a key missing breaks
/// the rule (nft_lookup's NFT_BREAK), so a later rule's mark stays.
final class DataMapKeyTests: XCTestCase {
    func testMapsKeyedByMACNameAndProtocol() throws {
        let s = try makeStack()
        let rs = try NFParser.parse("""
        table ip f {
          map m { type ether_addr : mark; elements = { 02:00:00:00:ff:01 : 3 } }
          map i { type ifname : mark; elements = { "lo" : 4 } }
          map p { type inet_proto : mark; elements = { tcp : 5 } }
          chain fw { type filter hook input priority 0;
            meta mark set ether saddr map @m
            meta mark set iifname map @i
            meta mark set meta l4proto map @p
            meta mark 3 counter
            meta mark 5 counter
          }
        }
        """)
        s.loadRuleset(rs)
        _ = s.inject(frame: frame(ident: 1, .udp(UDPRepr(srcPort: 5000, dstPort: 9, payload: []))), device: s.devices[0])
        _ = s.inject(frame: frame(ident: 2, .tcp(TCPRepr(srcPort: 5000, dstPort: 9, seq: 1, ack: 0, flags: .syn, window: 512))), device: s.devices[0])
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip f {
        \tmap m {
        \t\ttype ether_addr : mark
        \t\telements = { 02:00:00:00:ff:01 : 0x00000003 }
        \t}

        \tmap i {
        \t\ttype ifname : mark
        \t\telements = { "lo" : 0x00000004 }
        \t}

        \tmap p {
        \t\ttype inet_proto : mark
        \t\telements = { tcp : 0x00000005 }
        \t}

        \tchain fw {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tmeta mark set ether saddr map @m
        \t\tmeta mark set iifname map @i
        \t\tmeta mark set meta l4proto map @p
        \t\tmeta mark 0x00000003 counter packets 1 bytes 28
        \t\tmeta mark 0x00000005 counter packets 1 bytes 40
        \t}
        }

        """)
    }
}
