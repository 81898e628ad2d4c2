import Foundation
import TestSupport
import XCTest

extension EndToEndTests {
    /// An answer over 1 MiB over h2: nghttp2 hands output over up to the 1 MiB high-water mark,
    /// and the rest must follow once the socket took it (it stalled at exactly 1 MiB, and later
    /// wherever a write began past the mark). 40,000 packets as NDJSON with summary traces answer
    /// about 9.4 MB; HTTP/1.1 gives the same.
    func testAnAnswerOverOneMiBArrivesWholeOverHTTP2AndHTTP1() throws {
        try skipUnless(have("curl", ["--version"]), "curl is not installed")
        let d = try Daemon(db: db, cwd: dir, extra: ["--max-packets", "40000"])
        defer { _ = d.terminate() }
        XCTAssertEqual(try request(d.port, "POST", "/v1/stacks", Self.stack).status, 201)
        // UDP 198.18.0.9:5353 -> 198.18.0.1:53 (no socket: a port unreachable each, sent to no one).
        let hex = "02000000000102000000000908004500001d000000004011eea1c6120009c612000114e900350009e68e78"
        let file = dir.appendingPathComponent("batch.ndjson")
        try String(repeating: #"{"device":"eth0","hex":"\#(hex)"}"# + "\n", count: 40000).write(to: file, atomically: true, encoding: .utf8)
        // A reader slower than the server (--limit-rate) fills the socket, so writes are partial and
        // some begin with the buffer past the mark (the second way it stalled).
        for version in ["--http2-prior-knowledge", "--http1.1", "--http2-prior-knowledge"] {
            let out = try shell(["curl", "-s", "-m", "30", "--limit-rate", "16M", version, "-H", "content-type: application/x-ndjson", "--data-binary", "@" + file.path,
                                 "http://127.0.0.1:\(d.port)/v1/stacks/router/packets?trace=summary&rate_pps=1000000"]).out
            XCTAssertGreaterThan(out.utf8.count, 1 << 20, version)
            XCTAssertTrue(out.hasSuffix(#""trace":"summary","packets":40000,"outcomes":{"dropped":40000},"durable":false}"# + "\n"), version + ": " + String(out.suffix(200)))
        }
    }
}
