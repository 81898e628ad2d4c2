@testable import API
import Foundation
import HTTPServer
import JSON
import Store
import XCTest

/// A small injection is answered on the loop thread (`respondInline`) when nothing in it could
/// wait; otherwise the attempt declines (nil) and a worker runs it as any other request.
final class InlineInjectionTests: AppTestCase {
    let one = #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}]}"#

    private func attempt(_ target: String, _ body: String, type: String = "application/json", on app: App? = nil) -> HTTPResponse? {
        (app ?? self.app).respondInline(to: HTTPRequest(method: "POST", target: target, headers: [HTTPHeader("content-type", type)], body: Array(body.utf8)))
    }

    private func first(_ v: JSONValue?) -> JSONValue? { if case .array(let a)? = v { return a.first }; return nil }

    private func makeStack(_ name: String, on app: App? = nil) {
        let doc = #"{"name":"\#(name)","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#
        let r = (app ?? self.app).respond(to: HTTPRequest(method: "POST", target: "/v1/stacks", headers: [], body: Array(doc.utf8)))
        XCTAssertEqual(r.status, 201)
    }

    func testASmallInjectionIsAnsweredInlineAsAWorkerWould() throws {
        makeStack("a")
        let r = try XCTUnwrap(attempt("/v1/stacks/a/packets?trace=summary", one))
        XCTAssertEqual(r.status, 200)
        XCTAssertNotNil(r.requestID)
        let doc = try JSONParser.parse(r.body)
        XCTAssertEqual(first(doc["results"])?["drop_reason"], .string("NO_SOCKET"))
        XCTAssertEqual(doc["outcomes"]?.rendered(), #"{"dropped":1}"#)
        // A worker's answer to the same request, on the same stack: the next packet, the next trace.
        let w = call("POST", "/v1/stacks/a/packets?trace=summary", one)
        XCTAssertEqual(first(w.json?["results"])?["trace_id"], .int(2))
        XCTAssertEqual(first(doc["results"])?["trace_id"], .int(1))
        guard case .array(let items)? = call("GET", "/v1/traces?stack=a").json?["items"] else { return XCTFail("no items") }
        XCTAssertEqual(items.count, 2)
        // A request that fails inline answers its problem there too.
        XCTAssertEqual(attempt("/v1/stacks/a/packets", #"{"packets":[]}"#)?.status, 422)
    }

    func testWhatCouldWaitGoesToAWorker() throws {
        makeStack("a")
        makeStack("b")
        // A wait for the disk, spelled plainly or escaped.
        XCTAssertNil(attempt("/v1/stacks/a/packets?sync=true", one))
        XCTAssertNil(attempt("/v1/stacks/a/packets?sy%6Ec=true", one))
        // A big body; an unknown stack (the worker answers its 404).
        let many = #"{"packets":["# + Array(repeating: #"{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}"#, count: 20).joined(separator: ",") + "]}"
        XCTAssertNil(attempt("/v1/stacks/a/packets", many))
        XCTAssertEqual(call("POST", "/v1/stacks/a/packets", many).status, 200)
        XCTAssertNil(attempt("/v1/stacks/nope/packets", one))
        // The stack's lock held by another (a worker's injection).
        let e = try XCTUnwrap(app.registry.get("a"))
        e.lock.lock()
        XCTAssertNil(attempt("/v1/stacks/a/packets", one))
        e.lock.unlock()
        XCTAssertEqual(attempt("/v1/stacks/a/packets", one)?.status, 200)
        // A linked stack: frames crossing take the far stack's lock.
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"a","dev":"eth0"},"b":{"stack":"b","dev":"eth0"}}"#).status, 201)
        XCTAssertNil(attempt("/v1/stacks/a/packets", one))
        XCTAssertNil(attempt("/v1/stacks/b/packets", one))
        // Routes without an inline attempt stay on workers.
        XCTAssertNil(app.respondInline(to: HTTPRequest(method: "GET", target: "/v1/stacks", headers: [], body: [])))
    }

    func testAFullTraceQueueGoesToAWorker() throws {
        // A queue of no rows is always full: an inline injection would wait for the writer.
        let full = try Store(path: dir.appendingPathComponent("full.db").path, traceQueue: 0)
        defer { full.close() }
        let other = try App(store: full)
        makeStack("a", on: other)
        XCTAssertNil(attempt("/v1/stacks/a/packets?trace=none", one, on: other))
        // Dropping rows instead of waiting: nothing waits.
        let dropping = try Store(path: dir.appendingPathComponent("drop.db").path, traceQueue: 0, overflow: .drop)
        defer { dropping.close() }
        let third = try App(store: dropping)
        makeStack("a", on: third)
        XCTAssertEqual(attempt("/v1/stacks/a/packets?trace=none", one, on: third)?.status, 200)
    }
}
