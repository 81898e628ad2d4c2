@testable import Kernel
import NFTables
import Wire
import XCTest

/// Header writes on IPv6 packets, as `scripts/record_payload_set6.sh` recorded them on Linux 6.18:
/// an output chain of an ip6 table sets the hop limit, the DSCP and the UDP port of a datagram a
/// socket sends; the frame leaves a veth with them (its checksum CHECKSUM_PARTIAL, the
/// pseudo-header's sum, which a port leaves alone). The flow label is the kernel's hash: masked.
final class PayloadSet6Tests: XCTestCase {
    func testHeaderWritesOnIPv6PacketsAsTheKernelMadeThem() throws {
        let ka = try MACAddress(parsing: "5e:fc:7f:59:25:6e"), kb = try MACAddress(parsing: "f2:f5:4b:7b:11:81")
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
          }
        }
        """))
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address6: try IPv6Address(parsing: "2001:db8::1"), port: 5000)))
        let r = s.send([Send(socket: 1, dst6: peer, port: 7, payload: Array("six".utf8))])[0]
        var frame = try XCTUnwrap(r.emitted.first).frame
        frame[15] &= 0xf0; frame[16] = 0; frame[17] = 0
        XCTAssertEqual(frame.map { String(format: "%02x", $0) }.joined(),
                       "5efc7f59256ef2f54b7b118186dd62000000000b110720010db800000000000000000000000120010db80000000000000000000000091388270f000b5b98736978")
    }
}
