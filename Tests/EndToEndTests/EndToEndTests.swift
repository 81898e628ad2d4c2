import Foundation
import TestSupport
import XCTest

/// packetstackd as a user runs it, over real HTTP/1.1 and HTTP/2 connections.
final class EndToEndTests: XCTestCase {
    var dir: URL!
    var db: String { dir.appendingPathComponent("e2e.db").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let stack = #"{"name":"router","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#
    static let udp = #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"sport":5353,"dport":53},"payload_hex":"abcd"}]}"#

    func request(_ port: UInt16, _ method: String, _ path: String, _ body: String = "") throws -> (status: Int, body: String) {
        let c = try RawClient(port: port)
        c.send("\(method) \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let r = c.readResponses(1)
        return (r.first?.status ?? 0, r.first?.body ?? "")
    }

    func testHTTP1CreateInjectQueryThenRestartKeepsEverything() throws {
        let d = try Daemon(db: db, cwd: dir)
        XCTAssertEqual(try request(d.port, "GET", "/healthz").body, "{\"status\":\"ok\"}\n")
        XCTAssertEqual(try request(d.port, "POST", "/v1/stacks", Self.stack).status, 201)
        let inj = try request(d.port, "POST", "/v1/stacks/router/packets", Self.udp)
        XCTAssertEqual(inj.status, 200)
        XCTAssertTrue(inj.body.contains(#""outcome":"dropped","drop_reason":"NO_SOCKET""#), inj.body)
        XCTAssertTrue(inj.body.contains(#""durable":false"#))
        let stop = d.terminate()
        XCTAssertEqual(stop.status, 0, stop.log)
        XCTAssertTrue(stop.log.contains("packetstackd: stopped"), stop.log)

        // Restarted from another working directory: the schema comes from the binary, the data from the file.
        let other = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let d2 = try Daemon(db: db, cwd: other)
        XCTAssertTrue(try request(d2.port, "GET", "/v1/stacks/router").body.contains(#""addresses":["198.18.0.1/24"]"#))
        let traces = try request(d2.port, "GET", "/v1/traces?stack=router&drop_reason=NO_SOCKET")
        XCTAssertTrue(traces.body.hasPrefix(#"{"items":[{"trace_id":1,"stack":"router","device":"eth0","outcome":"dropped","drop_reason":"NO_SOCKET""#), traces.body)
        let spec = try request(d2.port, "GET", "/openapi.yaml")
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi/openapi.yaml").standardized
        XCTAssertEqual(spec.body + "\n", try String(contentsOf: file, encoding: .utf8))
        XCTAssertEqual(d2.terminate().status, 0)
    }

    func testHTTP2PriorKnowledgeAndUpgradeWithCurl() throws {
        try skipUnless(have("curl", ["--version"]), "curl is not installed")
        let d = try Daemon(db: db, cwd: dir)
        defer { _ = d.terminate() }
        let base = "http://127.0.0.1:\(d.port)"
        // One URL per curl: curl 7.88 does not send a second request on a reused prior-knowledge
        // connection (curl/curl#10634, fixed in 8.0); multiplexing is tested with Python's h2 below.
        let prior = try shell(["curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", "\n%{http_version} %{response_code}", "\(base)/healthz"])
        XCTAssertEqual(prior.out, "{\"status\":\"ok\"}\n\n2 200")
        let list = try shell(["curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", "\n%{http_version} %{response_code}", "\(base)/v1/stacks"])
        XCTAssertEqual(list.out, "{\"items\":[],\"next_cursor\":null}\n\n2 200")
        let upgrade = try shell(["curl", "-s", "-m", "10", "--http2", "-w", "\n%{http_version} %{response_code}", "-H", "content-type: application/json",
                               "-d", Self.stack, "\(base)/v1/stacks"])
        XCTAssertTrue(upgrade.out.hasSuffix("\n2 201"), upgrade.out)
        let h1 = try shell(["curl", "-s", "-m", "10", "--http1.1", "-w", "\n%{http_version} %{response_code}", "\(base)/v1/stacks/router"])
        XCTAssertTrue(h1.out.hasSuffix("\n1.1 200"), h1.out)
        // A 40 KB answer through Upgrade: h2c (curl 7.88 cannot take more than 32 KiB right behind the 101).
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi/openapi.yaml").standardized
        let big = try shell(["curl", "-s", "-m", "10", "--http2", "-w", "\n%{http_version} %{response_code}", "\(base)/openapi.yaml"])
        XCTAssertEqual(big.out, try String(contentsOf: file, encoding: .utf8).dropLast() + "\n2 200")
        // HTTP/1.1 header names in one case.
        let head = try shell(["curl", "-s", "-m", "10", "--http1.1", "-D", "-", "-o", "/dev/null", "-d", "{", "\(base)/v1/stacks"])
        XCTAssertEqual(head.out.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ":").first.map(String.init) },
                       ["Date", "Content-Type", "X-Request-Id", "Content-Length"])
    }

    func testHTTP2ConcurrentStreamsOnOneConnection() throws {
        try skipUnless(have("python3", ["-c", "import h2"]), "python3 with the h2 package is not installed (pip install h2)")
        let d = try Daemon(db: db, cwd: dir)
        defer { _ = d.terminate() }
        XCTAssertEqual(try request(d.port, "POST", "/v1/stacks", Self.stack).status, 201)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("h2_concurrent.py").path
        let r = try shell(["python3", script, String(d.port), "POST /v1/stacks/router/packets \(Self.udp)", "GET /healthz",
                         "POST /v1/stacks/router/packets \(Self.udp)", "GET /v1/stacks/nope", "GET /v1/stacks/router/stats"])
        XCTAssertEqual(r.status, 0, r.err)
        let list = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(list.map { $0["stream"] as! Int }, [1, 3, 5, 7, 9])
        XCTAssertEqual(list.map { $0["status"] as! Int }, [200, 200, 200, 404, 200])
        XCTAssertTrue((list[0]["body"] as! String).contains("NO_SOCKET"))
        XCTAssertTrue((list[3]["body"] as! String).contains(#""detail":"no stack named nope""#))
        let bodies = [list[0], list[2]].map { $0["body"] as! String }
        XCTAssertEqual(bodies.map { $0.contains(#""trace_id":1,"#) || $0.contains(#""trace_id":2,"#) }, [true, true])
        XCTAssertNotEqual(bodies[0], bodies[1])
    }

    /// X-Request-Id differs in every answer: it goes out never indexed and stays out of the
    /// client's HPACK table, where it would only evict the entries that are reused.
    func testHTTP2RequestIDsStayOutOfTheHPACKTable() throws {
        try skipUnless(have("python3", ["-c", "import h2"]), "python3 with the h2 package is not installed (pip install h2)")
        let d = try Daemon(db: db, cwd: dir)
        defer { _ = d.terminate() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("h2_hpack.py").path
        let r = try shell(["python3", script, String(d.port)])
        let answer = ":status:i date:i content-type:i x-request-id:n content-length:i\n"
        XCTAssertEqual(r.out, String(repeating: answer, count: 3) + "table: content-type date\n", r.err)
    }

    /// The server shares a header field equal to the one the connection's last request had at
    /// that place, and reuses closed streams: each request must still see its own fields.
    func testHTTP2RequestsOnOneConnectionSeeTheirOwnHeaders() throws {
        try skipUnless(have("python3", ["-c", "import h2"]), "python3 with the h2 package is not installed (pip install h2)")
        let d = try Daemon(db: db, cwd: dir)
        defer { _ = d.terminate() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("h2_headers.py").path
        let r = try shell(["python3", script, String(d.port)])
        XCTAssertEqual(r.out, "probe-a probe-a probe-b generated probe-a\n", r.err)
    }

    func testHTTP2LimitsAnswer431And413OnTheirStreamOnly() throws {
        try skipUnless(have("python3", ["-c", "import h2"]), "python3 with the h2 package is not installed (pip install h2)")
        let d = try Daemon(db: db, cwd: dir, extra: ["--max-header", "2048", "--max-body", "4096", "--max-capture", "50000"])
        defer { _ = d.terminate() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("h2_limits.py").path
        let r = try shell(["python3", script, String(d.port)])
        XCTAssertEqual(r.out, "1:431 3:413 5:200\n")
        // A body over the limit is answered at once, not read to its end.
        let early = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("h2_early413.py").path
        let e = try shell(["python3", early, String(d.port)])
        XCTAssertEqual(e.out, "1:413:ended:reset=0 3:413:ended:reset=0 5:413:ended:reset=0 7:413:ended:reset=0 9:200:ended:reset=None\n")
    }

    func testBadFlagsExitWithUsage() throws {
        let p = Process()
        p.executableURL = Daemon.binary
        p.arguments = ["--listen", "nonsense"]
        p.standardError = Pipe()
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 2)
    }
}

final class FirewallEndToEndTests: XCTestCase {
    /// A user's session over HTTP/2 with curl: paste a ruleset, inject, read the nft trace and the counters.
    func testRulesetOverHTTP2WithCurl() throws {
        try skipUnless(have("curl", ["--version"]), "curl is not installed")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try Daemon(db: dir.appendingPathComponent("fw.db").path, cwd: dir)
        defer { _ = d.terminate() }
        let base = "http://127.0.0.1:\(d.port)"
        func curl(_ args: [String]) throws -> String { try shell(["curl", "-s", "-m", "10", "--http2-prior-knowledge"] + args).out }
        _ = try curl(["-d", #"{"name":"fw","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}]}"#, "\(base)/v1/stacks"])
        let ruleset = "table inet filter {\n  chain input { type filter hook input priority filter; policy drop;\n    tcp dport 22 counter accept\n  }\n}\n"
        let put = try curl(["-X", "PUT", "-H", "content-type: text/plain", "--data-binary", ruleset, "\(base)/v1/stacks/fw/ruleset"])
        XCTAssertTrue(put.contains(#""version":1"#), put)
        let pkts = #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.1"},"tcp":{"dport":22}},{"device":"eth0","ipv4":{"src":"198.18.0.1"},"tcp":{"dport":23}}]}"#
        let r = try curl(["-d", pkts, "\(base)/v1/stacks/fw/packets?sync=true"])
        XCTAssertTrue(r.contains(#""drop_reason":"NETFILTER_DROP""#), r)
        XCTAssertEqual(try curl(["\(base)/v1/traces/2?format=nft"]), "trace id 00000002 inet filter input packet: iif \"eth0\" ether saddr 02:00:00:00:ff:01 ether daddr 02:00:00:00:00:02 ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 0 ip protocol tcp ip length 40 tcp sport 12345 tcp dport 23 tcp flags == syn tcp window 64240 \ntrace id 00000002 inet filter input policy drop \n")
        XCTAssertTrue(try curl(["\(base)/v1/stacks/fw/ruleset"]).contains("tcp dport 22 counter packets 1 bytes 40 accept"))
        let bad = try curl(["-X", "PUT", "-H", "content-type: text/plain", "--data-binary", "table inet filter { chain x { tcp dport ssh-ish accept; }; }", "\(base)/v1/stacks/fw/ruleset"])
        XCTAssertTrue(bad.contains(#""status":400"#) && bad.contains(#""line":1,"column":41"#), bad)
    }
}

final class DescriptorExhaustionTests: XCTestCase {
    /// Out of file descriptors (ulimit -n 32), pending connections must not make the loop spin on
    /// accept: the server stays nearly idle, and answers again once descriptors are free.
    func testAcceptDoesNotSpinOnEMFILE() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-fd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "ulimit -n 32; exec \(Daemon.binary.path) --listen 127.0.0.1:0 --db \(dir.path)/fd.db"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        var log = ""
        while !log.contains("listening on") { log += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self) }
        let port = UInt16(log.components(separatedBy: "127.0.0.1:")[1].prefix { $0.isNumber })!
        var clients: [RawClient] = []
        for _ in 0..<60 { if let c = try? RawClient(port: port) { clients.append(c) } }
        func cpuTicks() throws -> Int {
            let f = try String(contentsOfFile: "/proc/\(p.processIdentifier)/stat", encoding: .utf8).split(separator: ")")[1].split(separator: " ")
            return Int(f[11])! + Int(f[12])!   // utime + stime, in clock ticks (100 a second)
        }
        let t0 = try cpuTicks()
        Thread.sleep(forTimeInterval: 1)
        let used = try cpuTicks() - t0
        XCTAssertLessThan(used, 20, "\(used) ticks of CPU in 1 s with descriptors exhausted")
        clients.removeAll()
        Thread.sleep(forTimeInterval: 0.5)
        let c = try RawClient(port: port)
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(c.readResponses(1).first?.status, 200)
    }
}

final class CrashSafetyTests: XCTestCase {
    /// scripts/crash_test.py, briefly: SIGKILL during sync injections, rule changes and stack
    /// deletions, then integrity_check, every durable trace and acknowledged version there, the live
    /// ruleset the last stored, and the server serving (the script runs 20 rounds by default).
    func testKillNineLosesNothingAcknowledged() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/crash_test.py").standardized
        let r = try shell(["python3", script.path, Daemon.binary.path, "3", "7"])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("crash test: 3 kills, 0 corrupt or unanswering"), r.out)
    }
}

final class SchemathesisTests: XCTestCase {
    /// Every integer field of the document's request bodies, query and path parameters, at 0, -1,
    /// 2^31, 2^32, 2^53, 2^63-1, 2^64, as a float and as a string: never a 5xx, and the server
    /// keeps answering (these used to trap on integer overflow and kill the process).
    func testNumericExtremesOfEveryFieldKeepTheServerServing() throws {
        try skipUnless(have("python3", ["-c", "import yaml"]), "python3 with PyYAML is not installed (pip install pyyaml)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-ne-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try Daemon(db: dir.appendingPathComponent("ne.db").path, cwd: dir)
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let r = try shell(["python3", here.appendingPathComponent("numeric_extremes.py").path, "\(d.port)",
                           here.appendingPathComponent("../../openapi/openapi.yaml").standardized.path])
        let stop = d.terminate()
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.hasPrefix("numeric extremes: 1404 requests"), r.out)
        XCTAssertEqual(stop.status, 0, "the server survived: \(stop.log.suffix(500))")
    }

    /// schemathesis generates requests from openapi/openapi.yaml against the real binary: no 5xx,
    /// every status code documented, every response valid against its schema. Seeded, so it replays.
    func testGeneratedRequestsAgainstTheDocument() throws {
        try skipUnless(have("python3", ["-c", "import schemathesis"]), "schemathesis is not installed (pip install schemathesis)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try Daemon(db: dir.appendingPathComponent("st.db").path, cwd: dir)
        let base = "http://127.0.0.1:\(d.port)"
        _ = try shell(["curl", "-s", "-m", "10", "-d", #"{"name":"s","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"sockets":[{"port":53}]}"#, "\(base)/v1/stacks"])
        let r = try shell(["python3", "-m", "schemathesis.cli", "run", "\(base)/openapi.yaml", "--url", base, "--max-examples", "10",
                           "--seed", "1", "--checks", "response_schema_conformance,status_code_conformance,not_a_server_error"], cwd: dir)
        let stop = d.terminate()
        XCTAssertEqual(r.status, 0, String((r.out + r.err).suffix(3000)))
        XCTAssertEqual(stop.status, 0, "the server survived: \(stop.log.suffix(500))")
    }

}

/// The API token: changes need it, reads too with --protect-reads, /healthz never; a server
/// that would listen beyond loopback refuses to start without one.
final class AuthTests: XCTestCase {
    var dir: URL!
    var db: String { dir.appendingPathComponent("a.db").path }
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func send(_ port: UInt16, _ method: String, _ path: String, token: String? = nil, body: String = "") throws -> (status: Int, headers: [String: String], body: String) {
        let c = try RawClient(port: port)
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        c.send("\(method) \(path) HTTP/1.1\r\nHost: t\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let r = c.readResponses(1)
        return (r.first?.status ?? 0, r.first?.headers ?? [:], r.first?.body ?? "")
    }

    func testChangesNeedTheToken() throws {
        let d = try Daemon(db: db, cwd: dir, extra: ["--token", "s3cret-token"])
        let stack = #"{"name":"a"}"#
        let none = try send(d.port, "POST", "/v1/stacks", body: stack)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.headers["www-authenticate"], "Bearer")
        XCTAssertFalse(none.body.contains("s3cret"))
        XCTAssertEqual(try send(d.port, "POST", "/v1/stacks", token: "s3cret-tokeN", body: stack).status, 403)
        XCTAssertEqual(try send(d.port, "POST", "/v1/stacks", token: "s3cret", body: stack).status, 403)
        XCTAssertEqual(try send(d.port, "POST", "/v1/stacks", token: "s3cret-token", body: stack).status, 201)
        XCTAssertEqual(try send(d.port, "GET", "/v1/stacks/a").status, 200)
        XCTAssertEqual(try send(d.port, "DELETE", "/v1/stacks/a").status, 401)
        let stop = d.terminate()
        XCTAssertFalse(stop.log.contains("s3cret"), "the token is never logged")
    }

    func testProtectedReadsAndOpenHealth() throws {
        let d = try Daemon(db: db, cwd: dir, extra: ["--token", "t0k", "--protect-reads"])
        defer { _ = d.terminate() }
        XCTAssertEqual(try send(d.port, "GET", "/v1/stacks").status, 401)
        XCTAssertEqual(try send(d.port, "GET", "/v1/stacks", token: "t0k").status, 200)
        XCTAssertEqual(try send(d.port, "GET", "/healthz").status, 200)
    }

    func testBeyondLoopbackOnlyWithAToken() throws {
        let p = Process()
        p.executableURL = Daemon.binary
        p.arguments = ["--listen", "0.0.0.0:0", "--db", db]
        let err = Pipe()
        p.standardError = err; p.standardOutput = FileHandle.nullDevice
        p.environment = [:]
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 2)
        XCTAssertTrue(text.contains("listening on 0.0.0.0 needs an API token"), text)
    }
}
