import API
import Foundation
import HTTPServer
import JSON
import Store
import XCTest

/// Inputs that used to kill the process (integer overflow traps), hang a worker, or store rows
/// an answer said were lost: each now gets a 4xx naming the field, and the server keeps serving.
final class HardeningTests: AppTestCase {
    static let host = #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#

    func problem(_ r: Reply, _ status: Int, _ pointer: String?, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.raw, file: file, line: line)
        if let pointer { XCTAssertEqual(r.json?["pointer"], .string(pointer), r.raw, file: file, line: line) }
    }

    func testTimesPastTheClockLimitAreRefused() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201)
        // Three advances of 2^62-1 used to overflow the clock on the third.
        XCTAssertEqual(call("POST", "/v1/stacks/h/clock", #"{"advance_ns":4611686018427387903}"#).json?["clock_ns"], .int(4611686018427387903))
        problem(call("POST", "/v1/stacks/h/clock", #"{"advance_ns":4611686018427387903}"#), 422, "/advance_ns")
        problem(call("POST", "/v1/stacks/h/clock", #"{"advance_ns":9223372036854775807}"#), 400, "/advance_ns")
        problem(call("POST", "/v1/stacks/h/clock", #"{"to_ns":9223372036854775807}"#), 400, "/to_ns")
        let udp = #""device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}"#
        problem(call("POST", "/v1/stacks/h/packets", #"{"packets":[{\#(udp),"at_ns":9223372036854775807}]}"#), 400, "/packets/0/at_ns")
        problem(call("POST", "/v1/stacks/h/packets", #"{"start_ns":9223372036854775000,"rate_pps":1,"packets":[{\#(udp)}]}"#), 400, "/start_ns")
        // A rate schedule in the stack's past is refused, not silently collapsed onto "now".
        problem(call("POST", "/v1/stacks/h/packets", #"{"start_ns":0,"rate_pps":1000,"packets":[{\#(udp)},{\#(udp)}]}"#), 422, "/start_ns")
        XCTAssertEqual(call("GET", "/v1/stacks/h").status, 200)
    }

    func testCostsAreBoundedAndNothingBadIsStored() throws {
        problem(call("POST", "/v1/stacks", #"{"name":"c","costs":{"hardirq":9223372036854775807}}"#), 422, "/costs/hardirq")
        problem(call("POST", "/v1/stacks", #"{"name":"c","costs":{"ip_rcv":-1}}"#), 422, "/costs/ip_rcv")
        // The NIC's DMA costs no CPU time: a cost for it would be ignored, so it is refused.
        problem(call("POST", "/v1/stacks", #"{"name":"c","costs":{"nic_receive":100}}"#), 422, "/costs/nic_receive")
        XCTAssertEqual(try store.stacks().count, 0)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"c","costs":{"hardirq":1000000000}}"#).status, 201)
    }

    func testPayloadsThatDoNotFitADatagramAreRefused() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201)
        func inject(_ l4: String, _ n: Int) -> Reply {
            let hex = String(repeating: "ab", count: n)
            return call("POST", "/v1/stacks/h/packets", #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},\#(l4)"payload_hex":"\#(hex)"}]}"#)
        }
        // 20 + 8 + 65507 = 65535 is the largest UDP datagram; one byte more cannot be built.
        XCTAssertEqual(inject(#""udp":{"dport":9},"#, 65507).status, 200)
        problem(inject(#""udp":{"dport":9},"#, 65508), 422, "/packets/0/payload_hex")
        problem(inject(#""udp":{"dport":9},"#, 65528), 422, "/packets/0/payload_hex")
        problem(inject(#""tcp":{"dport":9},"#, 70000), 422, "/packets/0/payload_hex")
        problem(inject(#""icmp":{"type":8},"#, 70000), 422, "/packets/0/payload_hex")
        problem(inject("", 70000), 422, "/packets/0/payload_hex")
        XCTAssertEqual(call("GET", "/v1/stacks/h").status, 200)
    }

    func testAChainLoopIsRefusedAtLoad() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201)
        let r = call("PUT", "/v1/stacks/h/ruleset", "table ip t {\n  chain input { type filter hook input priority 0; goto loop\n  }\n  chain loop { goto loop\n  }\n}\n", type: "text/plain")
        XCTAssertEqual(r.status, 400, r.raw)
        XCTAssertEqual(r.json?["type"], .string("urn:packetstack:problem:ruleset-refused"))
        XCTAssertEqual(r.json?["line"], .int(4))
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions").json?["items"], .array([]))
        // The stack still takes packets.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}]}"#).status, 200)
    }

    func testEmptyRulesetBodyIsNotAFlush() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "table ip t {\n}\n", type: "text/plain").status, 200)
        let r = call("PUT", "/v1/stacks/h/ruleset", " \n", type: "text/plain")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.json?["type"], .string("urn:packetstack:problem:empty-ruleset"))
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, "table ip t {\n}\n")
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "flush ruleset\n", type: "text/plain").status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, "")
    }

    func testRoutesWithHostBitsAreRefusedAsIpRouteDoes() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201)
        let r = call("POST", "/v1/stacks/h/routes", #"{"dst":"10.0.0.1/8","via":"198.18.0.254","dev":"eth0"}"#)
        problem(r, 422, "/dst")
        XCTAssertTrue(r.raw.contains("Invalid prefix for given prefix length"), r.raw)
        problem(call("POST", "/v1/stacks", #"{"name":"x","routes":[{"dst":"10.0.0.1/8","dev":"eth0"}]}"#), 422, "/routes/0/dst")
    }

    /// An injection whose stack was deleted while it ran stores nothing and says so; it never
    /// answers durable.
    func testAnInjectionIntoADeletedStackIsNotDurable() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"other","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#).status, 201)
        let body = #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}]}"#
        let group = DispatchGroup()
        let tally = Tally()
        let app = self.app!
        @Sendable func post(_ target: String) -> (Int, JSONValue?) {
            let r = app.respond(to: HTTPRequest(method: "POST", target: target, headers: [], body: Array(body.utf8)))
            return (r.status, try? JSONParser.parse(r.body))
        }
        for round in 0..<20 {
            if round > 0 { XCTAssertEqual(call("POST", "/v1/stacks", Self.host).status, 201) }
            DispatchQueue.global().async(group: group) {
                for _ in 0..<5 {
                    let (status, json) = post("/v1/stacks/h/packets?sync=true")
                    tally.add("\(status) \(json?["durable"].map { $0.rendered() } ?? "-")")
                }
            }
            DispatchQueue.global().async(group: group) {
                for _ in 0..<5 where post("/v1/stacks/other/packets?sync=true").1?["durable"] == .bool(true) { tally.add("other durable") }
            }
            XCTAssertEqual(call("DELETE", "/v1/stacks/h").status, 204)
            group.wait()
        }
        let stored = tally.counts["other durable"] ?? 0
        let durable = tally.counts.filter { $0.key != "other durable" }
        // Every durable answer for the other stack is a stored row.
        XCTAssertEqual(try store.traces(TraceFilter(stack: "other", limit: 1000)).count, stored)
        XCTAssertEqual(stored, 100)
        // The deleted stack's injections either committed before the delete (then went with it) or got 404/409.
        XCTAssertEqual(try store.traces(TraceFilter(stack: "h", limit: 1000)).count, 0)
        XCTAssertEqual(Set(durable.keys).subtracting(["200 true", "404 -", "409 -"]), [], "\(durable)")
    }

    func testReadingOnACPUTheStackLacksIsRefused() {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","cpus":2,"sockets":[{"port":53}]}"#).status, 201)
        problem(call("POST", "/v1/stacks/h/sockets/1/recv", #"{"cpu":2}"#), 422, "/cpu")
        XCTAssertEqual(call("POST", "/v1/stacks/h/sockets/1/recv", #"{"cpu":1}"#).status, 200)
    }
}

final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var counts: [String: Int] = [:]
    func add(_ k: String) { lock.lock(); counts[k, default: 0] += 1; lock.unlock() }
}

/// Limits, each a flag: past one, a clear 4xx and nothing stored changes.
final class LimitTests: AppTestCase {
    func testStacksDevicesRulesElementsAndInjections() throws {
        var limits = App.Limits()
        limits.maxStacks = 2; limits.maxDevices = 1; limits.maxRules = 2; limits.maxSetElements = 3; limits.maxConcurrentInjections = 0
        app = try App(store: store, limits: limits)
        let dev = #"{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"a","devices":[\#(dev)]}"#).status, 201)
        let twoDevices = call("POST", "/v1/stacks", #"{"name":"b","devices":[\#(dev),\#(dev.replacingOccurrences(of: "eth0", with: "eth1"))]}"#)
        XCTAssertEqual(twoDevices.status, 422)
        XCTAssertEqual(twoDevices.json?["pointer"], .string("/devices"))
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"b"}"#).status, 201)
        let third = call("POST", "/v1/stacks", #"{"name":"c"}"#)
        XCTAssertEqual(third.status, 429)
        XCTAssertEqual(third.json?["type"], .string("urn:packetstack:problem:too-many-stacks"))
        // Three rules, or four set elements, are one too many; what is stored stays as it was.
        XCTAssertEqual(call("PUT", "/v1/stacks/a/ruleset", "table ip t {\n\tchain c {\n\t\taccept\n\t\taccept\n\t}\n}\n", type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/a/ruleset/commands", "add rule ip t c accept", type: "text/plain").status, 422)
        let elements = call("PUT", "/v1/stacks/a/ruleset", "table ip t {\n\tset s {\n\t\ttype inet_service\n\t\telements = { 1, 2 }\n\t}\n\n\tchain c {\n\t\ttcp dport { 3, 4 } accept\n\t}\n}\n", type: "text/plain")
        XCTAssertEqual(elements.status, 422, elements.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/a/ruleset/versions").json?["items"]?.rendered().components(separatedBy: "\"version\"").count, 2)
        let busy = call("POST", "/v1/stacks/a/packets", #"{"packets":[{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}]}"#)
        XCTAssertEqual(busy.status, 429)
        XCTAssertEqual(busy.headers.first { $0.name == "retry-after" }?.value, "1")
    }

    func testTraceQuotaRefusesWholeInjectionsUntilTracesAreDeleted() throws {
        var limits = App.Limits()
        limits.maxTracesPerStack = 3
        app = try App(store: store, limits: limits)
        XCTAssertEqual(call("POST", "/v1/stacks", HardeningTests.host).status, 201)
        let udp = #"{"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"dport":9}}"#
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", #"{"packets":[\#(udp),\#(udp)]}"#).status, 200)
        let over = call("POST", "/v1/stacks/h/packets", #"{"packets":[\#(udp),\#(udp)]}"#)
        XCTAssertEqual(over.status, 422)
        XCTAssertEqual(over.json?["type"], .string("urn:packetstack:problem:trace-quota"))
        XCTAssertEqual(over.json?["detail"], .string("stack h holds 2 traces and this request adds up to 2; at most 3 per stack (--max-traces): DELETE /v1/stacks/h/traces first"))
        // Refused whole: the stack did not run the packets.
        XCTAssertEqual(call("GET", "/v1/stacks/h/stats").json?["devices"]?["eth0"]?["rx_packets"], .int(2))
        // A mode that keeps fewer traces asks for fewer: none keeps nothing, sample:2 one of two.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?trace=none", #"{"packets":[\#(udp),\#(udp)]}"#).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?trace=sample:2", #"{"packets":[\#(udp),\#(udp)]}"#).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?trace=sample:2", #"{"packets":[\#(udp)]}"#).status, 422)
        XCTAssertEqual(call("GET", "/v1/stacks/h/stats").json?["devices"]?["eth0"]?["rx_packets"], .int(6))
        // The count survives a restart (taken from the store).
        try reopen()
        app = try App(store: store, limits: limits)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", #"{"packets":[\#(udp),\#(udp)]}"#).status, 422)
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/traces").raw, #"{"deleted":3}"# + "\n")
        XCTAssertEqual(call("GET", "/v1/traces?stack=h").json?["items"], .array([]))
        let again = call("POST", "/v1/stacks/h/packets?sync=true", #"{"packets":[\#(udp),\#(udp),\#(udp)]}"#)
        XCTAssertEqual(again.status, 200)
        // Ids go on from where they were: none named before is handed out again.
        guard case .array(let results) = again.json?["results"] else { return XCTFail(again.raw) }
        XCTAssertEqual(results.map { $0["trace_id"] }, [.int(4), .int(5), .int(6)])
        XCTAssertEqual(call("DELETE", "/v1/stacks/nope/traces").status, 404)
    }
}
