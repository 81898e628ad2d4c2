import Foundation
import TestSupport
import XCTest

extension EndToEndTests {
    /// The README's walkthrough, taken from the README itself, runs top to bottom against the real
    /// binary: every curl must succeed (curl -f fails on any 4xx/5xx), so the two cannot drift.
    func testTheReadmeWalkthroughRuns() throws {
        try skipUnless(have("curl", ["--version"]), "curl is not installed")
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md"), encoding: .utf8)
        guard let start = readme.range(of: "<!-- walkthrough -->\n```sh\n"), let end = readme.range(of: "\n```\n", range: start.upperBound..<readme.endIndex) else {
            return XCTFail("README has no walkthrough block")
        }
        let d = try Daemon(db: db, cwd: dir)
        defer { _ = d.terminate() }
        let script = "set -euo pipefail\n" + readme[start.upperBound..<end.lowerBound]
            .replacingOccurrences(of: "localhost:8080", with: "127.0.0.1:\(d.port)")
            .replacingOccurrences(of: "curl -s ", with: "curl -sSf -o /dev/null -w '%{http_code} %{url}\\n' ")
        let file = dir.appendingPathComponent("walkthrough.sh")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [file.path]
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        let codes = text.split(separator: "\n").map { String($0.prefix(3)) }
        XCTAssertEqual(codes.count, 76, text)   // one line per curl of the walkthrough
        XCTAssertEqual(Set(codes).subtracting(["200", "201", "204"]), [], text)
        // What it left behind: both stacks deleted.
        XCTAssertEqual(try request(d.port, "GET", "/v1/stacks").body, #"{"items":[],"next_cursor":null}"# + "\n")
    }
}
