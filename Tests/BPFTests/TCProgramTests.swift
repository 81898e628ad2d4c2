@testable import BPF
import Foundation
import TestSupport
import XCTest

/// tc (sched_cls) programs against the kernel: TC/*.c run over the frames of TC/cases.json by
/// BPF_PROG_TEST_RUN on this kernel (scripts/record_tc_cases.py wrote TC/expected.json). Ours must
/// return the same value, leave the same frame and `__sk_buff` fields, and the same map contents.
final class TCProgramTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("TC")

    /// The skb bpf_prog_test_run_skb builds: classified by eth_type_trans against the namespace's
    /// loopback (MAC and broadcast address both zero, ifindex 1), wire_len the frame's length.
    static func testRunSkb(_ frame: [UInt8], ctx: [String: Any]) -> BPFSkb {
        var s = BPFSkb()
        let dst = frame[0..<6]
        s.pktType = dst.allSatisfy { $0 == 0 } ? 0 : dst.first! & 1 == 1 ? 2 : 3
        s.proto = UInt16(frame[12]) << 8 | UInt16(frame[13])
        s.ifindex = 1
        s.mark = UInt32(ctx["mark"] as? Int ?? 0)
        s.priority = UInt32(ctx["priority"] as? Int ?? 0)
        if let cb = ctx["cb"] as? [Int] { s.cb = cb.map(UInt32.init) }
        let wire = ctx["wire_len"] as? Int ?? 0
        s.wireLen = UInt32(wire == 0 ? frame.count : wire)
        return s
    }

    func testProgramsAgreeWithTheKernel() throws {
        try skipUnless(have(VerifierAgreementTests.clang, ["--version"]) && FileManager.default.fileExists(atPath: "/usr/include/bpf/bpf_helpers.h"),
                       "clang and libbpf-dev (apt-get install clang llvm libbpf-dev)")
        let spec = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.dir.appendingPathComponent("cases.json"))) as! [String: Any]
        let cases = spec["cases"] as! [String: [[String: Any]]], prefill = spec["maps"] as! [String: [String: [[String]]]]
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.dir.appendingPathComponent("expected.json"))) as! [String: [String: Any]]
        XCTAssertEqual(expected.keys.sorted(), ["tc_change_size", "tc_csum_cases", "tc_ctx_fields", "tc_ld_abs", "tc_nat", "tc_port_filter"])
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pstc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var runs = 0
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
            let o = tmp.appendingPathComponent(name + ".o").path
            XCTAssertEqual(try shell([VerifierAgreementTests.clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", Self.dir.appendingPathComponent(name + ".c").path, "-o", o]).status, 0, name)
            let obj = try BPFObject(elf: Array(try Data(contentsOf: URL(fileURLWithPath: o))), objectName: name)
            let spec = try XCTUnwrap(obj.programs.first, name)
            let maps = try BPFProgram.createMaps(obj, cpus: 2)
            for (m, entries) in prefill[name] ?? [:] {
                let map = try XCTUnwrap(maps.first { $0.name == m })
                for kv in entries { XCTAssertEqual(map.update(hexBytes(kv[0]), value: hexBytes(kv[1])), 0) }
            }
            let p = try BPFProgram.load(spec, maps: maps, type: .schedCls)
            let vm = BPFVM()
            let wantRuns = want["runs"] as! [[String: Any]]
            XCTAssertEqual(wantRuns.count, cases[name]!.count, name)
            for (k, (input, w)) in zip(cases[name]!, wantRuns).enumerated() {
                let frame = hexBytes(input["frame"] as! String)
                let r0 = try vm.runSKB(p, frame: frame, skb: Self.testRunSkb(frame, ctx: input["ctx"] as? [String: Any] ?? [:]), host: FixedBPFHost()).get()
                let label = "\(name) run \(k)"
                XCTAssertEqual(UInt32(truncatingIfNeeded: r0), UInt32(w["retval"] as! Int), label)
                XCTAssertEqual(hexText(vm.frame), w["frame"] as! String, label)
                let ctx = w["ctx"] as! [String: Any], s = vm.skb
                XCTAssertEqual(Int(s.mark), ctx["mark"] as! Int, label)
                XCTAssertEqual(Int(s.priority), ctx["priority"] as! Int, label)
                XCTAssertEqual(s.cb.map(Int.init), ctx["cb"] as! [Int], label)
                XCTAssertEqual(Int(s.wireLen), ctx["wire_len"] as! Int, label)
                XCTAssertEqual(Int(s.ifindex), ctx["ifindex"] as! Int, label)
                XCTAssertEqual(Int(s.ingressIfindex), ctx["ingress_ifindex"] as! Int, label)
                XCTAssertEqual(Int(s.tstamp), ctx["tstamp"] as! Int, label)
                runs += 1
            }
            let wantMaps = want["maps"] as! [String: [[String]]]
            for m in maps where wantMaps[m.name] != nil {
                let ours = m.entries().map { [hexText($0.key), hexText($0.values.first!)] }.sorted { $0[0] < $1[0] }
                XCTAssertEqual(ours, wantMaps[m.name]!, "\(name) map \(m.name)")
            }
        }
        XCTAssertEqual(runs, 50)
    }
}

private func hexBytes(_ s: String) -> [UInt8] {
    let c = Array(s.utf8)
    return stride(from: 0, to: c.count - 1, by: 2).map { UInt8(String(decoding: c[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}
private func hexText(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
