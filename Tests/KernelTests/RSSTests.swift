@testable import Kernel
import Wire
import XCTest

/// The Microsoft RSS verification suite (../shared/facts/linux-net.md §B): key, inputs, hashes.
final class RSSTests: XCTestCase {
    struct Vector { var dst: String; var dport: UInt16; var src: String; var sport: UInt16; var ipOnly: UInt32; var withTCP: UInt32 }
    static let vectors: [Vector] = [
        Vector(dst: "161.142.100.80", dport: 1766, src: "66.9.149.187", sport: 2794, ipOnly: 0x323e8fc2, withTCP: 0x51ccc178),
        Vector(dst: "65.69.140.83", dport: 4739, src: "199.92.111.2", sport: 14230, ipOnly: 0xd718262a, withTCP: 0xc626b0ea),
        Vector(dst: "12.22.207.184", dport: 38024, src: "24.19.198.95", sport: 12898, ipOnly: 0xd2d0a5de, withTCP: 0x5c2b394a),
        Vector(dst: "209.142.163.6", dport: 2217, src: "38.27.205.30", sport: 48228, ipOnly: 0x82989176, withTCP: 0xafc7327f),
        Vector(dst: "202.188.127.2", dport: 1303, src: "153.39.163.191", sport: 44251, ipOnly: 0x5d1809c5, withTCP: 0x10e828a2),
    ]

    func testToeplitzReproducesTheVerificationSuite() throws {
        for v in Self.vectors {
            let src = try IPv4Address(parsing: v.src), dst = try IPv4Address(parsing: v.dst)
            var input: [UInt8] = []
            for a in [src, dst] { input += [UInt8(a.raw >> 24), UInt8((a.raw >> 16) & 0xff), UInt8((a.raw >> 8) & 0xff), UInt8(a.raw & 0xff)] }
            XCTAssertEqual(RSS.toeplitz(key: RSS.verificationKey, input: input), v.ipOnly, v.dst)
            input += [UInt8(v.sport >> 8), UInt8(v.sport & 0xff), UInt8(v.dport >> 8), UInt8(v.dport & 0xff)]
            XCTAssertEqual(RSS.toeplitz(key: RSS.verificationKey, input: input), v.withTCP, v.dst)
        }
    }

    /// The suite's IPv6 vectors (the same key): addresses, then ports; and a frame hashed by the NIC.
    func testToeplitzReproducesTheIPv6Vectors() throws {
        let v6: [(dst: String, dport: UInt16, src: String, sport: UInt16, ipOnly: UInt32, withTCP: UInt32)] = [
            ("3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d),
            ("ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf),
            ("fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985, 0x02d1feef),
        ]
        let rss = RSS(indirection: RSS.defaultIndirection(queues: 4))
        for v in v6 {
            let src = try IPv6Address(parsing: v.src), dst = try IPv6Address(parsing: v.dst)
            var input = src.bytes + dst.bytes
            XCTAssertEqual(RSS.toeplitz(key: RSS.verificationKey, input: input), v.ipOnly, v.dst)
            input += [UInt8(v.sport >> 8), UInt8(v.sport & 0xff), UInt8(v.dport >> 8), UInt8(v.dport & 0xff)]
            XCTAssertEqual(RSS.toeplitz(key: RSS.verificationKey, input: input), v.withTCP, v.dst)
            let tcp = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                                network: .ipv6(IPv6Repr(src: src, dst: dst, nextHeader: IPProtocol.tcp), [],
                                               .tcp(TCPRepr(srcPort: v.sport, dstPort: v.dport, flags: .syn)))).emit()
            XCTAssertEqual(rss.hash(frame: tcp), v.withTCP, v.dst)
            let frag = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                                 network: .ipv6(IPv6Repr(src: src, dst: dst, nextHeader: IPProtocol.fragment),
                                                [.fragment(next: IPProtocol.tcp, offset: 0, more: true, ident: 1)], .raw([UInt8](repeating: 0, count: 24)))).emit()
            XCTAssertEqual(rss.hash(frame: frag), v.ipOnly, v.dst)
        }
    }

    /// The NIC hashes the frame the same way: TCP 4-tuple, and the 2-tuple for fragments.
    func testFrameHashAndQueueChoice() throws {
        let v = Self.vectors[0]
        let src = try IPv4Address(parsing: v.src), dst = try IPv4Address(parsing: v.dst)
        let tcp = frame(src: src, dst: dst, .tcp(TCPRepr(srcPort: v.sport, dstPort: v.dport, flags: .syn)))
        let rss = RSS(indirection: RSS.defaultIndirection(queues: 4))
        XCTAssertEqual(rss.hash(frame: tcp), v.withTCP)
        XCTAssertEqual(rss.queue(for: v.withTCP), Int(v.withTCP & 127) % 4)
        let frag = frame(src: src, dst: dst, mf: true, .raw([1, 2, 3, 4, 5, 6, 7, 8]), proto: 6)
        XCTAssertEqual(rss.hash(frame: frag), v.ipOnly)
    }

    func testQueuesFollowTheIndirectionTable() throws {
        // Every bucket to queue 2 of 4: every frame lands on rx-2, whose IRQ goes to CPU 2 % cpus.
        let s = try makeStack(cpus: 4) { $0.rxQueues = 4; $0.rssIndirection = Array(repeating: 2, count: 128) }
        let r = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 9))), device: s.devices[0])
        XCTAssertEqual(r.rxQueue, 2)
        XCTAssertEqual(r.stages[1].cpu, 2)
        XCTAssertThrowsError(try makeStack { $0.rxQueues = 2; $0.rssIndirection = [0, 1, 2] }) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "/devices/0/rss_indirection")
        }
    }
}
