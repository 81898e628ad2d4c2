import BPF
import Foundation
import TestSupport
import XCTest

/// Objects clang writes: every program of the oracle's XDP corpus loads, and our disassembly of
/// each instruction reads as llvm-objdump's (relocated map references aside).
final class ObjectTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/oracle/corpus/public_xdp/src").standardized
    static let clang = ProcessInfo.processInfo.environment["ORACLE_CLANG"] ?? "/usr/bin/clang"

    func testCorpusObjectsLoadAndDisassembleAsLLVMObjdump() throws {
        try skipUnless(FileManager.default.fileExists(atPath: Self.sources.path), "../shared/oracle is not beside this checkout")
        try skipUnless(have(Self.clang, ["--version"]) && have("llvm-objdump", ["--version"]) && FileManager.default.fileExists(atPath: "/usr/include/bpf/bpf_helpers.h"),
                       "clang, llvm and libbpf-dev (apt-get install clang llvm libbpf-dev)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("psobj-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var compared = 0
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter { $0.hasSuffix(".c") }.sorted()
        XCTAssertEqual(files.count, 17)
        for f in files {
            let o = dir.appendingPathComponent(f + ".o").path
            XCTAssertEqual(try shell([Self.clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", Self.sources.appendingPathComponent(f).path, "-o", o]).status, 0)
            let obj = try BPFObject(elf: Array(try Data(contentsOf: URL(fileURLWithPath: o))), objectName: "xdp_eth0")
            let spec = try XCTUnwrap(obj.program(section: "xdp"), f)
            _ = try BPFProgram.load(spec, maps: try BPFProgram.createMaps(obj, cpus: 2))
            // llvm-objdump: "  12:\tr1 = *(u32 *)(r1 + 4)" (labels and the second slot of ld_imm64 left out).
            let dump = try shell(["llvm-objdump", "-d", "--no-show-raw-insn", "--section=xdp", o]).out
            var theirs: [Int: String] = [:]
            for line in dump.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1)
                guard parts.count == 2, let idx = Int(parts[0].trimmingCharacters(in: .whitespaces).dropLast()) else { continue }
                theirs[idx] = parts[1].replacingOccurrences(of: #" <[^>]*>"#, with: "", options: .regularExpression)
            }
            var k = 0
            while k < spec.mainLength {
                let ours = Disassembler.text(spec.insns, at: k)
                let want = try XCTUnwrap(theirs[k], "\(f) insn \(k)")
                if spec.insns[k].isLdImm64 && spec.insns[k].src != 0 {
                    XCTAssertTrue(want.hasSuffix(" ll") && ours.hasPrefix(want.prefix(while: { $0 != "=" })), "\(f) \(k): ours \(ours) llvm \(want)")
                } else {
                    XCTAssertEqual(ours, want, "\(f) insn \(k)")
                }
                compared += 1
                k += spec.insns[k].isLdImm64 ? 2 : 1
            }
        }
        print("disassembled \(compared) instructions as llvm-objdump does")
        XCTAssertEqual(compared, 1965, "clang 14.0.6 (Debian 12), as the oracle compiles")
    }
}
