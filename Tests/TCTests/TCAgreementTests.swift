import Foundation
import JSON
import Kernel
import TC
import Wire
import XCTest

/// Transmit cases recorded on the real kernel by scripts/record_tx_cases.py (Cases/*.expected.json):
/// a burst forwarded into tbf with a child qdisc. The frames, their order, every qdisc counter and
/// the `tc -s qdisc show` text and JSON must agree exactly; times agree within the kernel's timer
/// and wake-up latency, and the model's own times are asserted exactly.
final class TCAgreementTests: XCTestCase {
    static let cases = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Cases")

    /// DUT of the recording: eth0 198.18.0.2/24 and eth1 198.18.1.1/24 (veths), permanent
    /// neighbours on both sides, forwarding on.
    /// `eth1TXChecksum`: off as `ethtool -K eth1 tx off` leaves it; `ipv6`: 2001:db8:1::1/64 on
    /// eth1 and its neighbour 2001:db8:1::2, as the recorder's IPv6 cases have them.
    static func dut(eth1TXChecksum: Bool = true, eth1UDPSegmentation: Bool? = nil, ipv6: Bool = false) throws -> Stack {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [try IPv4CIDR(parsing: "198.18.0.2/24")])
        var e1 = DeviceConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 1, 1), addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")])
        e0.veth = true; e1.veth = true
        e1.txChecksumOffload = eth1TXChecksum
        e1.udpSegmentationOffload = eth1UDPSegmentation
        if ipv6 { e1.addresses6 = [try IPv6CIDR(parsing: "2001:db8:1::1/64")] }
        var c = StackConfig(name: "dut", cpus: 2, devices: [e0, e1],
                            neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0"),
                                         NeighbourConfig(address: IPv4Address(198, 18, 1, 2), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")],
                            sysctls: ["net.ipv4.ip_forward": 1])
        if ipv6 { c.neighbours6 = [Neighbour6Config(address: try IPv6Address(parsing: "2001:db8:1::2"), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")] }
        return try Stack(config: c)
    }

    struct Run { var emitted: [EmittedFrame]; var expected: JSONValue; var stack: Stack }

    func run(_ name: String) throws -> Run {
        let c = try JSONParser.parse(try String(contentsOf: Self.cases.appendingPathComponent("\(name).case.json"), encoding: .utf8))
        let expected = try JSONParser.parse(try String(contentsOf: Self.cases.appendingPathComponent("\(name).expected.json"), encoding: .utf8))
        let s = try Self.dut()
        var list: [QdiscConfig] = []
        guard case .array(let cmds)? = c["tc"], case .array(let frames)? = c["frames"] else { throw XCTSkip("bad case") }
        for case .string(let cmd) in cmds { list = try TC.apply(try TC.parse(cmd), to: list, devices: ["eth0", "eth1"]) }
        try s.setQdiscs(list)
        let injections = try frames.map { f -> Injection in
            guard case .string(let hex)? = f["hex"] else { throw XCTSkip("bad frame") }
            return Injection(device: 0, frame: try Hex.decode(hex), atNs: 0)
        }
        let rs = s.inject(injections)
        let emitted = rs.flatMap(\.emitted).sorted { $0.timeNs < $1.timeNs }
        return Run(emitted: emitted, expected: expected, stack: s)
    }

    /// Captured frames: bytes in order exactly; times as `assertCaptureTimes`.
    func assertCaptured(_ r: Run, file: StaticString = #filePath, line: UInt = #line) throws {
        guard case .array(let got)? = r.expected["captured"] else { return XCTFail("no capture", file: file, line: line) }
        XCTAssertEqual(r.emitted.map { Hex.encode($0.frame) }, got.map { if case .string(let h)? = $0["hex"] { h } else { "" } }, file: file, line: line)
        XCTAssertEqual(Set(r.emitted.map(\.device)), ["eth1"], file: file, line: line)
        assertCaptureTimes(r.emitted, r.expected, file: file, line: line)
    }

    /// `autoHandle`: the handle the kernel picked for a qdisc added without one (a counter global
    /// to the kernel, so the recording's differs from a fresh stack's).
    func assertQdiscs(_ r: Run, autoHandle: (kernel: UInt32, ours: UInt32)? = nil, file: StaticString = #filePath, line: UInt = #line) {
        var infos = r.stack.qdiscInfo(dev: "eth1")
        if let a = autoHandle, let i = infos.firstIndex(where: { $0.handle == a.ours }) { infos[i].handle = a.kernel }
        XCTAssertEqual(TC.showJSON(infos, oneDev: true, stats: true), r.expected["qdisc_json"], file: file, line: line)
        XCTAssertEqual(.string(TC.showText(infos, oneDev: true, stats: true)), r.expected["qdisc_text"], file: file, line: line)
        XCTAssertEqual(r.expected["link_tx"]?["packets"], .int(r.stack.devices[1].stats.tx_packets), file: file, line: line)
        XCTAssertEqual(r.expected["link_tx"]?["bytes"], .int(r.stack.devices[1].stats.tx_bytes), file: file, line: line)
    }

    /// tbf 1 Mbit/s, burst 3000 with a pfifo of 5 under it: two frames pass on the bucket, the
    /// third after 126 bytes of tokens (1.008 ms), five more wait, thirteen are dropped by pfifo.
    /// Overlimits: each throttled enqueue tries a dequeue (18), and each watchdog run that sends
    /// one tries two more while packets remain (bulk dequeue, then the loop): 4 × 2.
    func testBurstIntoTBFWithAPfifoChild() throws {
        let r = try run("tbf_pfifo_burst")
        try assertCaptured(r)
        assertQdiscs(r)
        let t0 = r.emitted[0].timeNs
        XCTAssertEqual(r.emitted.map { $0.timeNs - t0 }, [0, 560, 1_008_000, 9_344_000, 17_680_000, 26_016_000, 34_352_000])
    }

    /// The same with tbf's own bfifo (limit 5000 bytes): four 1042-byte frames fit, not five.
    func testBurstIntoTBFsDefaultBfifo() throws {
        let r = try run("tbf_bfifo_default")
        try assertCaptured(r)
        assertQdiscs(r, autoHandle: (0x800f, 0x8001))
    }

    /// pfifo_fast under tbf orders by band: TOS 0x10 (priority 6, band 0) overtakes five TOS 0
    /// frames (band 1), TOS 0x08 (priority 2, band 2) goes last.
    func testPfifoFastBandsFollowTheTOS() throws {
        let r = try run("tbf_pfifo_fast_bands")
        try assertCaptured(r)
        assertQdiscs(r)
        XCTAssertEqual(r.emitted.map { $0.frame.be16(18) }, [1, 7, 2, 3, 4, 5, 6, 8])
    }
}

/// Each frame's time from the first, within 120 µs (+0.5%) of when the kernel's receiver captured
/// it: the kernel's timers and wake-ups run late by tens of µs; the model's times are exact.
func assertCaptureTimes(_ emitted: [EmittedFrame], _ expected: JSONValue, file: StaticString = #filePath, line: UInt = #line) {
    guard case .array(let got)? = expected["captured"], case .int(let firstUs)? = got.first?["t_us"] else { return XCTFail("no capture", file: file, line: line) }
    XCTAssertEqual(emitted.count, got.count, file: file, line: line)
    let t0 = emitted.first?.timeNs ?? 0
    for (e, g) in zip(emitted, got) {
        guard case .int(let kernelUs)? = g["t_us"] else { continue }
        let ours = Double(e.timeNs - t0) / 1000, theirs = Double(kernelUs - firstUs)
        XCTAssertLessThanOrEqual(abs(ours - theirs), 120 + theirs * 0.005, "frame at \(ours) µs, kernel \(theirs) µs", file: file, line: line)
    }
}

/// A forwarded packet to an on-link address nobody answers, recorded on the real kernel: three
/// broadcast ARP requests on eth1, then ICMP host unreachable back out of eth0 (TOS 0xc0, the whole
/// packet quoted, TTL one lower). The model's timers fire where the timer wheel puts a one-second
/// timer (256 jiffies at HZ 250, 1.024 s); the kernel's are up to 8 ms later, its tick's phase.
final class NeighbourFailureAgreementTests: XCTestCase {
    func testUnresolvableNextHop() throws {
        let expected = try JSONParser.parse(try String(contentsOf: TCAgreementTests.cases.appendingPathComponent("neigh_failed_forward.expected.json"), encoding: .utf8))
        let c = try JSONParser.parse(try String(contentsOf: TCAgreementTests.cases.appendingPathComponent("neigh_failed_forward.case.json"), encoding: .utf8))
        guard case .array(let frames)? = c["frames"], case .string(let hex)? = frames.first?["hex"],
              case .array(let got)? = expected["captured"] else { return XCTFail("bad case") }
        let s = try TCAgreementTests.dut()
        s.captureWire = true
        XCTAssertEqual(s.inject([Injection(device: 0, frame: try Hex.decode(hex), atNs: 0)]).first?.outcome, .queued)
        s.advance(toNs: 4_500_000_000)
        // The ICMP error's IP ID is the kernel's random-keyed counter: compared apart.
        func masked(_ f: [UInt8], _ iface: String) -> [UInt8] {
            guard iface == "eth0", f.count > 25 else { return f }
            var f = f; f[18] = 0; f[19] = 0; f[24] = 0; f[25] = 0; return f
        }
        XCTAssertEqual(s.wire.map { "\($0.device) \(Hex.encode(masked($0.frame, $0.device)))" },
                       got.map { g -> String in
                           guard case .string(let h)? = g["hex"], case .string(let i)? = g["iface"], let b = try? Hex.decode(h) else { return "" }
                           return "\(i) \(Hex.encode(masked(b, i)))"
                       })
        // Each request pays dev_queue_xmit and the driver (100 ns) before it leaves.
        XCTAssertEqual(s.wire.map(\.timeNs).prefix(3), [1280, 1_024_000_100, 2_048_000_100])
        for (w, g) in zip(s.wire, got) {
            guard case .int(let us)? = g["t_us"] else { continue }
            XCTAssertLessThanOrEqual(abs(Double(w.timeNs) / 1000 - Double(us)), 8_000 + 120, "\(w.device) at \(w.timeNs) ns, kernel \(us) µs")
        }
        XCTAssertEqual(expected["link_tx"]?["packets"], .int(s.devices[1].stats.tx_packets))
        XCTAssertEqual(expected["link_tx"]?["dropped"], .int(s.devices[1].stats.tx_dropped))
    }
}

extension NeighbourFailureAgreementTests {
    /// The same with tbf on eth1: the three ARP requests go through the qdisc (arp_xmit →
    /// dev_queue_xmit), which counts them as the kernel's did: Sent 126 bytes 3 pkt.
    func testARPGoesThroughTheQdisc() throws {
        let dir = TCAgreementTests.cases
        let expected = try JSONParser.parse(try String(contentsOf: dir.appendingPathComponent("arp_through_tbf.expected.json"), encoding: .utf8))
        let c = try JSONParser.parse(try String(contentsOf: dir.appendingPathComponent("arp_through_tbf.case.json"), encoding: .utf8))
        guard case .array(let frames)? = c["frames"], case .string(let hex)? = frames.first?["hex"], case .array(let cmds)? = c["tc"] else { return XCTFail("bad case") }
        let s = try TCAgreementTests.dut()
        try s.setQdiscs(try TC.build(cmds.compactMap { if case .string(let x) = $0 { x } else { nil } }, devices: ["eth0", "eth1"]))
        s.captureWire = true
        XCTAssertEqual(s.inject([Injection(device: 0, frame: try Hex.decode(hex), atNs: 0)]).first?.outcome, .queued)
        s.advance(toNs: 4_500_000_000)
        XCTAssertEqual(TC.showText(s.qdiscInfo(dev: "eth1"), oneDev: true, stats: true), { if case .string(let t)? = expected["qdisc_text"] { t } else { "" } }())
        XCTAssertEqual(s.wire.map(\.device), ["eth1", "eth1", "eth1", "eth0"])
    }
}
