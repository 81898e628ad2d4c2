@testable import API
import Foundation
import JSON
import Kernel
import Store
import XCTest

/// A stack's runtime state survives a restart through its checkpoint: the virtual clock, rule and
/// named counters, quotas used and set elements rules added, for the ruleset version in force, and
/// the conntrack entries.
final class CheckpointTests: AppTestCase {
    static let stack = #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"sockets":[{"port":53}]}"#
    static let ruleset = """
        table ip f {
        \tcounter hits {
        \t}

        \tset seen {
        \t\ttype ipv4_addr
        \t\tflags dynamic
        \t}

        \tchain input {
        \t\ttype filter hook input priority 0; policy accept;
        \t\tct state new counter
        \t\tudp dport 53 counter name "hits" add @seen { ip saddr } quota until 1000 bytes accept
        \t}
        }

        """
    static let two = #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.7"},"udp":{"sport":9,"dport":53}},"# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.8"},"udp":{"sport":9,"dport":53},"at_ns":7000000}]}"#

    func clock() -> JSONValue? { call("GET", "/v1/stacks/h/stats").json?["clock_ns"] }

    func testClockCountersQuotasAndSetElementsSurviveARestart() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.two).json?["outcomes"], .object([("delivered", .int(2))]))
        let before = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(before.contains("packets 2 bytes 56"), before)
        XCTAssertTrue(before.contains("elements = { 198.18.0.7, 198.18.0.8 }"), before)
        XCTAssertTrue(before.contains("quota 1000 bytes used 56 bytes"), before)
        let clockBefore = try XCTUnwrap(clock())
        let conntrack = call("GET", "/v1/stacks/h/conntrack").raw
        XCTAssertTrue(conntrack.contains("src=198.18.0.8"), conntrack)
        XCTAssertEqual(app.checkpoint(), ["h"])
        XCTAssertEqual(app.checkpoint(), [])   // nothing used since

        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, before)
        XCTAssertEqual(clock(), clockBefore)
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw, conntrack)
        // The state goes on from there: the quota counts on, the set keeps its elements.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.two.replacingOccurrences(of: #","at_ns":7000000"#, with: "")).status, 200)
        let after = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(after.contains("packets 4 bytes 112"), after)
        XCTAssertTrue(after.contains("quota 1000 bytes used 112 bytes"), after)
        guard case .array(let items) = call("GET", "/v1/traces?order=newest&limit=1").json?["items"] ?? .null,
              case .int(let start) = items.first?["start_ns"] ?? .null, case .int(let was) = clockBefore else { return XCTFail("no trace") }
        XCTAssertGreaterThanOrEqual(start, was)   // virtual time did not go back

        // A ruleset change after the last checkpoint wins over it at the next restart.
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset.replacingOccurrences(of: "1000", with: "2000"), type: "text/plain").status, 200)
        try reopen()
        let changed = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(changed.contains("quota 2000 bytes"), changed)
        XCTAssertEqual(clock(), clockBefore)   // the clock from the checkpoint still
    }

    /// The periodic pass leaves a stack alone until 19 times its last checkpoint's cost has
    /// passed; an explicit checkpoint (shutdown, fork) saves it whatever the time.
    func testThePeriodicPassSpacesCheckpointsByTheirCost() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.two).status, 200)
        let e = try XCTUnwrap(app.registry.get("h"))
        let start = DispatchTime.now().uptimeNanoseconds
        XCTAssertEqual(app.checkpoint(periodic: true), ["h"])
        let end = DispatchTime.now().uptimeNanoseconds
        e.lock.lock(); let due = e.checkpointNotBeforeNs; e.lock.unlock()
        XCTAssertGreaterThanOrEqual(due, end)
        XCTAssertLessThanOrEqual(due, end + 19 * (end - start))
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.two).status, 200)
        e.lock.lock(); e.checkpointNotBeforeNs = .max; e.lock.unlock()
        XCTAssertEqual(app.checkpoint(periodic: true), [])
        XCTAssertEqual(app.checkpoint(), ["h"])
        XCTAssertEqual(app.checkpoint(), [])
    }

    /// The table is stored in its binary form; a checkpoint stored before it (a JSON array) still
    /// restores, and one that does not read leaves the table empty and says so at start-up.
    func testConntrackCheckpointsOfEitherFormRestore() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.two).status, 200)
        let conntrack = call("GET", "/v1/stacks/h/conntrack").raw
        XCTAssertEqual(app.checkpoint(), ["h"])
        let id = try XCTUnwrap(try store.stacks().first { $0.name == "h" }?.id)
        var st = try XCTUnwrap(try store.state(stackID: id))
        guard case .binary(let bytes) = st.conntrack else { return XCTFail("\(st.conntrack)") }
        XCTAssertEqual(bytes.count, 4 + 2 * 100)

        // The same entries as the JSON the checkpoint wrote before (addresses in hex).
        let probe = try Stack(config: StackConfig(name: "p"))
        XCTAssertTrue(probe.restoreConntrack(checkpoint: bytes))
        let json = "[" + probe.conntrackRecords().map { r in
            let t = { (t: ConnRecord.Tuple) in #"{"src":"\#(String(t.src, radix: 16))","dst":"\#(String(t.dst, radix: 16))","sport":\#(t.sport),"dport":\#(t.dport)}"# }
            return #"{"proto":\#(r.proto),"v6":false,"orig":\#(t(r.orig)),"reply":\#(t(r.reply)),"status":\#(r.status),"mark":0,"tcp":null,"created":\#(r.created),"expires":\#(r.expires),"snat":null,"dnat":null}"#
        }.joined(separator: ",") + "]"
        st.conntrack = .json(json)
        try store.saveState(stackID: id, st)
        try reopen()
        XCTAssertEqual(app.loadProblems, [])
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw, conntrack)

        st.conntrack = .binary(Array(bytes.dropLast()))
        try store.saveState(stackID: id, st)
        try reopen()
        XCTAssertEqual(app.loadProblems, ["stack h: the checkpoint's conntrack table does not read; it starts empty"])
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw, "")   // conntrack -L of an empty table
    }

    /// A fork is a copy at this moment (document, clock, ruleset with its state, conntrack) that
    /// then goes its own way, and survives a restart.
    func testForkCopiesTheStateAndGoesItsOwnWay() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.two).status, 200)
        let ruleset = call("GET", "/v1/stacks/h/ruleset").raw, conntrack = call("GET", "/v1/stacks/h/conntrack").raw
        let f = call("POST", "/v1/stacks/h/fork", #"{"name":"h2"}"#)
        XCTAssertEqual(f.status, 201, f.raw)
        XCTAssertEqual(f.headers.first { $0.name == "location" }?.value, "/v1/stacks/h2")
        XCTAssertEqual(call("GET", "/v1/stacks/h2/ruleset").raw, ruleset)
        XCTAssertEqual(call("GET", "/v1/stacks/h2/conntrack").raw, conntrack)
        XCTAssertEqual(call("GET", "/v1/stacks/h2/stats").json?["clock_ns"], clock())
        // Packets into the fork change the fork only.
        XCTAssertEqual(call("POST", "/v1/stacks/h2/packets", Self.two.replacingOccurrences(of: #","at_ns":7000000"#, with: "")).status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/h2/ruleset").raw.contains("quota 1000 bytes used 112 bytes"))
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, ruleset)
        // Refusals: a taken name, a bad one, an unknown source.
        XCTAssertEqual(call("POST", "/v1/stacks/h/fork", #"{"name":"h2"}"#).status, 409)
        XCTAssertEqual(call("POST", "/v1/stacks/h/fork", #"{"name":"a b"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/h/fork", #"{"nom":"x"}"#).status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/nope/fork", #"{"name":"x"}"#).status, 404)
        // It is a stack like any other after a restart (its ruleset as version 1, its state checkpointed).
        XCTAssertEqual(app.checkpoint().sorted(), ["h", "h2"])
        let forked = call("GET", "/v1/stacks/h2/ruleset").raw, forkedCT = call("GET", "/v1/stacks/h2/conntrack").raw
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/h2/ruleset").raw, forked)
        XCTAssertEqual(call("GET", "/v1/stacks/h2/conntrack").raw, forkedCT)
    }
}
