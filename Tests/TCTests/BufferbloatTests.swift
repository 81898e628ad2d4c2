import Kernel
import TC
import Wire
import XCTest

/// The bufferbloat experiment: a host's 1 Gbit/s NIC shaped to 10 Mbit/s by tbf, a bulk UDP flow
/// at 20 Mbit/s (1000-byte datagrams, 2400 a second) and a sparse flow of 100-byte datagrams every
/// 10 ms, for three seconds of virtual time. The sparse flow's queueing delay is the time from its
/// sendto to its frame on the wire.
final class BufferbloatTests: XCTestCase {
    struct Measured {
        var sparseDelaysUs: [Int]
        var sparseLost: Int
        var bulkDelaysUs: [Int]
        var bulkEAGAIN: Int
        var qdiscs: [QdiscInfo]
        func percentile(_ xs: [Int], _ p: Int) -> Int { let s = xs.sorted(); return s.isEmpty ? -1 : s[min(s.count - 1, s.count * p / 100)] }
        var sparseP50: Int { percentile(sparseDelaysUs, 50) }
        var sparseMax: Int { sparseDelaysUs.max() ?? -1 }
        var bulkP50: Int { percentile(bulkDelaysUs, 50) }
    }

    func experiment(child: String, root: String? = nil, sparseTOS: UInt8 = 0, bulkSndbuf: Int? = 4_194_304) throws -> Measured {
        var eth = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [try IPv4CIDR(parsing: "198.18.0.2/24")])
        eth.speedMbps = 1000
        var c = StackConfig(name: "host", devices: [eth], neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")])
        c.qdiscs = try TC.build(root.map { ["qdisc add dev eth0 root handle 1: " + $0] } ?? ["qdisc add dev eth0 root handle 1: tbf rate 10mbit burst 10kb latency 5s",
                                 "qdisc add dev eth0 parent 1:1 handle 10: " + child], devices: ["eth0"])
        var bulk = SocketConfig(id: 1, proto: .udp, port: 4000)
        bulk.sndbuf = bulkSndbuf
        var sparse = SocketConfig(id: 2, proto: .udp, port: 4001)
        sparse.tos = sparseTOS
        c.sockets = [bulk, sparse]
        let s = try Stack(config: c)
        s.tracing = false
        var sends: [Send] = []
        for i in 0..<7200 { sends.append(Send(socket: 1, dst: IPv4Address(198, 18, 0, 1), port: 5000, payload: [UInt8](repeating: 0, count: 1000), atNs: UInt64(i) * 1_000_000_000 / 2400)) }
        for i in 0..<300 { sends.append(Send(socket: 2, dst: IPv4Address(198, 18, 0, 1), port: 5001, payload: [UInt8](repeating: 1, count: 100), atNs: UInt64(i) * 10_000_000 + 3_000_000)) }
        sends.sort { $0.atNs! < $1.atNs! }
        let rs = s.send(sends)
        var m = Measured(sparseDelaysUs: [], sparseLost: 0, bulkDelaysUs: [], bulkEAGAIN: 0, qdiscs: s.qdiscInfo())
        for (r, q) in zip(rs, sends) {
            let delay = r.emitted.first.map { Int($0.timeNs - r.startNs) / 1000 }
            if q.socket == 2 {
                if let delay { m.sparseDelaysUs.append(delay) } else { m.sparseLost += 1 }
            } else {
                if let delay { m.bulkDelaysUs.append(delay) }
                if r.errno == "EAGAIN" { m.bulkEAGAIN += 1 }
            }
        }
        return m
    }

    /// tbf + pfifo 1000: the queue fills (1000 × 0.83 ms) and tail-drops; the sparse flow waits
    /// hundreds of ms and loses two thirds of its packets.
    func testTBFWithALongFIFOBloats() throws {
        let m = try experiment(child: "pfifo limit 1000")
        XCTAssertEqual([m.sparseP50, m.sparseMax, m.sparseLost], [471_231, 827_048, 206])
        XCTAssertEqual(m.qdiscs[1].stats.drops, 2811)
        XCTAssertEqual(m.bulkEAGAIN, 0)
    }

    /// fq_codel: the sparse flow is a new flow each time and goes first: under a millisecond,
    /// nothing lost. The bulk flow does not answer drops, so CoDel (drops at interval/sqrt(count))
    /// cannot hold it at 5 ms in three seconds: its own queue grows towards fq_codel's limit.
    func testFQCoDelKeepsTheSparseFlowClear() throws {
        let m = try experiment(child: "fq_codel")
        XCTAssertEqual([m.sparseP50, m.sparseMax, m.sparseLost], [531, 946, 0])
        XCTAssertEqual(m.qdiscs[1].stats.drops, 745)
        XCTAssertEqual(m.qdiscs[1].fqCodelStats?.newFlowCount, 320)
        XCTAssertEqual(m.bulkP50, 1_289_288)
    }

    /// pfifo_fast with the sparse flow at TOS 0x10 (priority 6, band 0): it waits at most for the
    /// tokens of its own 142 bytes.
    func testPfifoFastBandZeroStaysNearZero() throws {
        let m = try experiment(child: "pfifo_fast", sparseTOS: 0x10)
        XCTAssertEqual([m.sparseP50, m.sparseMax, m.sparseLost], [0, 112, 0])
    }

    /// The default send buffer (212992 bytes: 92 datagrams of 2304) is the bottleneck: the bulk
    /// sender sees EAGAIN, the queue stays under a hundred packets and nothing is dropped.
    func testTheSendBufferBoundsTheQueue() throws {
        let m = try experiment(child: "pfifo limit 1000", bulkSndbuf: nil)
        XCTAssertEqual([m.sparseMax, m.sparseLost, m.bulkEAGAIN], [78_339, 0, 3539])
        XCTAssertEqual(m.qdiscs[1].stats.drops, 0)
    }

    /// cake shaping to 10 Mbit/s itself (no tbf): the sparse flow is a sparse flow each time and
    /// goes first (under a millisecond, nothing lost); the bulk flow, which answers no drop, meets
    /// COBALT and then the 4 MiB memory limit, whose overflow drops turn BLUE on (un_flows 1).
    func testCakeShapesAndIsolates() throws {
        let m = try experiment(child: "", root: "cake bandwidth 10mbit")
        XCTAssertEqual([m.sparseP50, m.sparseMax, m.sparseLost], [418, 832, 0])
        XCTAssertEqual([m.qdiscs[0].stats.packets, m.qdiscs[0].stats.drops, m.qdiscs[0].stats.overlimits], [5094, 2406, 17680])
        XCTAssertEqual(m.bulkP50, 969_837)
        let t = m.qdiscs[0].cakeStats!.tins[1]
        XCTAssertEqual([t.packets, t.drops, t.wayMisses, t.bulkFlows, t.unresponsiveFlows, t.peakDelayUs / 1000], [7500, 2406, 2, 1, 1, 1030])
        XCTAssertEqual(m.qdiscs[0].cakeStats!.memoryUsed, 4_195_584)
    }
}
