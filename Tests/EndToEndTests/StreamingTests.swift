import Foundation
import TestSupport
import XCTest

extension EndToEndTests {
    /// GET /v1/traces?format=ndjson streams every matching trace, a line each, page by page:
    /// chunked on HTTP/1.1 (and the next request on the connection answered after it), DATA frames
    /// on HTTP/2; 1,200 traces are more than two of the store's pages.
    func testNDJSONStreamsOverHTTP1AndHTTP2() throws {
        try skipUnless(have("curl", ["--version"]), "curl is not installed")
        let d = try Daemon(db: db, cwd: dir)
        defer { _ = d.terminate() }
        XCTAssertEqual(try request(d.port, "POST", "/v1/stacks", Self.stack).status, 201)
        let one = #"{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"sport":5353,"dport":53}}"#
        let body = #"{"packets":["# + Array(repeating: one, count: 1200).joined(separator: ",") + "]}"
        XCTAssertEqual(try request(d.port, "POST", "/v1/stacks/router/packets?sync=true", body).status, 200)
        let base = "http://127.0.0.1:\(d.port)"

        // HTTP/1.1: the head says chunked; the lines are the traces in order; the second URL rides the same connection.
        let h1 = try shell(["curl", "-s", "-i", "-m", "20", "\(base)/v1/traces?format=ndjson&stack=router", "\(base)/healthz"]).out
        XCTAssertTrue(h1.contains("Transfer-Encoding: chunked\r\n"), String(h1.prefix(300)))
        // (Split as bytes: Swift takes "\r\n" as one character.)
        let lines = h1.utf8.split(separator: 0x0a).map { String(decoding: $0, as: UTF8.self) }.filter { $0.hasPrefix(#"{"trace_id":"#) }
        XCTAssertEqual(lines.count, 1200)
        XCTAssertTrue(lines[0].hasPrefix(#"{"trace_id":1,"#) && lines[1199].hasPrefix(#"{"trace_id":1200,"#))
        XCTAssertTrue(h1.hasSuffix("{\"status\":\"ok\"}\n"), String(h1.suffix(200)))

        // HTTP/2, newest first, a limit.
        let h2 = try shell(["curl", "-s", "-m", "20", "--http2-prior-knowledge", "\(base)/v1/traces?format=ndjson&order=newest&limit=700"]).out
        let l2 = h2.split(separator: "\n")
        XCTAssertEqual(l2.count, 700)
        XCTAssertTrue(l2[0].hasPrefix(#"{"trace_id":1200,"#) && l2[699].hasPrefix(#"{"trace_id":501,"#))
        // Clients that leave mid-stream (more of them than there are workers) free their workers:
        // a request that needs one is still answered.
        for _ in 0..<6 {
            let c = try RawClient(port: d.port)   // closed when it goes out of scope, unread
            c.send("GET /v1/traces?format=ndjson HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(20_000)
        }
        let after = try shell(["curl", "-s", "-m", "10", "\(base)/v1/traces?limit=1&order=newest"]).out
        XCTAssertTrue(after.hasPrefix(#"{"items":[{"trace_id":1200,"#), after)
    }
}

extension EndToEndTests {
    /// A capture four times --max-body goes to a temporary file as it arrives and runs in pieces
    /// with progress lines, over HTTP/1.1 and HTTP/2; one over --max-capture is 413 (on HTTP/2
    /// in testHTTP2LimitsAnswer431And413OnTheirStreamOnly: curl 7.88 drops an answer that comes
    /// before the end of its upload there).
    func testALargeCaptureStreamsThroughWithProgress() throws {
        try skipUnless(have("curl", ["--version"]), "curl is not installed")
        let d = try Daemon(db: db, cwd: dir, extra: ["--max-body", "65536", "--max-capture", "200000"])
        defer { _ = d.terminate() }
        let stack = #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}]}"#
        XCTAssertEqual(try request(d.port, "POST", "/v1/stacks", stack).status, 201)
        let file = dir.appendingPathComponent("cap.pcap"), over = dir.appendingPathComponent("over.pcap")
        try Data(TestCaptures.udp(3000)).write(to: file)
        try Data(TestCaptures.udp(3400)).write(to: over)
        let url = "http://127.0.0.1:\(d.port)/v1/stacks/h/packets?device=eth0&progress=1000&trace=summary&sync=true"
        for (k, version) in ["--http1.1", "--http2-prior-knowledge"].enumerated() {
            let out = try shell(["curl", "-s", "-m", "60", version, "-H", "Content-Type: application/vnd.tcpdump.pcap", "--data-binary", "@\(file.path)", url]).out
            // Each run starts at the clock the one before left (a new stack's is 0): 300 s of capture, then 500 ns.
            let start = k * 299_900_000_500
            let lines = out.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 3, out)
            XCTAssertEqual(lines.last, #"{"bytes":177024,"of":177024,"packets":3000,"outcomes":{"dropped":3000},"traces":3000,"start_ns":\#(start),"clock_ns":\#(start + 299_900_000_500),"done":true,"trace":"summary","durable":true}"#)
            XCTAssertTrue(lines[0].hasPrefix(#"{"bytes":177024,"of":177024,"packets":1000,"#), lines[0])
        }
        let refused = try shell(["curl", "-s", "-m", "60", "-H", "Content-Type: application/vnd.tcpdump.pcap", "--data-binary", "@\(over.path)", url]).out
        XCTAssertTrue(refused.contains(#""status":413,"detail":"body of 200624 bytes exceeds the limit of 200000 for application/vnd.tcpdump.pcap""#), refused)
        let newest = try request(d.port, "GET", "/v1/traces?stack=h&limit=1&order=newest").body
        XCTAssertTrue(newest.hasPrefix(#"{"items":[{"trace_id":6000,"#), newest)
    }
}
