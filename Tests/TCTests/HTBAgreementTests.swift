import Foundation
import JSON
@testable import Kernel
import TC
import Wire
import XCTest

/// htb recorded on the real kernel (scripts/record_tx_cases.py): DUT's eth1 shaped by an htb
/// tree, two bursts of sends from one socket into two classes (SO_PRIORITY naming 1:10, then 0
/// for the default 1:20). The frames' order, the qdisc's and each class's counters agree.
final class HTBAgreementTests: XCTestCase {
    struct Run { var stack: Stack; var emitted: [EmittedFrame]; var expected: JSONValue }

    func run(_ name: String, specStartsUs: [UInt64], callGapNs: UInt64) throws -> Run {
        let dir = TCAgreementTests.cases
        let c = try JSONParser.parse(try String(contentsOf: dir.appendingPathComponent("\(name).case.json"), encoding: .utf8))
        let expected = try JSONParser.parse(try String(contentsOf: dir.appendingPathComponent("\(name).expected.json"), encoding: .utf8))
        let s = try TCAgreementTests.dut()
        guard case .array(let cmds)? = c["tc"], case .array(let specs)? = c["sends"] else { throw XCTSkip("bad case") }
        let built = try TC.buildAll(cmds.compactMap { if case .string(let x) = $0 { x } else { nil } }, devices: ["eth0", "eth1"])
        try s.setQdiscs(built.qdiscs, classes: built.classes)
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 4000)))
        var sends: [Send] = []
        for (k, spec) in specs.enumerated() {
            func int(_ key: String) -> Int? { if case .int(let v)? = spec[key] { v } else { nil } }
            if let b = int("sndbuf") { _ = s.setsockopt(socket: 1, sndbuf: b) }
            for n in 0..<(int("count") ?? 1) {
                var send = Send(socket: 1, dst: IPv4Address(198, 18, 1, 2), port: UInt16(int("port")!),
                                payload: [UInt8](repeating: UInt8((int("fill") ?? 0) + n & 0xff), count: int("len")!),
                                atNs: specStartsUs[k] * 1000 + UInt64(n) * callGapNs)
                send.priority = UInt32(int("priority") ?? 0)
                sends.append(send)
            }
        }
        let results = s.send(sends)
        return Run(stack: s, emitted: results.flatMap(\.emitted).sorted { $0.timeNs < $1.timeNs }, expected: expected)
    }

    /// The two classes share the 10 Mbit/s parent: 1:10 (2 Mbit/s, prio 0) sends on its own rate
    /// about one frame in five and borrows the rest; 1:20 (8 Mbit/s, prio 1) never needs to borrow;
    /// once 1:20 is done, 1:10 borrows the whole parent.
    func testTwoClassesShareTheParent() throws {
        // The kernel's process made its sendto calls about 6 µs apart; the second burst began
        // 238 µs after the first.
        let r = try run("htb_two_classes", specStartsUs: [0, 238], callGapNs: 6_000)
        guard case .array(let cap)? = r.expected["captured"] else { return XCTFail("no capture") }
        let kernelOrder = cap.map { f -> Int in
            guard case .string(let h)? = f["hex"], let b = try? Hex.decode(h) else { return -1 }
            return Int(b[42])
        }
        XCTAssertEqual(r.emitted.map { Int($0.frame[42]) }, kernelOrder)
        // Times from the first frame: the kernel's capture timestamps, within 50 µs (26 µs at worst).
        let kernelUs = cap.map { f -> Int in if case .int(let t)? = f["t_us"] { t } else { 0 } }
        let oursUs = r.emitted.map { Int(($0.timeNs - r.emitted[0].timeNs) / 1000) }
        let worst = zip(oursUs, kernelUs.map { $0 - kernelUs[0] }).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 50)
        let qdisc = TC.showText(r.stack.qdiscInfo(dev: "eth1"), oneDev: true, stats: true)
        XCTAssertEqual(qdisc, { if case .string(let t)? = r.expected["qdisc_text"] { t } else { "" } }())
        func masked(_ t: String) -> String {
            t.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(" tokens:") ? " tokens: T ctokens: T" : String($0) }.joined(separator: "\n")
        }
        let classes = TC.showClassesText(r.stack.classInfo(dev: "eth1"), oneDev: true, stats: true)
        XCTAssertEqual(masked(classes), masked({ if case .string(let t)? = r.expected["class_text"] { t } else { "" } }()))
    }
}
