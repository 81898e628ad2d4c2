@testable import API
import Foundation
import JSON
import Kernel
import XCTest

/// A summary row is written straight into bytes (`summaryText`): exact texts for every kind of
/// result (rules and policies, drops with and without a rule, a send's errno, names that need
/// escaping), and the same text again from a stored row's columns.
final class SummaryTextTests: AppTestCase {
    func testSummaryTextsAreExact() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}],"sockets":[{"port":53}]}"#).status, 201)
        let ruleset = "table inet f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 54 counter drop\n\t\tudp dport 56 reject\n\t\tudp dport 53 accept\n\t}\n}\n"
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", ruleset, type: "text/plain").status, 200)
        let e = try XCTUnwrap(app.registry.get("h"))
        let specs = try [53, 54, 55, 56].map { port in
            try PacketSpec.decode(try JSONParser.parse(#"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":\#(port)}}"#),
                                  path: "", stack: e.stack)
        }
        let results = e.withStack { s in s.inject(specs.map { Injection(device: $0.device.index, frame: $0.frame) }) }
        XCTAssertEqual(results.map(\.outcome.rawValue), ["delivered", "dropped", "dropped", "dropped"])
        var failed = results[0]
        failed.errno = "EAGAIN"   // a send's
        let texts = (results + [failed]).enumerated().map { k, r in
            TraceDocument.summaryText(id: Int64(k + 1), stack: k == 4 ? "a\"b\\c\u{1}" : "h", createdAt: "2026-12-08T00:00:00.000Z", r)
        }
        XCTAssertEqual(texts, [
            #"{"trace_id":1,"stack":"h","device":"eth0","trace":"summary","outcome":"delivered","drop_reason":null,"created_at":"2026-12-08T00:00:00.000Z","start_ns":0,"end_ns":1550,"last_stage":"udp_queue_rcv_skb","rules":[{"hook":"input","table":"inet f","chain":"input","handle":4,"verdict":"accept"}]}"#,
            #"{"trace_id":2,"stack":"h","device":"eth0","trace":"summary","outcome":"dropped","drop_reason":"NETFILTER_DROP","created_at":"2026-12-08T00:00:00.000Z","start_ns":0,"end_ns":1840,"last_stage":"kfree_skb_reason","rules":[{"hook":"input","table":"inet f","chain":"input","handle":2,"verdict":"drop"}]}"#,
            #"{"trace_id":3,"stack":"h","device":"eth0","trace":"summary","outcome":"dropped","drop_reason":"NO_SOCKET","created_at":"2026-12-08T00:00:00.000Z","start_ns":0,"end_ns":2740,"last_stage":"kfree_skb_reason","rules":[{"hook":"input","table":"inet f","chain":"input","handle":null,"verdict":"accept"}]}"#,
            // The reject's ICMP error is a packet the stack made: its events are not this row's.
            #"{"trace_id":4,"stack":"h","device":"eth0","trace":"summary","outcome":"dropped","drop_reason":"NETFILTER_DROP","created_at":"2026-12-08T00:00:00.000Z","start_ns":0,"end_ns":3490,"last_stage":"kfree_skb_reason","rules":[{"hook":"input","table":"inet f","chain":"input","handle":3,"verdict":"drop"}]}"#,
            #"{"trace_id":5,"stack":"a\"b\\c\u0001","device":"eth0","trace":"summary","outcome":"delivered","drop_reason":null,"errno":"EAGAIN","created_at":"2026-12-08T00:00:00.000Z","start_ns":0,"end_ns":1550,"last_stage":"udp_queue_rcv_skb","rules":[{"hook":"input","table":"inet f","chain":"input","handle":4,"verdict":"accept"}]}"#,
        ])
        // Each parses as JSON (the escapes included).
        for t in texts { XCTAssertNoThrow(try JSONParser.parse(t), t) }
    }

    /// Summary rows need no text in the store: each reads back (GET /v1/traces/ID) as the answer
    /// that first showed it, rules, policy and drop reason included; one with an errno keeps its text.
    func testSummaryRowsStoredAsColumnsReadAsTheirAnswer() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","trace":"summary","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}],"sockets":[{"port":53}]}"#).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "table inet f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 54 counter drop\n\t\tudp dport 53 accept\n\t}\n}\n", type: "text/plain").status, 200)
        let packets = [53, 54, 55].map { #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":\#($0)}}"# }
        let a = call("POST", "/v1/stacks/h/packets?sync=true", #"{"packets":["# + packets.joined(separator: ",") + "]}")
        guard case .array(let items) = a.json?["results"] ?? .null else { return XCTFail(a.raw) }
        XCTAssertEqual(items.count, 3)
        for item in items {
            guard case .int(let id) = item["trace_id"] ?? .null else { return XCTFail(item.rendered()) }
            XCTAssertEqual(try store.trace(id: Int64(id))?.body, "")
            XCTAssertEqual(call("GET", "/v1/traces/\(id)").raw.trimmingCharacters(in: .newlines), item.rendered())
        }
    }
}
