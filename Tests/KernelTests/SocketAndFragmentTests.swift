@testable import Kernel
import Wire
import XCTest

final class SocketTests: XCTestCase {
    func testUDPDeliveryReadAndReceiveBufferLimit() throws {
        let s = try makeStack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 53, rcvbuf: 1000)))
        XCTAssertNotNil(s.bind(SocketConfig(id: 2, proto: .udp, address: ourIP, port: 53)), "EADDRINUSE")
        let payload: [UInt8] = [0xab, 0xcd]
        XCTAssertEqual(s.socket(1)?.rcvbuf, 2304, "SO_RCVBUF 1000, doubled, is below SOCK_MIN_RCVBUF")
        let rs = s.inject((0..<6).map { Injection(device: 0, frame: frame(.udp(UDPRepr(srcPort: UInt16(5000 + $0), dstPort: 53, payload: payload))), atNs: 0) })
        // truesize 704 each: 0, 704, 1408, 2112 are ≤ 2304 when the next arrives; the 5th sees 2816.
        XCTAssertEqual(rs.map(\.outcome), [.delivered, .delivered, .delivered, .delivered, .dropped, .dropped])
        XCTAssertEqual(rs[4].dropReason, .SOCKET_RCVBUFF)
        XCTAssertEqual(rs[0].stageNames.suffix(2), ["udp_rcv", "udp_queue_rcv_skb"])
        XCTAssertEqual(s.snmp.udp.InDatagrams, 4)
        XCTAssertEqual(s.snmp.udp.RcvbufErrors, 2)
        let got = s.recv(socket: 1, max: 10, cpu: 0)!
        XCTAssertEqual(got.map(\.srcPort), [5000, 5001, 5002, 5003])
        XCTAssertEqual(got.map { Array($0.payload) }, [payload, payload, payload, payload])
        XCTAssertEqual(s.socket(1)?.rmemAlloc, 0)
        // Drained, it takes datagrams again.
        XCTAssertEqual(s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 53))), device: s.devices[0]).outcome, .delivered)
    }

    func testTCPListenerTakesSYNs() throws {
        let s = try makeStack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .tcp, port: 80)))
        let r = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 4000, dstPort: 80, flags: .syn))), device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        XCTAssertEqual(s.socket(1)?.synReceived, 1)
        XCTAssertEqual(s.inject(frame: frame(.tcp(TCPRepr(srcPort: 4000, dstPort: 81, flags: .syn))), device: s.devices[0]).dropReason, .NO_SOCKET)
    }

    func testRFSSteersAFlowToTheCPUThatReadsIt() throws {
        let s = try makeStack(cpus: 4, sysctls: ["net.core.rps_sock_flow_entries": 32768]) { $0.rpsFlowCount = 256 }
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 53)))
        let f = frame(.udp(UDPRepr(srcPort: 7777, dstPort: 53)))
        // Unknown flow, no RPS map: processed where the interrupt ran.
        XCTAssertEqual(s.inject(frame: f, device: s.devices[0]).stages.first { $0.stage == .__netif_receive_skb_core }?.cpu, 0)
        _ = s.recv(socket: 1, max: 1, cpu: 3)
        let r = s.inject(frame: f, device: s.devices[0], atNs: 1_000_000)
        XCTAssertEqual(r.stages.first { $0.stage == .__netif_receive_skb_core }?.cpu, 3)
        XCTAssertEqual(s.softnetStats[3].receivedRPS, 1)
    }

    /// What waits on an unresolved neighbour comes back with it: the ARP reply after a restart
    /// sends the port unreachable that waited, byte for byte and at the same time.
    func testRuntimeStateKeepsWhatWaitsOnANeighbour() throws {
        let s = try makeStack()
        let far = IPv4Address(198, 18, 0, 50), farMAC = MACAddress(2, 0, 0, 0, 0, 0x50)
        let r = s.inject(frame: frame(src: far, .udp(UDPRepr(srcPort: 7, dstPort: 99))), device: s.devices[0])
        XCTAssertEqual(r.emitted.count, 1)   // the ARP request; the port unreachable waits
        let saved = s.runtimeState()
        XCTAssertEqual(saved.neighbours.map { "\($0.state) \($0.queue.count) \($0.timersNs)" }, ["INCOMPLETE 1 [1024000000]"])
        let t = try restoredCopy(of: s, saved, { try makeStack() })
        let reply = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: farMAC, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: ARPRepr.reply, senderMAC: farMAC, senderIP: far, targetMAC: ourMAC, targetIP: ourIP))).emit()
        let out = [s, t].map { $0.inject(frame: reply, device: $0.devices[0], atNs: 500_000) }
        XCTAssertEqual(out[0].emitted.count, 1)
        XCTAssertEqual(out[1].emitted, out[0].emitted)
        XCTAssertEqual(t.runtimeState(), s.runtimeState())
    }

    /// RFS's tables, the backlog counters and a socket's unread datagram come back whole in a stack
    /// rebuilt from `runtimeState()`: the flow still goes to CPU 3, the datagram waits to be read.
    func testRuntimeStateKeepsRFSAndTheReceiveQueue() throws {
        func make() throws -> Stack {
            let s = try makeStack(cpus: 4, sysctls: ["net.core.rps_sock_flow_entries": 32768]) { $0.rpsFlowCount = 256 }
            XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 53)))
            return s
        }
        let s = try make()
        let f = frame(.udp(UDPRepr(srcPort: 7777, dstPort: 53, payload: [1, 2, 3])))
        _ = s.inject(frame: f, device: s.devices[0])
        _ = s.recv(socket: 1, max: 1, cpu: 3)
        _ = s.inject(frame: f, device: s.devices[0], atNs: 1_000_000)
        let saved = s.runtimeState()
        XCTAssertEqual(saved.flows.count, 2)   // the socket's slot and the RX queue's
        XCTAssertEqual(saved.sockets.first?.queue.map(\.payload), ["010203"])
        let t = try restoredCopy(of: s, saved, make)
        for x in [s, t] {
            XCTAssertEqual(x.inject(frame: f, device: x.devices[0], atNs: 2_000_000).stages.first { $0.stage == .__netif_receive_skb_core }?.cpu, 3)
        }
        XCTAssertEqual(t.recv(socket: 1, max: 8, cpu: 3)?.map { Array($0.payload) }, [[1, 2, 3], [1, 2, 3]])
        XCTAssertEqual(t.runtimeState(), { _ = s.recv(socket: 1, max: 8, cpu: 3); return s.runtimeState() }())
    }
}

final class FragmentTests: XCTestCase {
    /// A 40-byte UDP datagram in fragments of 16, 16 and 8 bytes of IP payload.
    func pieces(id: UInt16 = 7) -> [[UInt8]] {
        let whole = frame(ident: id, .udp(UDPRepr(srcPort: 1, dstPort: 53, payload: [UInt8](repeating: 0x5a, count: 32))))
        let payload = Array(whole[34...])
        return [(0, 16, true), (16, 32, true), (32, 40, false)].map { (a, b, mf) in
            FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: peerIP, dst: ourIP, proto: IPProtocol.udp, ident: id, moreFragments: mf, fragmentOffset: a, payloadLength: 0),
                                     .raw(Array(payload[a..<b])))).emit()
        }
    }

    func testOutOfOrderFragmentsReassembleAndDeliver() throws {
        let s = try makeStack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 53)))
        let p = pieces()
        let rs = s.inject([p[2], p[0], p[1]].map { Injection(device: 0, frame: $0, atNs: 0) })
        XCTAssertEqual(rs.map(\.outcome), [.consumed, .consumed, .delivered])
        XCTAssertEqual(rs[2].segments, 3)
        XCTAssertEqual(s.recv(socket: 1, max: 1, cpu: 0)?.first.map { Array($0.payload) }, [UInt8](repeating: 0x5a, count: 32))
        XCTAssertEqual(s.snmp.ip.ReasmReqds, 3)
        XCTAssertEqual(s.snmp.ip.ReasmOKs, 1)
        XCTAssertEqual(s.fragmentQueueCount, 0)
    }

    /// Reassembly queues come back whole in a stack rebuilt from `runtimeState()`, with their
    /// timers: the missing piece completes the datagram, and a queue left alone expires with the
    /// same time exceeded at the same time.
    func testRuntimeStateKeepsReassemblyQueuesAndTheirTimers() throws {
        func make() throws -> Stack {
            let s = try makeStack()
            XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 53)))
            return s
        }
        let s = try make()
        let p = pieces(), other = pieces(id: 8)
        XCTAssertEqual(s.inject([p[2], p[0], other[0]].map { Injection(device: 0, frame: $0, atNs: 1_000) }).map(\.outcome), [.queued, .queued, .queued])
        let saved = s.runtimeState()
        XCTAssertEqual(saved.fragments.map { "\($0.id) \($0.pieces.map(\.start)) \($0.meat) \($0.timersNs)" }, ["7 [0, 32] 24 [30000001500]", "8 [0] 16 [30000001500]"])
        let t = try restoredCopy(of: s, saved, make)
        XCTAssertEqual(t.fragmentMemory, s.fragmentMemory)
        for x in [s, t] {
            x.captureWire = true
            let r = x.inject(frame: p[1], device: x.devices[0], atNs: 2_000_000)
            XCTAssertEqual(r.outcome, .delivered)
            XCTAssertEqual(r.segments, 3)
            XCTAssertEqual(x.recv(socket: 1, max: 1, cpu: 0)?.first.map { Array($0.payload) }, [UInt8](repeating: 0x5a, count: 32))
            x.advance(toNs: 31_000_000_000)
        }
        XCTAssertEqual(s.wire.count, 1)   // id 8's time exceeded (fragment reassembly time exceeded)
        XCTAssertEqual(t.wire, s.wire)
        XCTAssertEqual(t.snmp, s.snmp)
        XCTAssertEqual(t.fragmentQueueCount, 0)
    }

    func testDuplicateDropsOnlyItselfOverlapKillsTheQueue() throws {
        let s = try makeStack()
        let p = pieces()
        let dup = s.inject([p[0], p[0]].map { Injection(device: 0, frame: $0, atNs: 0) })
        XCTAssertEqual(dup.map(\.outcome), [.queued, .dropped])
        XCTAssertEqual(dup[1].dropReason, .DUP_FRAG)
        XCTAssertEqual(s.fragmentQueueCount, 1)
        // 8..<24 overlaps 0..<16: everything queued goes.
        let overlap = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv4),
                                network: .ipv4(IPv4Repr(src: peerIP, dst: ourIP, proto: IPProtocol.udp, ident: 7, moreFragments: true, fragmentOffset: 8, payloadLength: 0),
                                               .raw([UInt8](repeating: 1, count: 16)))).emit()
        let o = s.inject(frame: overlap, device: s.devices[0])
        XCTAssertEqual(o.outcome, .dropped)
        XCTAssertEqual(s.fragmentQueueCount, 0)
        XCTAssertEqual(s.snmp.ip.ReasmOverlaps, 1)
        XCTAssertEqual(s.snmp.ip.ReasmFails, 1)
    }

    func testIncompleteQueuesExpireAfterIpfragTime() throws {
        let s = try makeStack()
        let p = pieces()
        _ = s.inject(frame: p[0], device: s.devices[0])
        s.advance(toNs: 29_000_000_000)
        XCTAssertEqual(s.fragmentQueueCount, 1)
        s.advance(toNs: 31_000_000_000)
        XCTAssertEqual(s.fragmentQueueCount, 0)
        XCTAssertEqual(s.snmp.ip.ReasmTimeout, 1)
        XCTAssertEqual(s.snmp.icmp.OutTimeExcds, 1, "first fragment seen: time exceeded (reassembly) goes to the source")
        XCTAssertEqual(s.fragmentMemory, 0)
    }
}

final class FragmentDistanceTests: XCTestCase {
    /// After more than ipfrag_max_dist other fragments from the same source, an old queue is restarted:
    /// its fragments drop with FRAG_TOO_FAR, the newcomer starts it again.
    func testIpfragMaxDist() throws {
        let s = try makeStack(sysctls: ["net.ipv4.ipfrag_max_dist": 4])
        func piece(id: UInt16, off: Int, mf: Bool) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: peerIP, dst: ourIP, proto: IPProtocol.udp, ident: id, moreFragments: mf, fragmentOffset: off, payloadLength: 0),
                                     .raw([UInt8](repeating: 1, count: 16)))).emit()
        }
        let first = s.inject(frame: piece(id: 1, off: 0, mf: true), device: s.devices[0])
        XCTAssertEqual(first.outcome, .queued)
        for id in 2...6 as ClosedRange<UInt16> { _ = s.inject(frame: piece(id: id, off: 0, mf: true), device: s.devices[0]) }
        let late = s.inject(frame: piece(id: 1, off: 16, mf: true), device: s.devices[0])
        XCTAssertEqual(late.outcome, .queued, "the queue starts over with this fragment")
        XCTAssertEqual(s.snmp.ip.ReasmFails, 1)
        XCTAssertEqual(s.fragmentQueueCount, 6)
        // Within the distance nothing is lost.
        let t = try makeStack()
        _ = t.inject(frame: piece(id: 1, off: 0, mf: true), device: t.devices[0])
        for id in 2...6 as ClosedRange<UInt16> { _ = t.inject(frame: piece(id: id, off: 0, mf: true), device: t.devices[0]) }
        _ = t.inject(frame: piece(id: 1, off: 16, mf: true), device: t.devices[0])
        XCTAssertEqual(t.snmp.ip.ReasmFails, 0)
    }
}
