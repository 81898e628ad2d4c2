@testable import Kernel
import Wire
import XCTest

/// Interrupts, NAPI weight, netdev_budget, time_squeeze, rings and backlogs in virtual time.
final class NAPITests: XCTestCase {
    func udp(_ i: Int, dport: UInt16 = 9) -> [UInt8] { frame(.udp(UDPRepr(srcPort: UInt16(1000 + i), dstPort: dport))) }

    func testABurstIsPolledUnderOneInterruptWithinWeightAndBudget() throws {
        // 700 frames at once: one IRQ; polls of 64; the 300-packet budget runs out twice (squeezes).
        let s = try makeStack(sysctls: ["net.ipv4.icmp_ratelimit": 0]) { $0.ringSize = 1024 }
        s.tracing = false
        let rs = s.inject((0..<700).map { Injection(device: 0, frame: udp($0), atNs: 0) })
        XCTAssertEqual(rs.filter { $0.dropReason == .NO_SOCKET }.count, 700)
        XCTAssertEqual(s.devices[0].stats.rx_interrupts, 1)
        let sn = s.softnetStats[0]
        XCTAssertEqual(sn.processed, 700)
        XCTAssertEqual(sn.timeSqueeze, 2)
        XCTAssertEqual(sn.dropped, 0)
    }

    func testTheRingOverflowsWhenFramesArriveFasterThanThePollDrainsThem() throws {
        // 64 descriptors; 200 frames at the same instant: the NIC can hold only 64 before the poll starts.
        let s = try makeStack { $0.ringSize = 64 }
        let rs = s.inject((0..<200).map { Injection(device: 0, frame: udp($0), atNs: 0) })
        XCTAssertEqual(rs.filter { $0.dropReason == .FULL_RING }.count, 136)
        XCTAssertEqual(s.devices[0].stats.rx_missed_errors, 136)
        XCTAssertEqual(rs[64].stageNames, ["nic_receive"])
        XCTAssertEqual(rs[63].stageNames.first, "nic_receive")
        // Spread out at 1 frame per µs the poll keeps up: nothing is missed.
        let t = try makeStack { $0.ringSize = 64 }
        let spaced = t.inject((0..<200).map { Injection(device: 0, frame: udp($0), atNs: UInt64($0) * 20_000) })
        XCTAssertEqual(spaced.filter { $0.dropReason == .FULL_RING }.count, 0)
    }

    func testInterruptsAreMaskedWhileNAPIPollsAndCoalescingDelaysThem() throws {
        // Frames 200 ns apart arrive while the poll runs: the masked interrupt does not fire for them;
        // those still in the ring when the poll completes raise it once more (napi_complete_done).
        let s = try makeStack()
        _ = s.inject((0..<10).map { Injection(device: 0, frame: udp($0), atNs: UInt64($0) * 200) })
        XCTAssertEqual(s.devices[0].stats.rx_interrupts, 2)
        // rx-usecs 50: the first frame waits for the timer; rx-frames 4 fires sooner when 4 arrive.
        let c = try makeStack { $0.rxUsecs = 50; $0.rxFrames = 0 }
        let r = c.inject(frame: udp(0), device: c.devices[0], atNs: 1000)
        XCTAssertEqual(r.stages[1].timeNs, 1000 + 50_000 + 600)
        let f = try makeStack { $0.rxUsecs = 50; $0.rxFrames = 4 }
        let rs = f.inject((0..<4).map { Injection(device: 0, frame: udp($0), atNs: UInt64($0) * 100) })
        XCTAssertEqual(rs[0].stages[1].timeNs, 300 + 600)
    }

    func testRPSSpreadsFlowsOverBacklogsAndCountsIPIs() throws {
        let s = try makeStack(cpus: 2, sysctls: ["net.ipv4.icmp_ratelimit": 0]) { $0.rpsCPUs = [[0, 1]] }
        let rs = s.inject((0..<40).map { Injection(device: 0, frame: udp($0), atNs: UInt64($0) * 5000) })
        let cpus = Set(rs.map { $0.stages.first { $0.stage == .__netif_receive_skb_core }!.cpu })
        XCTAssertEqual(cpus, [0, 1])
        XCTAssertTrue(rs.allSatisfy { $0.stageNames.contains("enqueue_to_backlog") && $0.stageNames.contains("process_backlog") })
        let stat = s.softnetStats
        XCTAssertEqual(stat[0].processed + stat[1].processed, 40)
        XCTAssertEqual(stat[1].receivedRPS, 20)
        XCTAssertEqual(stat[0].receivedRPS, 0)
        // The same flow always goes to the same CPU.
        let again = s.inject([Injection(device: 0, frame: udp(7), atNs: 10_000_000)])
        XCTAssertEqual(again[0].stages.first { $0.stage == .__netif_receive_skb_core }!.cpu,
                       rs[7].stages.first { $0.stage == .__netif_receive_skb_core }!.cpu)
    }

    func testBacklogOverflowDropsWithCPUBacklog() throws {
        // All flows to CPU 1's backlog of 10; CPU 0's poll outruns CPU 1's processing (costly UDP stage).
        var costs = ["udp_rcv": 50_000]
        costs["icmp_send"] = 0
        let dev = DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")], ringSize: 1024, rpsCPUs: [[1]])
        let s = try Stack(config: StackConfig(name: "b", cpus: 2, devices: [dev], sysctls: ["net.core.netdev_max_backlog": 10, "net.ipv4.icmp_ratelimit": 0], costs: costs))
        let rs = s.inject((0..<100).map { Injection(device: 0, frame: udp($0), atNs: 0) })
        let dropped = rs.filter { $0.dropReason == .CPU_BACKLOG }
        XCTAssertEqual(dropped.count, 88)
        XCTAssertEqual(s.softnetStats[1].dropped, dropped.count)
        XCTAssertEqual(dropped[0].stageNames.suffix(3), ["get_rps_cpu", "enqueue_to_backlog", "kfree_skb_reason"])
        XCTAssertEqual(rs.filter { $0.dropReason == .NO_SOCKET }.count + dropped.count, 100)
    }

    func testSoftnetStatHasTheKernelsShape() throws {
        let s = try makeStack(cpus: 2)
        _ = s.inject(frame: udp(1), device: s.devices[0])
        XCTAssertEqual(s.softnetStats.map(\.procLine), [
            "00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000",
            "00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000",
        ])
    }

    func testAMixedBurstGivesTheSameTracesTwice() throws {
        func run() throws -> String {
            let s = try makeStack(cpus: 2) { $0.rxQueues = 2; $0.rpsCPUs = [[0, 1], [1]]; $0.ringSize = 4 }
            _ = s.bind(SocketConfig(id: 1, proto: .udp, port: 53, rcvbuf: 4096))
            var batch: [Injection] = []
            for i in 0..<120 {
                let f: [UInt8]
                switch i % 4 {
                case 0: f = udp(i, dport: 53)
                case 1: f = frame(.tcp(TCPRepr(srcPort: UInt16(i), dstPort: 80, seq: UInt32(i), flags: .ack, payload: [1, 2, 3])))
                case 2: f = frame(.icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: UInt32(i))))
                default: f = Array(udp(i).prefix(30))
                }
                batch.append(Injection(device: 0, frame: f, atNs: UInt64(i / 10) * 3000))
            }
            return s.inject(batch).map { "\($0.outcome) \(String(describing: $0.dropReason)) q\($0.rxQueue) \($0.stages) \($0.emitted)" }.joined(separator: "\n")
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains("SOCKET_RCVBUFF"))
        XCTAssertTrue(a.contains("FULL_RING"))
    }
}

final class OffloadTests: XCTestCase {
    /// With RX checksum offload the NIC vouches for good L4 checksums (CHECKSUM_UNNECESSARY);
    /// without it `__skb_checksum_complete` runs in software. A bad checksum is caught either way.
    func testChecksumOffloadDecidesWhoVerifies() throws {
        let good = frame(.udp(UDPRepr(srcPort: 1, dstPort: 53, payload: [1, 2])))
        var bad = good
        bad[bad.count - 1] ^= 0xff
        for offload in [true, false] {
            let s = try makeStack { $0.rxChecksumOffload = offload }
            XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 53)))
            let g = s.inject(frame: good, device: s.devices[0])
            XCTAssertEqual(g.outcome, .delivered)
            XCTAssertEqual(g.stageNames.contains("__skb_checksum_complete"), !offload, "offload \(offload)")
            let b = s.inject(frame: bad, device: s.devices[0])
            XCTAssertEqual(b.dropReason, .UDP_CSUM)
            XCTAssertTrue(b.stageNames.contains("__skb_checksum_complete"), "a failing checksum is always left to software")
        }
    }
}

final class FlowLimitTests: XCTestCase {
    /// With flow limit on for CPU 1, one heavy flow filling its backlog is cut before the backlog is full,
    /// counted in softnet_stat's flow_limit_count column.
    func testOneHeavyFlowIsLimitedOnACPUInTheBitmap() throws {
        let dev = DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")], ringSize: 1024, rpsCPUs: [[1]])
        let s = try Stack(config: StackConfig(name: "f", cpus: 2, devices: [dev],
                                             sysctls: ["net.core.netdev_max_backlog": 400, "net.core.flow_limit_cpu_bitmap": 2, "net.ipv4.icmp_ratelimit": 0],
                                             costs: ["udp_rcv": 50_000, "icmp_send": 0]))
        let heavy = frame(.udp(UDPRepr(srcPort: 7, dstPort: 9)))
        let rs = s.inject((0..<600).map { _ in Injection(device: 0, frame: heavy, atNs: 0) })
        let limited = s.softnetStats[1].flowLimitCount
        XCTAssertEqual(limited, 271)
        XCTAssertEqual(rs.filter { $0.note?.hasPrefix("RPS flow limit") ?? false }.count, limited)
        XCTAssertEqual(s.softnetStats[1].backlogLength + s.softnetStats[1].processed, 329)
        // Off by default: the same burst only meets the backlog limit.
        let t = try Stack(config: StackConfig(name: "g", cpus: 2, devices: [dev], sysctls: ["net.core.netdev_max_backlog": 400], costs: ["udp_rcv": 50_000]))
        _ = t.inject((0..<600).map { _ in Injection(device: 0, frame: heavy, atNs: 0) })
        XCTAssertEqual(t.softnetStats[1].flowLimitCount, 0)
        XCTAssertEqual(t.softnetStats[1].dropped, 196)
        XCTAssertEqual(t.softnetStats[1].dropped + t.softnetStats[1].processed, 600)
    }
}
