@testable import Kernel
import TC
import Wire
import XCTest

/// A checkpoint taken while a device is mid-burst (frames on the TX ring, packets in the qdisc,
/// the watchdog armed, BQL stopped) restores a stack that goes on exactly as the saved one:
/// the same frames at the same times, the same counters, the socket's charges given back.
final class TXCheckpointTests: XCTestCase {
    static let peer = IPv4Address(198, 18, 0, 1)

    func stack(_ tc: [String]) throws -> Stack {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, 2), prefixLength: 24)])
        e0.speedMbps = 10
        let c = StackConfig(name: "c", cpus: 1, devices: [e0], neighbours: [NeighbourConfig(address: Self.peer, mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")],
                            sockets: [SocketConfig(id: 1, proto: .udp, port: 4000)])
        let s = try Stack(config: c)
        var list: [QdiscConfig] = []
        for cmd in tc { list = try TC.apply(try TC.parse(cmd), to: list, devices: ["eth0"]) }
        if !list.isEmpty { try s.setQdiscs(list) }
        return s
    }

    /// Eight 1000-byte datagrams of socket 1 handed to dev_queue_xmit at once, priorities
    /// spread over pfifo_fast's bands; the run is not let go on, so they stay where they are.
    func burst(_ s: Stack) {
        let sk = s.socket(1)!
        for k in 0..<8 {
            let ip = FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 1), src: MACAddress(2, 0, 0, 0, 0, 2), ethertype: EtherType.ipv4), vlan: nil,
                               network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 2), dst: Self.peer, proto: IPProtocol.udp, ttl: 64, ident: UInt16(k), moreFragments: false, payloadLength: 0),
                                              .udp(UDPRepr(srcPort: 4000, dstPort: 9, payload: [UInt8](repeating: UInt8(k), count: 1000))))).emit()
            let skb = SkBuff(frame: ip, dev: 0, packet: -1)
            skb.networkHeader = 14; skb.transportHeader = 34; skb.protocolType = EtherType.ipv4
            skb.priority = [6, 0, 1][k % 3]
            skb.sock = sk; skb.wmemCharge = skb.truesize; sk.wmemAlloc += skb.truesize
            _ = s.dev_queue_xmit(skb, dev: 0, dstMAC: MACAddress(2, 0, 0, 0, 0, 1), outcome: .transmitted)
        }
    }

    /// Saves mid-burst, restores into a new stack, and runs both for a second.
    func assertRestoredGoesOn(_ tc: [String], queued: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try stack(tc)
        burst(s)
        let saved = s.runtimeState()
        let d = saved.devices[0]
        XCTAssertEqual(d.ring?.count, 1, file: file, line: line)
        XCTAssertEqual(d.qdiscs.compactMap { $0.queue?.count }.reduce(0, +) + d.qdiscs.compactMap { $0.requeued?.count }.reduce(0, +), queued, file: file, line: line)
        // A restart: a new stack at the saved clock given the saved state, which reads back as given.
        let t = try stack(tc)
        t.advance(toNs: s.clockNs)
        t.restoreRuntime(saved)
        XCTAssertEqual(t.runtimeState(), saved, file: file, line: line)
        XCTAssertEqual(t.socket(1)!.wmemAlloc, s.socket(1)!.wmemAlloc, file: file, line: line)
        s.captureWire = true; t.captureWire = true
        s.advance(toNs: 1_000_000_000); t.advance(toNs: 1_000_000_000)
        XCTAssertEqual(s.wire.count, 8 - 1, file: file, line: line)
        XCTAssertEqual(t.wire.map(\.timeNs), s.wire.map(\.timeNs), file: file, line: line)
        XCTAssertEqual(t.wire.map(\.frame), s.wire.map(\.frame), file: file, line: line)
        XCTAssertEqual(t.qdiscInfo(dev: "eth0").map(\.stats), s.qdiscInfo(dev: "eth0").map(\.stats), file: file, line: line)
        XCTAssertEqual(s.socket(1)!.wmemAlloc, 0, file: file, line: line)
        XCTAssertEqual(t.socket(1)!.wmemAlloc, 0, file: file, line: line)
        XCTAssertEqual(t.devices[0].byteQueueLimits, s.devices[0].byteQueueLimits, file: file, line: line)
        XCTAssertEqual(t.runtimeState(), s.runtimeState(), file: file, line: line)
    }

    /// pfifo_fast behind BQL: the first frame stops the queue (its limit starts at 0); the one
    /// dequeued with it is requeued, six wait in their bands.
    func testPfifoFastBehindBQL() throws {
        try assertRestoredGoesOn([], queued: 7)
    }

    /// tbf at 1 Mbit/s with a 3000-byte bucket and its own bfifo: the watchdog is armed.
    func testTBFWithItsOwnBfifo() throws {
        try assertRestoredGoesOn(["tc qdisc add dev eth0 root handle 1: tbf rate 1mbit burst 3000 limit 20000"], queued: 7)
    }

    /// The same with a pfifo child tc added: the child keeps its queue, the tbf counts it.
    func testTBFWithAPfifoChild() throws {
        try assertRestoredGoesOn(["tc qdisc add dev eth0 root handle 1: tbf rate 1mbit burst 3000 limit 20000",
                                  "tc qdisc add dev eth0 parent 1:1 handle 10: pfifo limit 50"], queued: 7)
    }
}
