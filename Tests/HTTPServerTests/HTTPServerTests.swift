import Foundation
@testable import HTTPServer
import TestSupport
import XCTest

func checksum(_ b: [UInt8], from start: Int = 0) -> Int { b.reduce(start) { ($0 &* 31 &+ Int($1)) & 0xffff_ffff } }

/// Echoes what it received; `/slow` runs 150 ms on a worker so ordering and concurrency show.
struct EchoHandler: HTTPHandler {
    func isInline(_ r: HTTPRequest) -> Bool { r.path != "/slow" }
    func respond(to r: HTTPRequest) -> HTTPResponse {
        if r.path == "/slow" { usleep(150_000) }
        // A spooled body shows its size and a checksum of what its file reads back, in pieces.
        let spooled = r.spooled.map { b -> String in
            var sum = 0, o = 0
            while case let piece = b.read(at: o, max: 65_536), !piece.isEmpty { sum = checksum(piece, from: sum); o += piece.count }
            return " spooled=\(b.count)/\(o) sum=\(sum)"
        } ?? ""
        return HTTPResponse(status: 200, contentType: "text/plain", body: "\(r.method) \(r.path)?\(r.query) \(r.version) body=\(r.body.count)\(spooled)")
    }
}

final class HTTPServerTests: XCTestCase {
    var server: HTTPServer!
    var thread: Thread!
    var done: DispatchSemaphore!

    func start(_ tweak: (inout ServerConfig) -> Void = { _ in }) throws {
        var c = ServerConfig()
        c.port = 0
        tweak(&c)
        server = try HTTPServer(config: c, handler: EchoHandler())
        done = DispatchSemaphore(value: 0)
        let s = server!, d = done!
        thread = Thread { s.run(); d.signal() }
        thread.start()
    }

    override func tearDown() {
        if let server {
            server.stop()
            XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "server did not stop")
        }
        server = nil
    }

    var port: UInt16 { server.boundPort }

    func testMediaTypeIsTheLowerCaseTypeBeforeItsParameters() {
        let types = ["application/json", " Application/X-NDJSON ; charset=utf-8", "\ttext/plain\t;q=1", "", ";x=1", "Ünï/code"].map {
            HTTPRequest(method: "POST", target: "/", headers: [HTTPHeader("content-type", $0)]).mediaType
        }
        XCTAssertEqual(types, ["application/json", "application/x-ndjson", "text/plain", "", "", "Ünï/code"])
        XCTAssertEqual(HTTPRequest(method: "POST", target: "/").mediaType, "")
    }

    func testKeepAliveServesSequentialRequestsOnOneConnection() throws {
        try start()
        let c = try RawClient(port: port)
        c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        let r1 = c.readResponses(1)
        c.send("GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        let r2 = c.readResponses(1)
        XCTAssertEqual(r1.first?.body, "GET /a? HTTP/1.1 body=0")
        XCTAssertEqual(r2.first?.body, "GET /b?q=1 HTTP/1.1 body=0")
        XCTAssertNil(r1.first?.headers["connection"])
        XCTAssertNotNil(r1.first?.headers["date"])
    }

    func testPipelinedRequestsAreAnsweredInOrderEvenWhenTheFirstIsSlow() throws {
        try start()
        let c = try RawClient(port: port)
        c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let text = c.readAll()
        let bodies = text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.components(separatedBy: "HTTP/1.1 200").first! }
        XCTAssertEqual(bodies, ["GET /slow? HTTP/1.1 body=0", "GET /fast? HTTP/1.1 body=0", "POST /p? HTTP/1.1 body=3", "GET /last? HTTP/1.1 body=0"])
        XCTAssertTrue(text.hasSuffix("body=0"))
        XCTAssertEqual(text.components(separatedBy: "Connection: close").count, 2, "only the last response closes")
    }

    func testChunkedBodyAndExpectContinue() throws {
        try start()
        let c = try RawClient(port: port)
        c.send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
        XCTAssertEqual(c.readResponses(1).first?.body, "POST /c? HTTP/1.1 body=11")
        c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let cont = c.readResponses(1)
        XCTAssertEqual(cont.first?.status, 100)
        c.send("abcd")
        XCTAssertEqual(c.readResponses(1).first?.body, "POST /e? HTTP/1.1 body=4")
    }

    /// A spooled media type's body goes to a file whatever its size (here 5,000 times the memory
    /// limit), after a 100 Continue when asked; other types keep the memory limit; over the
    /// spool limit is 413 at once; the request behind a spooled one is read as usual.
    func testBodiesOfSpooledTypesGoToAFile() throws {
        try start { $0.maxBodyBytes = 100; $0.spooledMediaTypes = ["application/x-pcapng"]; $0.maxSpooledBodyBytes = 1_000_000 }
        let body = [UInt8]((0..<500_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        let c = try RawClient(port: port)
        c.send("POST /cap HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-pcapng\r\nContent-Length: 500000\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(c.readResponses(1).first?.status, 100)
        for k in stride(from: 0, to: body.count, by: 65_536) { c.send(Array(body[k..<min(k + 65_536, body.count)])) }
        c.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        let rs = c.readResponses(2)
        XCTAssertEqual(rs.map(\.body), ["POST /cap? HTTP/1.1 body=0 spooled=500000/500000 sum=\(checksum(body))", "GET /after? HTTP/1.1 body=0"])
        // Parameters and case do not change the media type; another type keeps the 100-byte limit.
        let small = try RawClient(port: port)
        small.send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Type: Application/X-Pcapng; charset=x\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(small.readResponses(1).first?.body, "POST /s? HTTP/1.1 body=0 spooled=3/3 sum=\(checksum(Array("abc".utf8)))")
        for (type, length, detail) in [("application/json", 101, "body of 101 bytes exceeds the limit of 100"),
                                       ("application/x-pcapng", 1_000_001, "body of 1000001 bytes exceeds the limit of 1000000 for application/x-pcapng")] {
            let c = try RawClient(port: port)
            c.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Type: \(type)\r\nContent-Length: \(length)\r\n\r\n")
            let text = c.readAll()
            XCTAssertTrue(text.hasPrefix("HTTP/1.1 413 Content Too Large\r\n"), text)
            XCTAssertTrue(text.contains("\"detail\":\"\(detail)\""), text)
        }
    }

    /// A spooled body's timeout runs from its last piece, not from its head.
    func testASpooledBodyTimesOutOnlyWhenItStops() throws {
        try start { $0.bodyTimeoutMs = 400; $0.spooledMediaTypes = ["application/x-pcapng"] }
        let c = try RawClient(port: port)
        c.send("POST /slow-upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-pcapng\r\nContent-Length: 8\r\n\r\n")
        for _ in 0..<4 { usleep(250_000); c.send("ab") }
        XCTAssertEqual(c.readResponses(1).first?.body, "POST /slow-upload? HTTP/1.1 body=0 spooled=8/8 sum=\(checksum(Array("abababab".utf8)))")
        c.send("POST /stalled HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-pcapng\r\nContent-Length: 8\r\n\r\nab")
        let text = c.readAll()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), text)
    }

    func testHEADHasLengthButNoBody() throws {
        try start()
        let c = try RawClient(port: port)
        c.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n")
        let rs = c.readResponses(2, headRequests: [0])
        XCTAssertEqual(rs.count, 2)
        XCTAssertEqual(rs[0].headers["content-length"], "\("HEAD /h? HTTP/1.1 body=0".utf8.count)")
        XCTAssertEqual(rs[0].body, "")
        XCTAssertEqual(rs[1].body, "GET /g? HTTP/1.1 body=0")
    }

    func testHTTP10ClosesByDefault() throws {
        try start()
        let c = try RawClient(port: port)
        c.send("GET /old HTTP/1.0\r\n\r\n")
        let text = c.readAll()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        XCTAssertTrue(text.contains("Connection: close\r\n"))
        XCTAssertTrue(text.hasSuffix("GET /old? HTTP/1.0 body=0"))
    }

    func testLimitsAnswerWithProblemJSONAndClose() throws {
        try start { $0.maxHeaderBytes = 1024; $0.maxBodyBytes = 100 }
        let cases: [(String, Int, String)] = [
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 2000))\r\n\r\n", 431, "exceed 1024 bytes"),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413, "exceeds the limit of 100"),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n\(String(repeating: "z", count: 101))\r\n0\r\n\r\n", 413, "chunked body exceeds"),
            ("GARBAGE\r\n\r\n", 400, "malformed request line"),
            ("GET / HTTP/2.0\r\n\r\n", 505, "unsupported version"),
            ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "conflicting Content-Length"),
            ("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "both Transfer-Encoding and Content-Length"),
            ("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, "invalid header name"),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "malformed chunk size"),
            // An extension without end, and trailers without end, are cut at their limits.
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "x", count: 5000), 400, "chunk extension longer than 4096 bytes"),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + String(repeating: "X-T: y\r\n", count: 3000), 431, "trailer fields exceed"),
        ]
        for (req, status, detail) in cases {
            let c = try RawClient(port: port)
            c.send(req)
            let text = c.readAll()
            XCTAssertTrue(text.hasPrefix("HTTP/1.1 \(status) "), "\(status): \(text.prefix(80))")
            XCTAssertTrue(text.contains("Content-Type: application/problem+json\r\n"), "\(status)")
            XCTAssertTrue(text.contains("Connection: close\r\n"), "\(status)")
            XCTAssertTrue(text.contains("\"status\":\(status)"), "\(status)")
            XCTAssertTrue(text.contains(detail), "\(status): \(text)")
        }
    }

    func testSlowHeadersGet408AndClose() throws {
        try start { $0.headerTimeoutMs = 300 }
        let c = try RawClient(port: port)
        c.send("GET /slowloris HTTP/1.1\r\nHost: x\r\n")
        let t0 = Date()
        let text = c.readAll()
        let waited = Date().timeIntervalSince(t0)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), text)
        XCTAssertTrue(text.contains("\"status\":408"))
        XCTAssertGreaterThan(waited, 0.25)
        XCTAssertLessThan(waited, 2.0)
    }

    /// A complete head whose body never comes gets 408 and the connection closes (it used to be
    /// held forever: 500 of them starved the server).
    func testABodyThatNeverComesGets408AndClose() throws {
        try start { $0.bodyTimeoutMs = 300 }
        let c = try RawClient(port: port)
        c.send("POST /v1/stacks HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"a\"")
        let text = c.readAll()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), text)
        XCTAssertTrue(text.contains("request body not received within 300 ms"), text)
        XCTAssertTrue(text.contains("Connection: close\r\n"), text)
    }

    /// At --max-connections the connection idle longest is closed to admit a new client, so idle
    /// and slowloris connections cannot lock anyone out.
    func testAtTheLimitTheLongestIdleConnectionMakesRoom() throws {
        try start { $0.maxConnections = 2 }
        let a = try RawClient(port: port), b = try RawClient(port: port)
        a.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(a.readResponses(1).first?.status, 200)
        b.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(b.readResponses(1).first?.status, 200)
        let c = try RawClient(port: port)
        c.send("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(c.readResponses(1).first?.body, "GET /3? HTTP/1.1 body=0")
        XCTAssertEqual(a.readAll(), "", "the connection idle longest was closed")
        b.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(b.readResponses(1).first?.body, "GET /again? HTTP/1.1 body=0")
        XCTAssertEqual(server.counters.snapshot.evicted, 1)
        XCTAssertEqual(server.counters.snapshot.refused, 0)
    }

    func testConnectionsOverTheLimitAreRefusedWith503WhenEveryOneIsBusy() throws {
        try start { $0.maxConnections = 2 }
        let a = try RawClient(port: port), b = try RawClient(port: port)
        a.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        b.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(50_000)   // both requests are running on the workers (150 ms each)
        let c = try RawClient(port: port)
        let text = c.readAll()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), text)
        XCTAssertTrue(text.contains("too many connections (limit 2)"))
        XCTAssertTrue(text.contains("Retry-After: 1\r\n"), text)
        // The first two still get their answers.
        XCTAssertEqual(a.readResponses(1).first?.body, "GET /slow? HTTP/1.1 body=0")
        XCTAssertEqual(b.readResponses(1).first?.body, "GET /slow? HTTP/1.1 body=0")
        XCTAssertEqual(server.counters.snapshot.refused, 1)
        XCTAssertEqual(server.counters.snapshot.evicted, 0)
    }

    /// HTTP/2 frame: 24-bit length, type, flags, stream.
    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8] = []) -> [UInt8] {
        [UInt8(payload.count >> 16), UInt8(payload.count >> 8 & 0xff), UInt8(payload.count & 0xff), type, flags,
         UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// A header block that never ends (CONTINUATION after CONTINUATION) is a flood: GOAWAY
    /// ENHANCE_YOUR_CALM and close, not a connection held open forever.
    func testContinuationFloodGetsGoawayAndClose() throws {
        try start()
        let c = try RawClient(port: port)
        var b = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(4, 0, 0)
        b += Self.frame(1, 0, 1, [0x82, 0x86, 0x84])          // HEADERS :method GET :scheme http :path /, no END_HEADERS
        for _ in 0..<50 { b += Self.frame(9, 0, 1, [0x82]) }  // CONTINUATION, never END_HEADERS
        c.send(b)
        let got = c.readAllBytes()   // returns once the server closes
        // The last frame is GOAWAY (type 7), last stream 1 (the one begun), error 0xb ENHANCE_YOUR_CALM.
        XCTAssertEqual(Array(got.suffix(17)), Self.frame(7, 0, 0, [0, 0, 0, 1, 0, 0, 0, 0x0b]), "\(got)")
    }

    /// A request whose client closed the connection before a worker took it is not run.
    func testRequestsOfAClosedConnectionAreSkipped() throws {
        try start { $0.workers = 1 }
        let a = try RawClient(port: port)
        a.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(30_000)   // a's request holds the only worker
        do {
            let b = try RawClient(port: port)
            b.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            withExtendedLifetime(b) { usleep(30_000) }
        }
        XCTAssertEqual(a.readResponses(1).first?.status, 200)
        // The loop saw b close while its two requests were queued: the worker skips both.
        let deadline = Date().addingTimeInterval(2)
        while server.counters.snapshot.cancelled < 2 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(server.counters.snapshot.cancelled, 2)
    }

    func testStopFinishesInFlightRequestsThenReturns() throws {
        try start()
        let c = try RawClient(port: port)
        c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(30_000)
        server.stop()
        let text = c.readAll()
        XCTAssertTrue(text.hasSuffix("GET /slow? HTTP/1.1 body=0"), text)
        XCTAssertTrue(text.contains("Connection: close\r\n"))
        let p = port
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        server = nil
        XCTAssertThrowsError(try RawClient(port: p), "the listening socket is closed")
    }
}

final class WorkerPoolTests: XCTestCase {
    final class Body: @unchecked Sendable { let bytes = [UInt8](repeating: 0, count: 1 << 20) }

    /// A finished job's captures (a request and its body) are released when it has run, not
    /// about a thousand jobs later (1 MiB bodies used to pile up to about a GB).
    func testAFinishedJobIsReleased() throws {
        let pool = WorkerPool(threads: 1)
        defer { pool.stop() }
        weak var released: Body?
        let done = DispatchSemaphore(value: 0)
        do {
            let body = Body()
            released = body
            pool.submit { _ = body.bytes.count; done.signal() }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        let deadline = Date().addingTimeInterval(2)
        while released != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertNil(released)
    }
}
