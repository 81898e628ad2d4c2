import API
import Foundation
import JSON
import Store
import XCTest

/// A restart in the middle of a run changes nothing the stack does after it: what a packet
/// sequence answers after the checkpoint is the same whether the service went on or was restarted
/// from that checkpoint (the counters, neighbours and their timers, IP ID counters, the random
/// state and the ICMP rate limiter all come back), and a fork goes on as its source does.
final class RuntimeCheckpointTests: AppTestCase {
    static let stack = #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"sockets":[{"port":53}]}"#

    static func udp(_ src: String, at: Int) -> String {
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:07"},"ipv4":{"src":"\#(src)"},"udp":{"sport":9,"dport":99},"at_ns":\#(at)}"#
    }
    /// Eight datagrams to a closed port from .7 (port unreachables waiting for its MAC, the last two
    /// over the rate limit's burst), .7's ARP reply, one from .9, whose MAC never comes, and one to
    /// the socket on port 53, left unread.
    static let first = #"{"packets":["# + (0..<8).map { udp("198.18.0.7", at: 1_000_000 + $0 * 1000) }.joined(separator: ",") +
        #",{"device":"eth0","eth":{"src":"02:00:00:00:00:07"},"arp":{"op":"reply","sender_ip":"198.18.0.7","target_mac":"02:00:00:00:00:02"},"at_ns":2000000}"# +
        "," + udp("198.18.0.9", at: 3_000_000) +
        #",{"device":"eth0","eth":{"src":"02:00:00:00:00:07"},"ipv4":{"src":"198.18.0.7"},"udp":{"sport":7,"dport":53},"payload_hex":"6869","at_ns":4000000}"# + "]}"
    /// Later: another datagram from .7 (the limiter has a token again), an echo request, one more datagram.
    static let second = #"{"packets":["# + udp("198.18.0.7", at: 300_000_000) +
        #",{"device":"eth0","eth":{"src":"02:00:00:00:00:07"},"ipv4":{"src":"198.18.0.7"},"icmp":{"id":7,"seq":1},"at_ns":300100000}"# +
        "," + udp("198.18.0.7", at: 300_200_000) + "]}"

    /// What a run answers, without its trace ids: each packet's outcome, drop reason and frames out.
    func answer(_ r: Reply) -> [JSONValue] {
        guard case .array(let results) = r.json?["results"] ?? .null else { XCTFail(r.raw); return [] }
        return results.map { .array([$0["outcome"] ?? .null, $0["drop_reason"] ?? .null, $0["emitted"] ?? .null]) }
    }

    /// Everything after the checkpoint: the second batch, then 4 s of timers (.9's ARP retries and failure).
    func afterCheckpoint(_ stack: String = "h") -> (packets: [JSONValue], clock: JSONValue?, stats: String, neighbours: String, read: String) {
        let read = call("POST", "/v1/stacks/\(stack)/sockets/1/recv", #"{"cpu":0}"#).raw
        let p = answer(call("POST", "/v1/stacks/\(stack)/packets", Self.second))
        let c = call("POST", "/v1/stacks/\(stack)/clock", #"{"advance_ns":4000000000}"#)
        XCTAssertEqual(c.status, 200, c.raw)
        let stats = call("GET", "/v1/stacks/\(stack)/stats").raw.replacingOccurrences(of: #""stack":"\#(stack)""#, with: #""stack":"h""#)
        return (p, c.json?["emitted"], stats, call("GET", "/v1/stacks/\(stack)/neighbours").raw, read)
    }

    func testARunAfterARestartAnswersAsTheLiveStackDid() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let r = call("POST", "/v1/stacks/h/packets", Self.first)
        XCTAssertEqual(r.status, 200, r.raw)
        let neighbours = call("GET", "/v1/stacks/h/neighbours").raw
        XCTAssertTrue(neighbours.contains(#""address":"198.18.0.9","dev":"eth0","mac":null,"state":"INCOMPLETE","queued":1"#), neighbours)
        XCTAssertEqual(app.checkpoint(), ["h"])
        // A fork made now is the same snapshot: it goes on as the live stack does.
        XCTAssertEqual(call("POST", "/v1/stacks/h/fork", #"{"name":"f"}"#).status, 201)
        let live = afterCheckpoint()
        let fork = afterCheckpoint("f")
        XCTAssertEqual(fork.packets, live.packets)
        XCTAssertEqual(fork.clock, live.clock)
        XCTAssertEqual(fork.stats, live.stats)
        XCTAssertEqual(fork.neighbours, live.neighbours)
        XCTAssertEqual(fork.read, live.read)
        XCTAssertEqual(live.read, #"{"datagrams":[{"src":"198.18.0.7","sport":7,"dst":"198.18.0.2","payload_hex":"6869","time_ns":4001170}]}"# + "\n")

        // What the live stack answered: both datagrams over the limiter (its 6 tokens went at 1 ms
        // and it earns one a second), the echo reply with an ID from ip_idents, .9's last two ARP requests.
        let reply = "02000000000702000000000208004500001c31ac00004001bd07c6120002c61200070000fff700070001"
        XCTAssertEqual(live.packets, [.array([.string("dropped"), .string("NO_SOCKET"), .array([])]),
                                      .array([.string("consumed"), .null, .array([.object([("device", .string("eth0")), ("time_ns", .int(300_101_480)), ("hex", .string(reply))])])]),
                                      .array([.string("dropped"), .string("NO_SOCKET"), .array([])])])
        let arp = JSONValue.string("ffffffffffff02000000000208060001080006040001020000000002c6120002000000000000c6120009")
        XCTAssertEqual(live.clock, .array([.object([("device", .string("eth0")), ("time_ns", .int(1_024_000_120)), ("hex", arp)]),
                                           .object([("device", .string("eth0")), ("time_ns", .int(2_048_000_120)), ("hex", arp)])]))
        XCTAssertTrue(live.stats.contains(#""OutRateLimitGlobal":0,"OutRateLimitHost":4,"OutDestUnreachs":7,"#), live.stats)
        XCTAssertTrue(live.stats.contains(#""IcmpMsg":{"InType8":1,"OutType0":1,"OutType3":7}"#), live.stats)
        XCTAssertEqual(live.neighbours, #"{"items":[{"address":"198.18.0.7","dev":"eth0","mac":"02:00:00:00:00:07","state":"REACHABLE","queued":0},{"address":"198.18.0.9","dev":"eth0","mac":null,"state":"FAILED","queued":0}]}"# + "\n")
        try reopen()   // from the checkpoint: the second batch and the timers never happened
        XCTAssertEqual(call("GET", "/v1/stacks/h/neighbours").raw, neighbours)   // .9's entry with the port unreachable waiting on it
        let restored = afterCheckpoint()
        XCTAssertEqual(restored.packets, live.packets)
        XCTAssertEqual(restored.clock, live.clock)
        XCTAssertEqual(restored.neighbours, live.neighbours)
        XCTAssertEqual(restored.stats, live.stats)
        XCTAssertEqual(restored.read, live.read)
    }

    /// A stored runtime state that does not read (a later format, a damaged row) is reported and
    /// left out: the stack still loads with its clock, ruleset and conntrack, its counters from zero.
    func testARuntimeStateThatDoesNotReadLeavesTheRestRestored() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.first).status, 200)
        XCTAssertEqual(app.checkpoint(), ["h"])
        let id = try XCTUnwrap(try store.stacks().first { $0.name == "h" }?.id)
        var st = try XCTUnwrap(try store.state(stackID: id))
        XCTAssertTrue(st.runtime.hasPrefix("{"), st.runtime)
        st.runtime = #"{"cpuClocks":"damaged"}"#
        try store.saveState(stackID: id, st)
        try reopen()
        let stats = call("GET", "/v1/stacks/h/stats")
        XCTAssertEqual(stats.json?["clock_ns"], .int(4_000_500))   // the checkpoint's
        XCTAssertEqual(stats.json?["devices"]?["eth0"]?["rx_packets"], .int(0))
        XCTAssertEqual(call("GET", "/v1/stacks/h/neighbours").raw, #"{"items":[]}"# + "\n")
    }

    /// Rule state nft does not list comes back too: a limit's bucket, numgen's counter and the
    /// chain policy's counters (iptables-save's `[packets:bytes]`).
    func testLimitsNumgenAndPolicyCountersGoOnAfterARestart() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack.replacingOccurrences(of: #"{"port":53}"#, with: #"{"port":53},{"port":54}"#)).status, 201)
        let rules = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority 0; policy drop;\n"
            + "\t\tudp dport 53 limit rate 1/second burst 2 packets accept\n\t\tudp dport 54 numgen inc mod 2 vmap { 0 : accept, 1 : drop }\n\t}\n}\n"
        let put = call("PUT", "/v1/stacks/h/ruleset", rules, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        func udp(_ port: Int, at: Int) -> String {
            #"{"device":"eth0","eth":{"src":"02:00:00:00:00:07"},"ipv4":{"src":"198.18.0.7"},"udp":{"sport":9,"dport":\#(port)},"at_ns":\#(at)}"#
        }
        let first = "{\"packets\":[" + [udp(53, at: 1_000_000), udp(53, at: 1_001_000), udp(53, at: 1_002_000), udp(54, at: 1_003_000)].joined(separator: ",") + "]}"
        let second = "{\"packets\":[" + [udp(53, at: 300_000_000), udp(53, at: 1_500_000_000), udp(54, at: 1_600_000_000), udp(54, at: 1_700_000_000)].joined(separator: ",") + "]}"
        func run() -> ([JSONValue], String) {
            let r = call("POST", "/v1/stacks/h/packets", second)
            guard case .array(let results) = r.json?["results"] ?? .null else { XCTFail(r.raw); return ([], "") }
            return (results.map { $0["outcome"] ?? .null }, call("GET", "/v1/stacks/h/ruleset?format=iptables-save").raw)
        }
        let r1 = call("POST", "/v1/stacks/h/packets", first)
        guard case .array(let results) = r1.json?["results"] ?? .null else { return XCTFail(r1.raw) }
        XCTAssertEqual(results.map { $0["outcome"] }, [.string("delivered"), .string("delivered"), .string("dropped"), .string("delivered")])
        XCTAssertEqual(app.checkpoint(), ["h"])
        let live = run()
        // 0.3 s on the bucket has no token; 1.5 s on it has one; numgen goes on at 1, then 0.
        XCTAssertEqual(live.0, [.string("dropped"), .string("delivered"), .string("dropped"), .string("delivered")])
        XCTAssertTrue(live.1.contains(":INPUT DROP [2:56]"), live.1)
        try reopen()
        let restored = run()
        XCTAssertEqual(restored.0, live.0)
        XCTAssertEqual(restored.1, live.1)
    }
}

/// The state of set elements rules added survives a restart with them: their counters and
/// quotas (listed in the ruleset's text) and their limit buckets (runtime state), so a meter
/// goes on rating a source as it did.
final class ElementStateCheckpointTests: AppTestCase {
    static let ruleset = """
        table ip f {
        \tset rated {
        \t\ttype ipv4_addr
        \t\tflags dynamic
        \t}

        \tchain input {
        \t\ttype filter hook input priority 0; policy accept;
        \t\tudp dport 53 update @rated { ip saddr counter limit rate over 1/second burst 2 packets } counter drop
        \t}
        }

        """
    static func packets(_ times: [Int]) -> String {
        #"{"packets":["# + times.map { #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.7"},"udp":{"sport":9,"dport":53},"at_ns":\#($0)}"# }.joined(separator: ",") + "]}"
    }

    func outcomes(_ r: Reply) -> JSONValue? { r.json?["outcomes"] }

    func testAMeterGoesOnRatingAfterARestart() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", RuntimeCheckpointTests.stack).status, 201)
        let put = call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        // Three at once: the burst of two reaches the socket on port 53, the third is over the rate.
        let first = call("POST", "/v1/stacks/h/packets", Self.packets([1_000_000, 1_001_000, 1_002_000]))
        XCTAssertEqual(outcomes(first), .object([("delivered", .int(2)), ("dropped", .int(1))]))
        let listed = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(listed.contains("elements = { 198.18.0.7 counter packets 3 bytes 84 limit rate over 1/second burst 2 packets }"), listed)
        XCTAssertEqual(app.checkpoint(), ["h"])
        func after() -> (String, String) {
            // 300 ms on the bucket has not earned a packet back: both over the rate, dropped by the rule.
            let r = call("POST", "/v1/stacks/h/packets", Self.packets([300_000_000, 301_000_000]))
            let reasons = (r.json?["results"]).map { v -> String in
                guard case .array(let a) = v else { return "" }
                return a.map { $0["drop_reason"]?.rendered() ?? "" }.joined(separator: ",")
            } ?? ""
            return (reasons, call("GET", "/v1/stacks/h/ruleset").raw)
        }
        let live = after()
        XCTAssertEqual(live.0, #""NETFILTER_DROP","NETFILTER_DROP""#)
        XCTAssertTrue(live.1.contains("198.18.0.7 counter packets 5 bytes 140"), live.1)
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, listed)
        let restored = after()
        XCTAssertEqual(restored.0, live.0)
        XCTAssertEqual(restored.1, live.1)
    }

    /// A checkpoint whose ruleset this parser cannot read back costs the stack nothing but that
    /// state: the stack loads with its stored version, and the start-up says why.
    func testACheckpointRulesetThatDoesNotLoadFallsBackToTheStoredVersion() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", RuntimeCheckpointTests.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.packets([1_000_000])).status, 200)
        XCTAssertEqual(app.checkpoint(), ["h"])
        let id = try XCTUnwrap(try store.stacks().first { $0.name == "h" }?.id)
        var st = try XCTUnwrap(try store.state(stackID: id))
        st.ruleset += "table ip broken {"
        try store.saveState(stackID: id, st)
        try reopen()
        XCTAssertEqual(app.loadProblems.count, 1)
        XCTAssertTrue(app.loadProblems[0].hasPrefix("stack h: the checkpoint's ruleset does not load ("), app.loadProblems[0])
        XCTAssertTrue(app.loadProblems[0].hasSuffix("); version 1 loaded without its state"), app.loadProblems[0])
        let listed = call("GET", "/v1/stacks/h/ruleset")
        XCTAssertEqual(listed.status, 200)
        XCTAssertTrue(listed.raw.contains("update @rated { ip saddr counter limit rate over 1/second burst 2 packets } counter packets 0 bytes 0 drop"), listed.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/h/stats").json?["clock_ns"], .int(Int(st.clockNs)))
    }
}
