@testable import Kernel
import NFTables
import Wire
import XCTest

/// nft's `fwd` in a netdev ingress chain, as `scripts/record_fwd.sh` recorded it on Linux 6.18:
/// `fwd to "vd"` sends the frame out of vd as it came; `fwd ip to 198.18.1.2 device "vd"` asks
/// ARP for the neighbour and sends the datagram to it one hop less (TTL 63, checksum fixed);
/// a device that is gone frees the packet. Each rule's counter counts the IP length (31 bytes).
final class FwdTests: XCTestCase {
    func testFwdSendsOutOfAnotherDeviceOrToANeighbour() throws {
        let vb = try MACAddress(parsing: "32:6c:21:60:51:be"), vd = try MACAddress(parsing: "8e:7c:6a:ae:69:ff")
        let vc = try MACAddress(parsing: "e6:d5:5d:68:86:73"), ka = MACAddress(2, 0, 0, 0, 0, 9)
        let s = try Stack(config: StackConfig(name: "kb", devices: [
            DeviceConfig(name: "vb", mac: vb, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
            DeviceConfig(name: "vd", mac: vd, addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")]),
        ]))
        s.loadRuleset(try NFParser.parse("""
        table netdev t {
          chain c { type filter hook ingress device "vb" priority 0;
            udp sport 1001 counter fwd to "vd"
            udp sport 1002 counter fwd ip to 198.18.1.2 device "vd"
            udp sport 1003 counter fwd to "vd2"
          }
        }
        """))
        func datagram(_ sport: UInt16) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: vb, src: ka, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, ttl: 64, ident: sport, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: sport, dstPort: 9, payload: Array("fwd".utf8))))).emit()
        }
        let hex = { (f: [UInt8]) in f.map { String(format: "%02x", $0) }.joined() }
        let whole = s.inject(frame: datagram(1001), device: s.devices[0])
        XCTAssertEqual(whole.emitted.map { "\($0.device) " + hex($0.frame) }, ["vd 326c216051be02000000000908004500001f03e900004011eab6c6120009c612000103e90009000ba53f667764"])
        XCTAssertEqual(whole.nfEvents.last?.verdict, "stolen")
        let neigh = s.inject(frame: datagram(1002), device: s.devices[0])
        XCTAssertEqual(neigh.emitted.map { "\($0.device) " + hex($0.frame) }, ["vd ffffffffffff8e7c6aae69ff080600010800060400018e7c6aae69ffc6120101000000000000c6120102"])
        let reply = FrameRepr(ethernet: EthernetRepr(dst: vd, src: vc, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: 2, senderMAC: vc, senderIP: IPv4Address(198, 18, 1, 2), targetMAC: vd, targetIP: IPv4Address(198, 18, 1, 1)))).emit()
        let queued = s.inject(frame: reply, device: s.devices[1])
        XCTAssertEqual(queued.emitted.map { "\($0.device) " + hex($0.frame) }, ["vd e6d55d6886738e7c6aae69ff08004500001f03ea00003f11ebb5c6120009c612000103ea0009000ba53e667764"])
        let gone = s.inject(frame: datagram(1003), device: s.devices[0])
        XCTAssertEqual(["\(gone.outcome)", gone.dropReason.map { "\($0)" } ?? "-", "\(gone.emitted.count)"], ["dropped", "NOT_SPECIFIED", "0"])
        let listing = s.listRuleset(handles: false)
        for rule in ["udp sport 1001 counter packets 1 bytes 31 fwd to \"vd\"", "udp sport 1002 counter packets 1 bytes 31 fwd ip to 198.18.1.2 device \"vd\"",
                     "udp sport 1003 counter packets 1 bytes 31 fwd to \"vd2\""] {
            XCTAssertTrue(listing.contains(rule), listing)
        }
        XCTAssertThrowsError(try NFParser.parse("table ip t { chain c { type filter hook input priority 0; fwd to \"vd\"\n }\n}")) { e in
            XCTAssertEqual((e as? NFSyntaxError)?.message, "unsupported family")
        }
    }
}
