import API
import Foundation
import HTTPServer
import JSON
import XCTest

/// Trace modes: the stack's default (`"trace"`) and `?trace=` per injection decide which packets
/// keep a trace and how much of it; every packet is counted in the answer either way.
final class TraceModeTests: AppTestCase {
    static let three = #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":53}},"# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":54}},"# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":55}}]}"#

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","trace":"summary","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}]}"#).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "table ip f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 53 meta nftrace set 1\n\t\tudp dport 54 drop\n\t}\n}\n", type: "text/plain").status, 200)
    }

    func kept(_ r: Reply) -> [String] {
        guard case .array(let items) = r.json?["results"] ?? .null else { return [] }
        return items.map { i in "\(i["trace_id"]?.rendered() ?? "-") \(i["trace"]?.rendered() ?? "full") \(i["outcome"]?.rendered() ?? "")" }
    }

    func item(_ r: Reply, _ k: Int) -> JSONValue? {
        guard case .array(let items) = r.json?["results"] ?? .null, k < items.count else { return nil }
        return items[k]
    }

    func testModes() throws {
        XCTAssertEqual(call("GET", "/v1/stacks/h").json?["trace"], .string("summary"))
        // The stack's default: one summary row per packet.
        let s = call("POST", "/v1/stacks/h/packets", Self.three)
        XCTAssertEqual(kept(s), [#"1 "summary" "dropped""#, #"2 "summary" "dropped""#, #"3 "summary" "dropped""#])
        XCTAssertEqual(item(s, 1)?.rendered().contains(#""last_stage":"kfree_skb_reason","rules":[{"hook":"input","table":"ip f","chain":"input","handle":3,"verdict":"drop"}]"#), true, s.raw)
        XCTAssertEqual(s.json?["outcomes"], .object([("dropped", .int(3))]))
        // Per injection: drops, every 2nd, nftrace-marked, none.
        XCTAssertEqual(kept(call("POST", "/v1/stacks/h/packets?trace=drops", Self.three)).count, 3)
        XCTAssertEqual(kept(call("POST", "/v1/stacks/h/packets?trace=sample:2", Self.three)), [#"7 full "dropped""#, #"8 full "dropped""#])
        let marked = call("POST", "/v1/stacks/h/packets?trace=nftrace", Self.three)
        XCTAssertEqual(kept(marked), [#"9 full "dropped""#])
        XCTAssertEqual(item(marked, 0)?["netfilter"].flatMap { if case .array(let a) = $0 { a.first?["rule"] } else { nil } }, .string("udp dport 53 meta nftrace set 1"))
        let none = call("POST", "/v1/stacks/h/packets?trace=none", Self.three)
        XCTAssertEqual(kept(none), [])
        XCTAssertEqual(none.json?["packets"], .int(3))
        XCTAssertEqual(none.json?["trace"], .string("none"))
        // 9 traces kept; the stack counted all 15 packets.
        XCTAssertEqual(call("GET", "/v1/traces?stack=h&limit=1000").json?["items"]?.rendered().components(separatedBy: "trace_id").count, 10)
        let metrics = call("GET", "/metrics").raw
        XCTAssertTrue(metrics.contains(#"packetstack_packet_outcomes_total{stack="h",outcome="dropped",drop_reason="NETFILTER_DROP"} 5"#), metrics)
        XCTAssertTrue(metrics.contains(#"packetstack_packet_outcomes_total{stack="h",outcome="dropped",drop_reason="NO_SOCKET"} 10"#), metrics)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?trace=sample:0", Self.three).status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?trace=most", Self.three).status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"x","trace":"everything"}"#).status, 422)
    }

    /// `?results=` trims the answer, never what is stored: the dropped packets' traces only, or
    /// none, with the ids the kept traces were given.
    func testResultsTrimTheAnswerNotTheStore() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"r","trace":"summary","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}],"sockets":[{"port":53}]}"#).status, 201)
        let d = call("POST", "/v1/stacks/r/packets?results=dropped", Self.three)
        XCTAssertEqual(kept(d), [#"2 "summary" "dropped""#, #"3 "summary" "dropped""#])
        XCTAssertEqual(d.json?["trace_ids"], .object([("first", .int(1)), ("last", .int(3))]))
        XCTAssertEqual(d.json?["outcomes"], .object([("delivered", .int(1)), ("dropped", .int(2))]))
        let n = call("POST", "/v1/stacks/r/packets?results=none&sync=true", Self.three)
        XCTAssertEqual(n.raw, #"{"results":[],"trace":"summary","packets":3,"outcomes":{"delivered":1,"dropped":2},"durable":true,"trace_ids":{"first":4,"last":6}}"# + "\n")
        XCTAssertEqual(call("GET", "/v1/traces?stack=r&limit=10").json?["items"]?.rendered().components(separatedBy: "trace_id").count, 7)
        // The default carries every kept trace, and no ids beside them.
        let all = call("POST", "/v1/stacks/r/packets?trace=drops", Self.three)
        XCTAssertEqual(kept(all), [#"7 full "dropped""#, #"8 full "dropped""#])
        XCTAssertNil(all.json?["trace_ids"])
        XCTAssertEqual(call("POST", "/v1/stacks/r/packets?results=some", Self.three).status, 400)
        let pcap = call("POST", "/v1/stacks/r/packets?device=eth0&progress=10&results=none", "", type: "application/vnd.tcpdump.pcap")
        XCTAssertEqual(pcap.status, 400)
        XCTAssertEqual(pcap.json?["detail"], .string("results is for answers in one piece (progress lines carry counts only)"))
    }

    /// Where packets die: stored traces counted by drop reason, outcome, device or stack under the
    /// list's filters; the list newest first with a cursor that keeps going down.
    func testAggregateAndNewestFirst() throws {
        _ = call("POST", "/v1/stacks/h/packets?trace=full", Self.three)
        _ = call("POST", "/v1/stacks/h/packets?trace=full", Self.three)
        let byReason = call("GET", "/v1/traces/aggregate?by=drop_reason&stack=h")
        XCTAssertEqual(byReason.raw, #"{"by":"drop_reason","total":6,"groups":[{"value":"NO_SOCKET","count":4},{"value":"NETFILTER_DROP","count":2}]}"# + "\n")
        XCTAssertEqual(call("GET", "/v1/traces/aggregate?by=outcome").raw, #"{"by":"outcome","total":6,"groups":[{"value":"dropped","count":6}]}"# + "\n")
        XCTAssertEqual(call("GET", "/v1/traces/aggregate?by=device&drop_reason=NETFILTER_DROP").json?["total"], .int(2))
        XCTAssertEqual(call("GET", "/v1/traces/aggregate?by=port").status, 400)
        XCTAssertEqual(call("GET", "/v1/traces/aggregate?stack=nope").status, 404)
        XCTAssertEqual(call("GET", "/v1/traces?stack=nope").status, 404)
        let newest = call("GET", "/v1/traces?order=newest&limit=4")
        XCTAssertEqual(newest.json?["items"]?.rendered().components(separatedBy: #""trace_id":"#).dropFirst().map { $0.prefix(while: \.isNumber) }, ["6", "5", "4", "3"])
        guard case .string(let cursor) = newest.json?["next_cursor"] ?? .null else { return XCTFail(newest.raw) }
        let rest = call("GET", "/v1/traces?order=newest&limit=4&cursor=\(cursor)")
        XCTAssertEqual(rest.json?["items"]?.rendered().components(separatedBy: #""trace_id":"#).dropFirst().map { $0.prefix(while: \.isNumber) }, ["2", "1"])
        XCTAssertEqual(rest.json?["next_cursor"], .null)
    }
}
