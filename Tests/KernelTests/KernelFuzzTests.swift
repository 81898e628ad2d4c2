import Kernel
import Wire
import TestSupport
import XCTest

/// Arbitrary frames through the whole stack (GRO, RPS, sockets, forwarding, fragments):
/// every one ends with a known outcome, none traps. Seeded, so a failure replays.
final class KernelFuzzTests: XCTestCase {
    func testRandomFramesAlwaysEndWithAnOutcome() throws {
        var g = SeededRandom(seed: 0x5eed_1234_abcd_0001)
        let seeds: [[UInt8]] = [
            frame(.udp(UDPRepr(srcPort: 1, dstPort: 53, payload: [1, 2, 3]))),
            frame(.tcp(TCPRepr(srcPort: 9, dstPort: 80, seq: 5, flags: .ack, payload: [UInt8](repeating: 7, count: 40)))),
            frame(mf: true, .raw([UInt8](repeating: 0x11, count: 16)), proto: 17),
            frame(dst: IPv4Address(10, 9, 8, 7), ttl: 2, .icmp(ICMPv4Repr(type: 8, code: 0))),
            frame(.udp(UDPRepr(srcPort: 1, dstPort: 2)), vlan: VLANTagRepr(vid: 0, innerEthertype: EtherType.ipv4)),
            FrameRepr(ethernet: EthernetRepr(dst: .broadcast, src: peerMAC, ethertype: EtherType.arp),
                      network: .arp(ARPRepr(operation: 1, senderMAC: peerMAC, senderIP: peerIP, targetMAC: .zero, targetIP: ourIP))).emit(),
        ]
        var outcomes: [Outcome: Int] = [:]
        for round in 0..<40 {
            let s = try makeStack(cpus: 2, sysctls: ["net.ipv4.ip_forward": round % 2]) { $0.rxQueues = 2; $0.rpsCPUs = [[0, 1]]; $0.ringSize = 64 }
            _ = s.bind(SocketConfig(id: 1, proto: .udp, port: 53, rcvbuf: 3000))
            _ = s.bind(SocketConfig(id: 2, proto: .tcp, port: 80))
            var batch: [Injection] = []
            for i in 0..<500 {
                var f = seeds[Int.random(in: 0..<seeds.count, using: &g)]
                if i % 4 == 0 { f = (0..<Int.random(in: 0...90, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) } }
                for _ in 0..<Int.random(in: 0...3, using: &g) where !f.isEmpty {
                    f[Int.random(in: 0..<f.count, using: &g)] = UInt8.random(in: 0...255, using: &g)
                }
                if i % 5 == 0 && f.count > 20 { f.removeLast(Int.random(in: 1...20, using: &g)) }
                if i % 7 == 0 { f += [UInt8](repeating: 0, count: Int.random(in: 1...30, using: &g)) }
                batch.append(Injection(device: 0, frame: f, atNs: UInt64(i) * UInt64.random(in: 0...3000, using: &g)))
            }
            for r in s.inject(batch) {
                XCTAssertTrue(r.outcome == .dropped ? r.dropReason != nil : r.dropReason == nil)
                outcomes[r.outcome, default: 0] += 1
            }
            s.advance(toNs: s.clockNs + 60_000_000_000)
        }
        XCTAssertEqual(outcomes[.dropped] ?? 0, 17753)   // seeded: the same frames every run
        XCTAssertEqual(outcomes[.delivered] ?? 0, 357)
        XCTAssertEqual(outcomes[.consumed] ?? 0, 1489)
    }
}
