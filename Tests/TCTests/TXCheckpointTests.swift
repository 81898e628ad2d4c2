@testable import Kernel
import TC
import Wire
import XCTest

/// A checkpoint taken while a device is mid-burst (frames on the TX ring, packets in the qdisc,
/// the watchdog armed, BQL stopped) restores a stack that goes on exactly as the saved one:
/// the same frames at the same times, the same counters, the socket's charges given back.
final class TXCheckpointTests: XCTestCase {
    static let peer = IPv4Address(198, 18, 0, 1)

    func stack(_ tc: [String], mbps: Int, bql: Bool) throws -> Stack {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, 2), prefixLength: 24)])
        e0.speedMbps = mbps
        e0.bql = bql
        let c = StackConfig(name: "c", cpus: 1, devices: [e0], neighbours: [NeighbourConfig(address: Self.peer, mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")],
                            sockets: [SocketConfig(id: 1, proto: .udp, port: 4000)])
        let s = try Stack(config: c)
        let built = try TC.buildAll(tc, devices: ["eth0"])
        if !tc.isEmpty { try s.setQdiscs(built.qdiscs, classes: built.classes) }
        return s
    }

    /// 1000-byte datagrams of socket 1 handed to dev_queue_xmit at once with these priorities
    /// in turn; the run is not let go on, so they stay where they are.
    func burst(_ s: Stack, count: Int, priorities: [UInt32]) {
        let sk = s.socket(1)!
        for k in 0..<count {
            let ip = FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 1), src: MACAddress(2, 0, 0, 0, 0, 2), ethertype: EtherType.ipv4), vlan: nil,
                               network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 2), dst: Self.peer, proto: IPProtocol.udp, ttl: 64, ident: UInt16(k), moreFragments: false, payloadLength: 0),
                                              .udp(UDPRepr(srcPort: 4000, dstPort: UInt16(9 + k % 3), payload: [UInt8](repeating: UInt8(k), count: 1000))))).emit()
            let skb = SkBuff(frame: ip, dev: 0, packet: -1)
            skb.networkHeader = 14; skb.transportHeader = 34; skb.protocolType = EtherType.ipv4
            skb.priority = priorities[k % priorities.count]
            skb.sock = sk; skb.wmemCharge = skb.truesize; sk.wmemAlloc += skb.truesize
            _ = s.dev_queue_xmit(skb, dev: 0, dstMAC: MACAddress(2, 0, 0, 0, 0, 1), outcome: .transmitted)
        }
    }

    /// Saves mid-burst, restores into a new stack, and runs both for a second.
    /// Eight datagrams over pfifo_fast's bands (priorities 6, 0, 1) unless told otherwise; `ring`
    /// of them on the TX ring when the state is saved (BQL lets one go, without it a tbf's burst).
    func assertRestoredGoesOn(_ tc: [String], mbps: Int = 10, bql: Bool = true, count: Int = 8, priorities: [UInt32] = [6, 0, 1], ring: Int = 1,
                              queued: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try stack(tc, mbps: mbps, bql: bql)
        burst(s, count: count, priorities: priorities)
        let saved = s.runtimeState()
        let d = saved.devices[0]
        XCTAssertEqual(d.ring?.count, ring, file: file, line: line)
        var held = 0
        for q in d.qdiscs {
            held += (q.queue?.count ?? 0) + (q.requeued?.count ?? 0) + (q.htb?.direct?.count ?? 0) + (q.peeked == nil ? 0 : 1)
            for f in q.fqCodel?.flows ?? [] { held += f.queue?.count ?? 0 }
            for t in q.cake?.tins ?? [] { for f in t.flows { held += f.queue?.count ?? 0 } }
            for c in q.classes ?? [] { held += c.queue?.count ?? 0 }
        }
        XCTAssertEqual(held, queued, file: file, line: line)
        // A restart: a new stack at the saved clock given the saved state, which reads back as given.
        let t = try stack(tc, mbps: mbps, bql: bql)
        t.advance(toNs: s.clockNs)
        t.restoreRuntime(saved)
        XCTAssertEqual(t.runtimeState(), saved, file: file, line: line)
        XCTAssertEqual(t.socket(1)!.wmemAlloc, s.socket(1)!.wmemAlloc, file: file, line: line)
        s.captureWire = true; t.captureWire = true
        s.advance(toNs: 1_000_000_000); t.advance(toNs: 1_000_000_000)
        XCTAssertEqual(s.wire.count, count - ring, file: file, line: line)
        XCTAssertEqual(t.wire.map(\.timeNs), s.wire.map(\.timeNs), file: file, line: line)
        XCTAssertEqual(t.wire.map(\.frame), s.wire.map(\.frame), file: file, line: line)
        XCTAssertEqual(t.qdiscInfo(dev: "eth0").map(\.stats), s.qdiscInfo(dev: "eth0").map(\.stats), file: file, line: line)
        XCTAssertEqual(s.socket(1)!.wmemAlloc, 0, file: file, line: line)
        XCTAssertEqual(t.socket(1)!.wmemAlloc, 0, file: file, line: line)
        XCTAssertEqual(t.devices[0].byteQueueLimits, s.devices[0].byteQueueLimits, file: file, line: line)
        XCTAssertEqual(t.runtimeState(), s.runtimeState(), file: file, line: line)
        XCTAssertEqual(TC.showText(t.qdiscInfo(dev: "eth0"), oneDev: true, stats: true), TC.showText(s.qdiscInfo(dev: "eth0"), oneDev: true, stats: true), file: file, line: line)
    }

    /// pfifo_fast behind BQL: the first frame stops the queue (its limit starts at 0); the one
    /// dequeued with it is requeued, six wait in their bands.
    func testPfifoFastBehindBQL() throws {
        try assertRestoredGoesOn([], queued: 7)
    }

    /// tbf at 1 Mbit/s with a 3000-byte bucket and its own bfifo: the watchdog is armed.
    func testTBFWithItsOwnBfifo() throws {
        try assertRestoredGoesOn(["qdisc add dev eth0 root handle 1: tbf rate 1mbit burst 3000 limit 20000"], queued: 7)
    }

    /// htb as recorded in HTBAgreementTests (10 Mbit/s shared by 1:10 at 2 and 1:20 at 8) on a
    /// 100 Mbit/s NIC, twenty datagrams: to 1:10 (SO_PRIORITY 1:10), the default 1:20, direct
    /// (priority 1:0) and 1:20 in turn. The classes' queues, the direct queue, the DRR pointers
    /// and deficits and the classes' modes and wait queue come back.
    func testHTBMidBurst() throws {
        try assertRestoredGoesOn(["qdisc add dev eth0 root handle 1: htb default 20", "class add dev eth0 parent 1: classid 1:1 htb rate 10mbit",
                                  "class add dev eth0 parent 1:1 classid 1:10 htb rate 2mbit ceil 10mbit prio 0",
                                  "class add dev eth0 parent 1:1 classid 1:20 htb rate 8mbit ceil 10mbit prio 1"],
                                 mbps: 100, count: 20, priorities: [0x10010, 0, 0x10000, 0], queued: 19)
    }

    /// fq_codel (not in this kernel; modelled from its sources) over three flows: each flow's
    /// packets, credit and CoDel state, the DRR lists and its own counters come back.
    func testFQCoDelMidBurst() throws {
        try assertRestoredGoesOn(["qdisc add dev eth0 root handle 1: fq_codel"], count: 12, queued: 11)
    }

    /// cake (not in this kernel either) shaping to 5 Mbit/s with BQL off, so its own shaper
    /// holds the packets: its tins' flows, DRR++ lists, COBALT state, schedule and counters come back.
    func testCakeMidBurst() throws {
        let s = try stack(["qdisc add dev eth0 root handle 1: cake bandwidth 5mbit"], mbps: 10, bql: false)
        burst(s, count: 12, priorities: [0])
        XCTAssertEqual(s.runtimeState().devices[0].ring?.count, 1)
        try assertRestoredGoesOn(["qdisc add dev eth0 root handle 1: cake bandwidth 5mbit"], bql: false, count: 12, ring: 1, queued: 11)
    }

    /// cake unlimited (DRR over tins by quantum) behind BQL.
    func testUnlimitedCakeMidBurst() throws {
        try assertRestoredGoesOn(["qdisc add dev eth0 root handle 1: cake unlimited"], count: 12, queued: 11)
    }

    /// fq_codel under a tbf throttled after its two-frame burst (no BQL to stop the queue
    /// first): the packet tbf's peek took out of fq_codel comes back too.
    func testTBFOverFQCoDel() throws {
        let tc = ["qdisc add dev eth0 root handle 1: tbf rate 1mbit burst 3000 limit 20000", "qdisc add dev eth0 parent 1:1 handle 10: fq_codel"]
        let s = try stack(tc, mbps: 10, bql: false)
        burst(s, count: 12, priorities: [0])
        XCTAssertNotNil(s.runtimeState().devices[0].qdiscs.first { $0.kind == "fq_codel" }?.peeked)
        try assertRestoredGoesOn(tc, bql: false, count: 12, ring: 2, queued: 10)
    }

    /// The same with a pfifo child tc added: the child keeps its queue, the tbf counts it.
    func testTBFWithAPfifoChild() throws {
        try assertRestoredGoesOn(["qdisc add dev eth0 root handle 1: tbf rate 1mbit burst 3000 limit 20000",
                                  "qdisc add dev eth0 parent 1:1 handle 10: pfifo limit 50"], queued: 7)
    }
}
