import Foundation
import JSON
import XCTest

/// IPv6 policy routing as scripts/record_policy6.sh recorded it on Linux 6.18 (Cases/policy6.txt):
/// `ip -j -6 rule` and every `ip -j -6 route get` of the recording, word for word; then the
/// router of its second part, where each datagram leaves by the device the kernel sent it out of.
final class Policy6Tests: AppTestCase {
    /// The recording's answers: each `== TITLE` line and the line after it.
    private func recorded() throws -> [String: String] {
        let lines = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("policy6.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        var out: [String: String] = [:]
        for (i, l) in lines.enumerated() where l.hasPrefix("== ") && i + 1 < lines.count { out[String(l.dropFirst(3))] = lines[i + 1] }
        return out
    }

    func testRulesAndRouteGetAnswerAsIpDoes() throws {
        let kernel = try recorded()
        let stack = #"{"name":"p6","devices":[{"name":"v0","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]},{"name":"w0","mac":"02:00:00:00:00:02","addresses":["2001:db8:1::1/64"]}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", stack).status, 201)
        func items(_ path: String) -> String {
            guard case .array(let a) = call("GET", path).json?["items"] ?? .null else { return "?" }
            return JSONValue.array(a).rendered()
        }
        XCTAssertEqual(items("/v1/stacks/p6/rules?family=inet6"), kernel["rule (fresh)"])
        // The recording's commands, in its order (ip -6 rule add ..., ip -6 route add ...).
        for rule in [#"{"family":"inet6","fwmark":"0x1","table":100}"#, #"{"from":"2001:db8:1::/64","table":200,"priority":100}"#,
                     #"{"to":"2001:db8:99::/48","table":300}"#, #"{"family":"inet6","iif":"v0","table":400}"#,
                     #"{"family":"inet6","not":true,"fwmark":"0x2","fwmask":"0x2","table":"main","suppress_prefixlength":0,"priority":50}"#] {
            let r = call("POST", "/v1/stacks/p6/rules", rule)
            XCTAssertEqual(r.status, 201, r.raw)
        }
        for route in [#"{"dst":"::/0","via":"2001:db8:1::fe","dev":"w0","table":100}"#, #"{"dst":"::/0","via":"2001:db8::fe","dev":"v0","metric":10,"table":200}"#,
                      #"{"dst":"2001:db8:99::/48","via":"2001:db8::fd","dev":"v0","table":300}"#, #"{"dst":"2001:db8:77::/48","via":"2001:db8:1::fd","dev":"w0","table":400}"#,
                      #"{"dst":"2001:db8:66::/48","type":"unreachable","table":400}"#, #"{"dst":"::/0","via":"2001:db8::fe","dev":"v0"}"#] {
            let r = call("POST", "/v1/stacks/p6/routes", route)
            XCTAssertEqual(r.status, 201, r.raw)
        }
        XCTAssertEqual(items("/v1/stacks/p6/rules?family=inet6"), kernel["rule"])
        // IPv4's rules are untouched.
        XCTAssertEqual(items("/v1/stacks/p6/rules"), #"[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]"#)
        func get(_ words: String) -> String {
            var q: [String] = []
            let w = words.split(separator: " ").map(String.init)
            q.append("dst=" + w[0])
            for k in stride(from: 1, to: w.count - 1, by: 2) { q.append(w[k] + "=" + w[k + 1]) }
            let r = call("GET", "/v1/stacks/p6/routes/get?" + q.joined(separator: "&"))
            if r.status != 200, case .string(let d) = r.json?["detail"] ?? .null { return d }
            return r.raw.trimmingCharacters(in: .newlines)
        }
        let asked = ["2001:db9::1", "2001:db9::1 mark 1", "2001:db9::1 mark 3", "2001:db9::1 from 2001:db8:1::1", "2001:db8:99::5",
                     "2001:db8:77::5 from 2001:db8::9 iif v0", "2001:db8:66::5 from 2001:db8::9 iif v0", "2001:db8:77::5", "2001:db8::1 mark 1", "2001:db8:1::9 mark 1"]
        for a in asked { XCTAssertEqual(get(a), kernel["get " + a], a) }
        // Recorded again with forwarding on: the same answers, as an input lookup does not look at it.
        for a in ["2001:db8:77::5 from 2001:db8::9 iif v0", "2001:db8:66::5 from 2001:db8::9 iif v0", "2001:db9::5 from 2001:db8::9 iif v0 mark 1"] {
            XCTAssertEqual(get(a), kernel["get fwd " + a], a)
        }
        XCTAssertEqual(call("DELETE", "/v1/stacks/p6/rules?priority=100&family=inet6").status, 204)
        XCTAssertEqual(call("DELETE", "/v1/stacks/p6/rules?priority=100&family=inet6").status, 404)
        XCTAssertEqual(items("/v1/stacks/p6/rules?family=inet6"), kernel["rule after del"])
        // Tables are listed with the routes; rules and routes survive a restart.
        XCTAssertTrue(call("GET", "/v1/stacks/p6/routes").raw.contains(#"{"dst":"2001:db8:66::/48","type":"unreachable","dev":"lo","metric":1024,"proto":"static","table":"400"}"#))
        try reopen()
        XCTAssertEqual(items("/v1/stacks/p6/rules?family=inet6"), kernel["rule after del"])
        XCTAssertEqual(get("2001:db9::1 mark 1"), kernel["get 2001:db9::1 mark 1"])
        // What ip refuses.
        XCTAssertEqual(call("POST", "/v1/stacks/p6/rules", #"{"family":"inet6","from":"10.0.0.0/8","table":1}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/p6/rules", #"{"family":"inet6","iif":"nope","table":1}"#).status, 422)
        XCTAssertEqual(call("GET", "/v1/stacks/p6/rules?family=inet7").status, 400)
    }

    /// The recording's router: forwarded datagrams marked at prerouting take table 100, a
    /// `from . to` rule table 200, an unreachable route answers ICMPv6 no route (code 0); the
    /// router's own datagrams marked in a route chain are routed again (ip6_route_me_harder), an
    /// unbound socket's `from` lookup selects nothing, and an unreachable route is EHOSTUNREACH;
    /// `fib daddr [. mark] oifname` and `fib daddr type` count what the kernel's counted.
    func testPacketsFollowTheRulesAsTheKernelSentThem() throws {
        let stack = #"""
        {"name":"r","devices":[{"name":"v0","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]},{"name":"w0","mac":"02:00:00:00:00:02","addresses":["2001:db8:1::1/64"]}],
         "sysctls":{"net.ipv6.conf.all.forwarding":1},
         "neighbours":[{"address":"2001:db8::fe","mac":"02:00:00:00:ff:01","dev":"v0"},{"address":"2001:db8::9","mac":"02:00:00:00:ff:01","dev":"v0"},{"address":"2001:db8:1::fe","mac":"02:00:00:00:ff:02","dev":"w0"}],
         "routes":[{"dst":"default","via":"2001:db8::fe","dev":"v0"},{"dst":"default","via":"2001:db8:1::fe","dev":"w0","table":100},
                   {"dst":"2001:db8:5::/48","via":"2001:db8:1::fe","dev":"w0","table":200},{"dst":"2001:db8:6::/48","type":"unreachable","table":200}],
         "rules":[{"family":"inet6","fwmark":"0x1","table":100},{"from":"2001:db8::9","to":"2001:db8:5::/48","table":200,"priority":200},{"to":"2001:db8:6::/48","table":200,"priority":201}],
         "sockets":[{"protocol":"udp","address":"::","port":5000}]}
        """#
        let made = call("POST", "/v1/stacks", stack)
        XCTAssertEqual(made.status, 201, made.raw)
        let nft = """
        table ip6 t {
          chain pre { type filter hook prerouting priority mangle; udp dport 7 meta mark set 1
            meta l4proto udp fib daddr . mark oifname "w0" counter
            meta l4proto udp fib daddr oifname "w0" counter
            meta l4proto udp fib daddr type unreachable counter
          }
          chain out { type route hook output priority mangle; udp dport 8 meta mark set 1; }
        }
        """
        XCTAssertEqual(call("PUT", "/v1/stacks/r/ruleset", nft, type: "text/plain").status, 200)
        func p(_ dst: String, _ port: Int) -> String {
            #"{"device":"v0","eth":{"src":"02:00:00:00:ff:01"},"ipv6":{"src":"2001:db8::9","dst":"\#(dst)"},"udp":{"sport":5000,"dport":\#(port)},"payload_hex":"78"}"#
        }
        /// Each result's outcome and the devices of what it emitted, with the ICMPv6 type and code of an error.
        func fates(_ r: Reply) -> [String] {
            guard case .array(let results) = r.json?["results"] ?? .null else { return [r.raw] }
            return results.map { x in
                var s = x["outcome"].flatMap { if case .string(let o) = $0 { o } else { nil } } ?? "?"
                if case .string(let e) = x["errno"] ?? .null { s += " " + e }
                if case .array(let em) = x["emitted"] ?? .null {
                    for f in em {
                        guard case .string(let d) = f["device"] ?? .null, case .string(let h) = f["hex"] ?? .null else { continue }
                        s += " " + d
                        let b = Array(h.utf8)
                        // An ICMPv6 error: next header 58 at byte 20 of the frame, type and code at 54.
                        if h.count > 112, String(decoding: b[40..<42], as: UTF8.self) == "3a" { s += " icmpv6 " + String(decoding: b[108..<112], as: UTF8.self) }
                    }
                }
                return s
            }
        }
        let fwd = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(p("2001:db9::5", 7)),\#(p("2001:db9::5", 9)),\#(p("2001:db8:5::5", 9)),\#(p("2001:db8:6::5", 9))]}"#)
        XCTAssertEqual(fates(fwd), ["forwarded w0", "forwarded v0", "forwarded w0", "dropped v0 icmpv6 0100"])
        // nft_fib6 looks up under the rules too: with `. mark` the marked datagram finds table 100,
        // and a daddr lookup has the packet's source for the `from` rule.
        let chain = call("GET", "/v1/stacks/r/ruleset", accept: "text/plain").raw
        let kernel = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("policy6.txt"), encoding: .utf8)
        for l in kernel.split(separator: "\n") where l.contains("fib daddr") {
            XCTAssertTrue(chain.contains(l.replacingOccurrences(of: "\t", with: "") + "\n") || chain.contains(l + "\n"), "\(l)\n\(chain)")
        }
        var own: [String] = []
        for (dst, port) in [("2001:db9::5", 8), ("2001:db9::5", 9), ("2001:db8:6::5", 9), ("2001:db8:5::5", 9)] {
            own += fates(call("POST", "/v1/stacks/r/sockets/1/send", #"{"to":"\#(dst)","port":\#(port),"payload":"o"}"#))
        }
        XCTAssertEqual(own, ["transmitted w0", "transmitted v0", "failed EHOSTUNREACH", "transmitted v0"])
        guard case .object(let snmp6) = call("GET", "/v1/stacks/r/stats").json?["snmp6"] ?? .null else { return XCTFail("no snmp6") }
        let counters = Dictionary(snmp6, uniquingKeysWith: { a, _ in a })
        for (k, v) in [("Ip6InNoRoutes", 1), ("Ip6OutForwDatagrams", 3), ("Ip6OutNoRoutes", 0), ("Icmp6OutType1", 1)] {
            XCTAssertEqual(counters[k], .int(v), k)
        }
    }
}
