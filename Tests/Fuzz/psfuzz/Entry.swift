import Foundation
import FuzzTargets

// Built two ways. Under scripts/fuzz.sh (-D FUZZING, -sanitize=fuzzer,address) libFuzzer owns
// main and calls LLVMFuzzerTestOneInput with the target named by $PSFUZZ_TARGET. In an ordinary
// build it replays inputs: `psfuzz TARGET FILE|DIR...` (a crash file, or a whole corpus).

#if FUZZING
nonisolated(unsafe) private var target: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    let name = ProcessInfo.processInfo.environment["PSFUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("PSFUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    target = t
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target?.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main struct Replay {
    static func main() throws {
        let args = CommandLine.arguments
        guard args.count >= 3, let t = FuzzTarget(rawValue: args[1]) else {
            print("usage: psfuzz {\(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|"))} FILE|DIR..."); exit(2)
        }
        var n = 0
        for path in args[2...] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { print("no such file \(path)"); exit(2) }
            let files = isDir.boolValue ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 } : [path]
            for f in files { t.run(Array(try Data(contentsOf: URL(fileURLWithPath: f)))); n += 1 }
        }
        print("\(t.rawValue): \(n) inputs replayed")
    }
}
#endif
