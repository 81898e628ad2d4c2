@testable import Kernel
import NFTables
import Wire
import XCTest

/// Header writes on IPv6 packets, as `scripts/record_payload_set6.sh` recorded them on Linux 6.18:
/// an output chain of an ip6 table sets the hop limit, the DSCP and the UDP port of a datagram a
/// socket sends, and rewrites another's source address; the frames leave a veth with them (the
/// checksum CHECKSUM_PARTIAL: the pseudo-header's sum, which a port leaves alone and an address
/// moves). The flow label is the kernel's hash: masked.
final class PayloadSet6Tests: XCTestCase {
    func testHeaderWritesOnIPv6PacketsAsTheKernelMadeThem() throws {
        let ka = try MACAddress(parsing: "ae:b7:87:e2:32:0a"), kb = try MACAddress(parsing: "6a:30:48:57:b0:42")
        var dev = DeviceConfig(name: "vb", mac: kb, addresses: [])
        dev.addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        dev.veth = true
        var c = StackConfig(name: "kb", devices: [dev])
        let peer = try IPv6Address(parsing: "2001:db8::9")
        c.neighbours6 = [Neighbour6Config(address: peer, mac: ka, dev: "vb")]
        let s = try Stack(config: c)
        s.loadRuleset(try NFParser.parse("""
        table ip6 t {
          chain out { type filter hook output priority 0; policy accept;
            udp dport 7 ip6 hoplimit set 7 ip6 dscp set cs1 udp dport set 9999
            udp dport 8 ip6 saddr set 2001:db8::5
            udp dport 9 udp sport set udp dport
            udp dport 10 ip6 saddr set ip6 daddr
          }
        }
        """))
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address6: try IPv6Address(parsing: "2001:db8::1"), port: 5000)))
        func sent(_ port: UInt16) throws -> String {
            var frame = try XCTUnwrap(s.send([Send(socket: 1, dst6: peer, port: port, payload: Array("six".utf8))])[0].emitted.first).frame
            frame[15] &= 0xf0; frame[16] = 0; frame[17] = 0
            return frame.map { String(format: "%02x", $0) }.joined()
        }
        XCTAssertEqual(try sent(7), "aeb787e2320a6a304857b04286dd62000000000b110720010db800000000000000000000000120010db80000000000000000000000091388270f000b5b98736978")
        // The source rewritten: the checksum's pseudo-header sum moves with it (5b98 to 5b9c).
        XCTAssertEqual(try sent(8), "aeb787e2320a6a304857b04286dd60000000000b114020010db800000000000000000000000520010db800000000000000000000000913880008000b5b9c736978")
        // A field from another: the source port becomes the destination's.
        XCTAssertEqual(try sent(9), "aeb787e2320a6a304857b04286dd60000000000b114020010db800000000000000000000000120010db800000000000000000000000900090009000b5b98736978")
        // An address from another (not recorded: the same write with the value the packet holds):
        // the source becomes the destination, and the pseudo-header's sum moves by 8.
        XCTAssertEqual(try sent(10), "aeb787e2320a6a304857b04286dd60000000000b114020010db800000000000000000000000920010db80000000000000000000000091388000a000b5ba0736978")
        // The source from a map keyed by the destination: the recorded frame of port 8's write.
        s.loadRuleset(try NFParser.parse("table ip6 t {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n"
            + "\t\tudp dport 8 ip6 saddr set ip6 daddr map { 2001:db8::9 : 2001:db8::5, 2001:db8::a : 2001:db8::6 }\n\t}\n}\n"))
        XCTAssertEqual(try sent(8), "aeb787e2320a6a304857b04286dd60000000000b114020010db800000000000000000000000520010db800000000000000000000000913880008000b5b9c736978")
        // The same from named maps, keyed by the address or by the port; a key without an element
        // leaves the datagram as it was (port 9's frame with port 11).
        s.loadRuleset(try NFParser.parse("""
        table ip6 t {
          map by6 { type ipv6_addr : ipv6_addr; elements = { 2001:db8::a : 2001:db8::6, 2001:db8::9 : 2001:db8::5 } }
          map byport { typeof udp dport : ip6 saddr; elements = { 8 : 2001:db8::5 } }
          chain out { type filter hook output priority 0; policy accept;
            udp dport 8 ip6 saddr set ip6 daddr map @by6 counter
            udp dport { 8, 11 } ip6 saddr set udp dport map @byport counter
          }
        }
        """))
        XCTAssertEqual(try sent(8), "aeb787e2320a6a304857b04286dd60000000000b114020010db800000000000000000000000520010db800000000000000000000000913880008000b5b9c736978")
        XCTAssertEqual(try sent(11), "aeb787e2320a6a304857b04286dd60000000000b114020010db800000000000000000000000120010db80000000000000000000000091388000b000b5b98736978")
        let listed = s.listRuleset(handles: false).split(separator: "\n").filter { $0.contains("counter") }.map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(listed, ["udp dport 8 ip6 saddr set ip6 daddr map @by6 counter packets 1 bytes 51", "udp dport { 8, 11 } ip6 saddr set udp dport map @byport counter packets 1 bytes 51"])
    }
}
