import Foundation
import XCTest

/// The real packetstackd binary on an ephemeral loopback port.
final class Daemon {
    let process = Process()
    let stderr = Pipe()
    private(set) var port: UInt16 = 0
    private var log = ""

    static var binary: URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for d in [dir, dir.deletingLastPathComponent()] {
            let b = d.appendingPathComponent("packetstackd")
            if FileManager.default.isExecutableFile(atPath: b.path) { return b }
        }
        return dir.appendingPathComponent("packetstackd")
    }

    /// Starts with `cwd` as the working directory, so the embedded migrations are what runs.
    init(db: String, cwd: URL, extra: [String] = []) throws {
        process.executableURL = Daemon.binary
        process.arguments = ["--listen", "127.0.0.1:0", "--db", db] + extra
        process.currentDirectoryURL = cwd
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let chunk = stderr.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
            if let r = log.range(of: "listening on http://127.0.0.1:") {
                let rest = log[r.upperBound...]
                port = UInt16(rest.prefix { $0.isNumber })!
                return
            }
        }
        throw NSError(domain: "daemon did not start: \(log)", code: 1)
    }

    /// SIGTERM, then the exit status and the rest of stderr.
    func terminate() -> (status: Int32, log: String) {
        process.terminate()
        process.waitUntilExit()
        log += String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, log)
    }
}

