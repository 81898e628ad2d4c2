import API
import Foundation
import HTTPServer
import XCTest

/// Request ids, access-log lines, /readyz and the HTTP families of /metrics.
final class OperationsTests: AppTestCase {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    /// The duration is the one value a run cannot know: the test masks it, the product prints it.
    func masked(_ line: String) -> String {
        line.replacingOccurrences(of: #"duration_ms[=":]+[0-9.]+"#, with: "duration_ms=D", options: .regularExpression)
    }

    func testAccessLogRequestIDsReadinessAndHTTPMetrics() throws {
        let lines = Lines()
        app = try App(store: store, requestLog: RequestLog(format: .logfmt, sink: { lines.add($0) }))
        let ready = app.respond(to: HTTPRequest(method: "GET", target: "/readyz", headers: [HTTPHeader("x-request-id", "probe-1")]))
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(String(decoding: ready.body, as: UTF8.self), #"{"status":"ready","stacks":0}"# + "\n")
        XCTAssertEqual(ready.requestID, "probe-1")
        let missing = call("GET", "/v1/stacks/nope")
        XCTAssertEqual(missing.status, 404)
        let id = try XCTUnwrap(missing.requestID)
        XCTAssertEqual(id, String(format: "%08x-1", UInt32(getpid())))
        // An id with a space or quote is not echoed into the log; a new one is made.
        let odd = app.respond(to: HTTPRequest(method: "GET", target: "/nowhere", headers: [HTTPHeader("x-request-id", "a b")]))
        XCTAssertEqual(odd.requestID, String(format: "%08x-2", UInt32(getpid())))
        XCTAssertEqual(lines.all.map(masked), [
            "method=GET path=/readyz status=200 bytes=30 duration_ms=D request_id=probe-1 version=HTTP/1.1",
            "method=GET path=/v1/stacks/nope status=404 bytes=\(missing.raw.utf8.count) duration_ms=D request_id=\(id) version=HTTP/1.1",
            "method=GET path=/nowhere status=404 bytes=\(String(decoding: odd.body, as: UTF8.self).utf8.count) duration_ms=D request_id=\(String(format: "%08x-2", UInt32(getpid()))) version=HTTP/1.1",
        ])
        let metrics = call("GET", "/metrics").raw.split(separator: "\n").map(String.init)
        XCTAssertEqual(metrics.filter { $0.hasPrefix("packetstack_http_requests_total") }, [
            #"packetstack_http_requests_total{route="GET /readyz",status="200"} 1"#,
            #"packetstack_http_requests_total{route="GET /v1/stacks/{stack}",status="404"} 1"#,
            #"packetstack_http_requests_total{route="unmatched",status="404"} 1"#,
        ])
        XCTAssertEqual(metrics.filter { $0.hasPrefix("packetstack_http_request_duration_seconds_count") }, [
            #"packetstack_http_request_duration_seconds_count{route="GET /readyz"} 1"#,
            #"packetstack_http_request_duration_seconds_count{route="GET /v1/stacks/{stack}"} 1"#,
            #"packetstack_http_request_duration_seconds_count{route="unmatched"} 1"#,
        ])
        XCTAssertTrue(metrics.contains(#"packetstack_http_request_duration_seconds_bucket{route="unmatched",le="+Inf"} 1"#))
        // Buckets are cumulative: a request of well under 10 s is in the 10 s bucket, whichever it fell in first.
        XCTAssertEqual(metrics.filter { $0.hasPrefix("packetstack_http_request_duration_seconds_bucket") && $0.contains(#"le="10.0""#) }, [
            #"packetstack_http_request_duration_seconds_bucket{route="GET /readyz",le="10.0"} 1"#,
            #"packetstack_http_request_duration_seconds_bucket{route="GET /v1/stacks/{stack}",le="10.0"} 1"#,
            #"packetstack_http_request_duration_seconds_bucket{route="unmatched",le="10.0"} 1"#,
        ])
    }

    /// Ids the server makes count up in hex after the process id.
    func testRequestIDsCountInHex() throws {
        let prefix = String(format: "%08x-", UInt32(getpid()))
        let ids = (0..<300).map { _ in app.respond(to: HTTPRequest(method: "GET", target: "/healthz")).requestID }
        XCTAssertEqual([ids[0], ids[9], ids[15], ids[255], ids[299]], ["1", "a", "10", "100", "12c"].map { prefix + $0 })
    }

    func testJSONAccessLogQuotesWhatItPrints() throws {
        let lines = Lines()
        app = try App(store: store, requestLog: RequestLog(format: .json, sink: { lines.add($0) }))
        let r = app.respond(to: HTTPRequest(method: "GET", target: "/a%22b", headers: [HTTPHeader("x-request-id", "r1")], version: "HTTP/2"))
        XCTAssertEqual(lines.all.map(masked), [
            #"{"method":"GET","path":"/a%22b","status":404,"bytes":\#(r.body.count),"duration_ms=D,"request_id":"r1","version":"HTTP/2"}"#,
        ])
    }
}
