@testable import Kernel
import Wire
import XCTest

/// GRO merges what `tcp_gro_receive` would merge, and flushes on its conditions.
final class GROTests: XCTestCase {
    func seg(_ i: Int, len: Int = 100, flags: TCPFlags = .ack, ttl: UInt8 = 64, id: UInt16? = nil, seq: UInt32? = nil, options: [UInt8] = []) -> [UInt8] {
        frame(ttl: ttl, ident: id ?? UInt16(i), .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: seq ?? UInt32(1000 + i * len), ack: 1, flags: flags,
                                                              options: options, payload: [UInt8](repeating: UInt8(i), count: len))))
    }

    func burst(_ frames: [[UInt8]]) throws -> (Stack, [PacketResult]) {
        let s = try makeStack(sysctls: ["net.ipv4.icmp_ratelimit": 0])
        return (s, s.inject(frames.map { Injection(device: 0, frame: $0, atNs: 0) }))
    }

    func testEightInOrderSegmentsGoUpAsOneSkb() throws {
        let (s, rs) = try burst((0..<8).map { seg($0) })
        XCTAssertEqual(rs[0].segments, 8)
        XCTAssertEqual(rs[0].stageNames.filter { $0 == "tcp_v4_rcv" }.count, 1)
        XCTAssertTrue(rs[0].stageNames.contains("napi_gro_flush"))
        XCTAssertEqual(rs.dropFirst().map(\.outcome), Array(repeating: .consumed, count: 7))
        XCTAssertEqual(rs.dropFirst().map { $0.stageNames.last }, Array(repeating: "consume_skb", count: 7))
        XCTAssertEqual(s.devices[0].stats.rx_gro_packets, 7)
        XCTAssertEqual(s.devices[0].stats.rx_gro_bytes, 700)
        XCTAssertEqual(s.snmp.tcp.InSegs, 1)
        XCTAssertEqual(s.softnetStats[0].processed, 1)
    }

    func testWhatMustNotMerge() throws {
        let cases: [(String, [[UInt8]], Int)] = [
            ("sequence gap", [seg(0), seg(2)], 2),
            ("TTL differs", [seg(0), seg(1, ttl: 63)], 2),
            ("IP ID not consecutive", [seg(0, id: 5), seg(1, id: 9)], 2),
            ("flags differ (URG)", [seg(0), seg(1, flags: [.ack, .urg])], 2),
            ("SYN", [frame(.tcp(TCPRepr(srcPort: 40000, dstPort: 80, flags: .syn))), seg(0)], 2),
            ("options differ", [seg(0, options: [1, 1, 1, 0]), seg(1, options: [1, 1, 1, 1])], 2),
            ("longer than mss", [seg(0, len: 50), seg(1, len: 100, seq: 1050)], 2),
            ("pure ACKs", [seg(0, len: 0), seg(1, len: 0, seq: 1000)], 2),
        ]
        for (name, frames, upward) in cases {
            let (s, rs) = try burst(frames)
            XCTAssertEqual(rs.filter { $0.stageNames.contains("tcp_v4_rcv") }.count, upward, name)
            XCTAssertEqual(rs.map(\.segments), Array(repeating: 1, count: frames.count), name)
            XCTAssertEqual(s.devices[0].stats.rx_gro_packets, 0, name)
        }
    }

    func testPSHIsMergedThenFlushesAndAShortSegmentEndsTheBurst() throws {
        let (_, rs) = try burst([seg(0), seg(1, flags: [.ack, .psh]), seg(2)])
        XCTAssertEqual(rs[0].segments, 2)
        XCTAssertEqual(rs[1].outcome, .consumed)
        XCTAssertEqual(rs[2].segments, 1)
        XCTAssertTrue(rs[2].stageNames.contains("tcp_v4_rcv"))
        let (_, short) = try burst([seg(0), seg(1, len: 40, seq: 1100), seg(2, len: 100, seq: 1140)])
        XCTAssertEqual(short[0].segments, 2)
        XCTAssertEqual(short[2].segments, 1)
    }

    func testBadChecksumIsNotMerged() throws {
        var bad = seg(1)
        bad[bad.count - 1] ^= 0xff
        let (_, rs) = try burst([seg(0), bad, seg(2)])
        XCTAssertEqual(rs[1].dropReason, .TCP_CSUM)
        XCTAssertEqual(rs[0].segments, 1)
    }
}
