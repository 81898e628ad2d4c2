@testable import Kernel
import Wire
import XCTest

/// IPV6_MTU_DISCOVER on AF_INET6 UDP sockets, as scripts/record_ipv6_mtu_discover.sh recorded it on
/// Linux 6.18: per value, 1600 bytes to its own destination over a 1500-byte link, then a packet too
/// big (1280) for that destination, then 1400 bytes twice. The answers and the fragments each made.
extension UDP6ConnectTests {
    func testIPV6MTUDiscoverAsTheKernelAnswered() throws {
        var c = StackConfig(name: "m6", devices: [DeviceConfig(name: "eth0", mac: ourMAC)])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.neighbours6 = try (20...25).map { Neighbour6Config(address: try IPv6Address(parsing: "2001:db8::\($0)"), mac: peerMAC, dev: "eth0") }
        let s = try Stack(config: c)
        let us = try IPv6Address(parsing: "2001:db8::1")
        var answers: [String] = []
        for (m, mode) in SocketConfig.PMTUDisc6.allCases.enumerated() {
            let dst = try IPv6Address(parsing: "2001:db8::\(20 + m)")
            var cfg = SocketConfig(id: m + 1, proto: .udp, address6: .any, port: UInt16(5100 + m))
            cfg.pmtudisc6 = mode
            XCTAssertNil(s.bind(cfg))
            func send(_ n: Int) -> String {
                let r = s.send([Send(socket: m + 1, dst6: dst, port: 6000, payload: [UInt8](repeating: 0x78, count: n))])[0]
                return r.errno ?? "\(r.emitted.count) frames"
            }
            var line = "\(mode.rawValue) 1600: \(send(1600))"
            // What the destination's router would quote: the datagram's IPv6 and UDP headers.
            let quoted = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.ipv6),
                                   network: .ipv6(IPv6Repr(src: us, dst: dst, nextHeader: IPProtocol.udp, hopLimit: 64), [],
                                                  .udp(UDPRepr(srcPort: UInt16(5100 + m), dstPort: 6000, payload: [UInt8](repeating: 0, count: 1400))))).emit()
            _ = s.inject(frame: icmp6Error(type: ICMPv6Repr.packetTooBig, info: 1280, quoting: quoted), device: s.devices[0])
            line += "; after PTB 1280, 1400: \(send(1400)), again: \(send(1400))"
            answers.append(line)
        }
        // Fragments are frames here (the recording counted Ip6FragCreates); a whole datagram is one.
        XCTAssertEqual(answers, [
            "dont 1600: 2 frames; after PTB 1280, 1400: 2 frames, again: 2 frames",
            "want 1600: 2 frames; after PTB 1280, 1400: 2 frames, again: 2 frames",
            "do 1600: EMSGSIZE; after PTB 1280, 1400: EMSGSIZE, again: EMSGSIZE",
            "probe 1600: EMSGSIZE; after PTB 1280, 1400: 1 frames, again: 1 frames",
            "interface 1600: EMSGSIZE; after PTB 1280, 1400: 1 frames, again: 1 frames",
            "omit 1600: 2 frames; after PTB 1280, 1400: 1 frames, again: 1 frames",
        ])
        XCTAssertEqual(s.snmp.ip6.FragCreates, 3 * 2 + 3 * 2 + 2, "as the recording counted: dont and want 2 per send, omit 2 for its first")
    }
}
