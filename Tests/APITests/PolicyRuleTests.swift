import Foundation
import JSON
import XCTest

/// `not` and `suppress_prefixlength` in `ip rule`, wg-quick's pair, as the kernel answered `ip -j
/// rule` and `ip route get` with these routes and rules (recorded on 6.18, 2026-12-06, in a
/// namespace with kb's veth: main has default via .9 and 203.0.113.0/24 via .7, table 100 default via .8).
final class PolicyRuleTests: AppTestCase {
    func testNotAndSuppressPrefixLengthAsTheKernelAnswers() throws {
        let stack = #"{"name":"kb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":["198.18.0.1/24"]}],"routes":[{"dst":"default","via":"198.18.0.9","dev":"vb"},{"dst":"default","via":"198.18.0.8","dev":"vb","table":100},{"dst":"203.0.113.0/24","via":"198.18.0.7","dev":"vb"}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", stack).status, 201)
        for rule in [#"{"not":true,"fwmark":"0x1","table":100}"#, #"{"table":"main","suppress_prefixlength":0}"#, #"{"not":true,"from":"10.0.0.0/8","priority":200,"table":100}"#] {
            let r = call("POST", "/v1/stacks/kb/rules", rule)
            XCTAssertEqual(r.status, 201, r.raw)
        }
        // ip -j rule's own words.
        XCTAssertEqual(call("GET", "/v1/stacks/kb/rules").raw, #"{"items":[{"priority":0,"src":"all","table":"local"},{"priority":200,"not":null,"src":"10.0.0.0","srclen":8,"table":"100"},{"priority":32764,"src":"all","table":"main","suppress_prefixlen":0},{"priority":32765,"not":null,"src":"all","fwmark":"0x1","table":"100"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]}"# + "\n")
        func get(_ dst: String, mark: Int) -> String {
            guard case .array(let a) = call("GET", "/v1/stacks/kb/routes/get?dst=\(dst)&mark=\(mark)").json ?? .null, let r = a.first else { return "?" }
            var out = dst
            if case .string(let g) = r["gateway"] ?? .null { out += " via \(g)" }
            if case .string(let t) = r["table"] ?? .null { out += " table \(t)" }
            return out
        }
        func all() -> [String] { [0, 1].flatMap { m in ["8.8.8.8", "203.0.113.5", "198.18.0.9"].map { "mark \(m): " + get($0, mark: m) } } }
        // `not from 10.0.0.0/8` takes every lookup whose source (none: 0.0.0.0) is outside it.
        XCTAssertEqual(all(), ["mark 0: 8.8.8.8 via 198.18.0.8 table 100", "mark 0: 203.0.113.5 via 198.18.0.8 table 100", "mark 0: 198.18.0.9 via 198.18.0.8 table 100",
                               "mark 1: 8.8.8.8 via 198.18.0.8 table 100", "mark 1: 203.0.113.5 via 198.18.0.8 table 100", "mark 1: 198.18.0.9 via 198.18.0.8 table 100"])
        XCTAssertEqual(call("DELETE", "/v1/stacks/kb/rules?priority=200").status, 204)
        // wg-quick's pair: main's default route is suppressed, so unmarked traffic takes table 100.
        XCTAssertEqual(all(), ["mark 0: 8.8.8.8 via 198.18.0.8 table 100", "mark 0: 203.0.113.5 via 198.18.0.7", "mark 0: 198.18.0.9",
                               "mark 1: 8.8.8.8 via 198.18.0.9", "mark 1: 203.0.113.5 via 198.18.0.7", "mark 1: 198.18.0.9"])
        XCTAssertEqual(call("POST", "/v1/stacks/kb/rules", #"{"not":true,"to":"203.0.113.0/24","priority":100,"table":100}"#).status, 201)
        XCTAssertEqual([get("8.8.8.8", mark: 0), get("203.0.113.5", mark: 0), get("8.8.8.8", mark: 1), get("203.0.113.5", mark: 1)],
                       ["8.8.8.8 via 198.18.0.8 table 100", "203.0.113.5 via 198.18.0.7", "8.8.8.8 via 198.18.0.8 table 100", "203.0.113.5 via 198.18.0.7"])
        XCTAssertEqual(call("DELETE", "/v1/stacks/kb/rules?priority=100").status, 204)
        // suppress_prefixlength 24 passes over the /24s too; the next rule finds them.
        XCTAssertEqual(call("POST", "/v1/stacks/kb/rules", #"{"table":"main","suppress_prefixlength":24,"priority":100}"#).status, 201)
        XCTAssertEqual([get("203.0.113.5", mark: 1), get("198.18.0.9", mark: 1)], ["203.0.113.5 via 198.18.0.7", "198.18.0.9"])
        XCTAssertEqual(call("POST", "/v1/stacks/kb/rules", #"{"table":"main","suppress_prefixlength":33}"#).status, 400)
        // Kept with the stack.
        try reopen()
        XCTAssertTrue(call("GET", "/v1/stacks/kb/rules").raw.contains(#"{"priority":32765,"not":null,"src":"all","fwmark":"0x1","table":"100"}"#))
    }
}
