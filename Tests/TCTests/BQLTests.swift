@testable import Kernel
import Wire
import XCTest

/// Byte queue limits (lib/dynamic_queue_limits.c) on a 1 Gbit/s NIC: the limit starts at 0, so
/// the first frame stops the queue; each completion that finds the ring empty after being over
/// the limit (starved) grows it by what was sent and completed meanwhile.
final class BQLTests: XCTestCase {
    func stack(bql: Bool?) throws -> Stack {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, 2), prefixLength: 24)])
        e0.speedMbps = 1000
        e0.bql = bql
        let c = StackConfig(name: "b", cpus: 1, devices: [e0], neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")],
                            sockets: [SocketConfig(id: 1, proto: .udp, port: 4000)])
        return try Stack(config: c)
    }

    func burst(_ s: Stack) -> [PacketResult] {
        s.send((0..<20).map { _ in Send(socket: 1, dst: IPv4Address(198, 18, 0, 1), port: 9, payload: [UInt8](repeating: 0, count: 1000), atNs: 0) })
    }

    func testLimitGrowsFromZero() throws {
        let s = try stack(bql: nil)
        let rs = burst(s)
        XCTAssertEqual(rs.map(\.outcome), Array(repeating: .transmitted, count: 20))
        let d = s.devices[0]
        // The first completion (8528 ns of wire for 1042 bytes) found the ring empty while over
        // the limit: the limit became 1042, so two frames are on the ring from then on and the
        // wire never idles; the rest wait in pfifo_fast (each stop requeues what was dequeued).
        XCTAssertEqual(d.byteQueueLimits!.limit, 1042)
        XCTAssertEqual(d.byteQueueLimits!.inflight, 0)
        XCTAssertEqual(s.qdiscInfo()[0].stats.requeues, 15)
        let handed = rs.flatMap(\.emitted).map(\.timeNs)
        XCTAssertEqual(Array(handed.prefix(4)), [620, 9530, 9590, 18118])
        XCTAssertEqual(zip(handed.dropFirst(3), handed.dropFirst(4)).map { $1 - $0 }, Array(repeating: 8528, count: 16))
    }

    func testOffForAVethOrWhenAsked() throws {
        XCTAssertNil(try stack(bql: false).devices[0].byteQueueLimits)
        let s = try stack(bql: false)
        let rs = burst(s)
        // Without BQL the ring (256 descriptors) takes each datagram as the process sends it
        // (620 ns of CPU apiece): nothing waits in the qdisc.
        XCTAssertEqual(s.qdiscInfo()[0].stats.requeues, 0)
        XCTAssertEqual(rs.flatMap(\.emitted).map(\.timeNs), (1...20).map { UInt64($0) * 620 })
    }
}
