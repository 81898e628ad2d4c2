import BPF
import Foundation
import TestSupport
import XCTest

/// The kernel verifier's verdicts on Verifier/*.c and *.s (XDP, and tc for tc_*) (scripts/record_verifier_cases.sh loads each
/// with bpftool as root on this kernel): ours must be the same - accepted, or refused at the same
/// instruction with the same message (the kernel's state dump after a loop report left out).
final class VerifierAgreementTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Verifier")
    static let clang = ProcessInfo.processInfo.environment["ORACLE_CLANG"] ?? "/usr/bin/clang"

    func testVerdictsAgreeWithTheKernel() throws {
        try skipUnless(have(Self.clang, ["--version"]) && FileManager.default.fileExists(atPath: "/usr/include/bpf/bpf_helpers.h"),
                       "clang and libbpf-dev (apt-get install clang llvm libbpf-dev)")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.dir.appendingPathComponent("expected.json"))) as! [String: [String: Any]]
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("psverify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        XCTAssertEqual(expected.count, 22)
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
            let o = tmp.appendingPathComponent(name + ".o").path
            let c = Self.dir.appendingPathComponent(name + ".c"), asm = Self.dir.appendingPathComponent(name + ".s")
            let src = FileManager.default.fileExists(atPath: c.path) ? c : asm
            XCTAssertEqual(try shell([Self.clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", src.path, "-o", o]).status, 0, name)
            let obj = try BPFObject(elf: Array(try Data(contentsOf: URL(fileURLWithPath: o))), objectName: name)
            // bpftool picks the type by section: tc_* cases are SEC("tc"), sched_cls.
            let tc = name.hasPrefix("tc_")
            let spec = try XCTUnwrap(obj.program(section: tc ? "tc" : "xdp"), name)
            var ours = "accept"
            do { _ = try BPFProgram.load(spec, maps: try BPFProgram.createMaps(obj, cpus: 2), type: tc ? .schedCls : .xdp) } catch { ours = "\(error)" }
            if want["verdict"] as? String == "accept" {
                XCTAssertEqual(ours, "accept", name)
            } else {
                // The kernel's report of a loop goes on with the two states, and is made before the
                // instruction it names is logged: the message names the instruction.
                let message = want["message"] as! String
                if message.hasPrefix("infinite loop") {
                    XCTAssertEqual(ours.drop { $0 != " " }.dropFirst(), message.prefix { $0 != "\n" }, name)
                } else {
                    XCTAssertEqual(ours, "\(want["insn"] as! Int): \(message)", name)
                }
            }
        }
    }
}
