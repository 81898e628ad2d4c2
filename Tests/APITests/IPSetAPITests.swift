import API
import Foundation
import JSON
import XCTest

/// ipsets through the API: `ipset restore` text in, `ipset save` out, `-m set` in an iptables
/// ruleset reading them, kept across restarts (stored with each change, counters and expiries by
/// checkpoints).
final class IPSetAPITests: AppTestCase {
    static let stack = #"{"name":"fw","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#
    static let rules = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set f2b-sshd src -j DROP\nCOMMIT\n"

    func udp(from src: String, at ns: Int) -> String? {
        let r = call("POST", "/v1/stacks/fw/packets", #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:09"},"ipv4":{"src":"\#(src)"},"udp":{"sport":9,"dport":99},"at_ns":\#(ns)}]}"#)
        guard case .array(let rs)? = r.json?["results"], let first = rs.first else { XCTFail(r.raw); return nil }
        if case .string(let d)? = first["drop_reason"] { return d }
        return nil
    }

    func testSetsTheRulesetReadsAndKeepsAcrossRestarts() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        // Rules naming a set the stack lacks are refused as iptables refuses them.
        var r = call("PUT", "/v1/stacks/fw/ruleset", Self.rules, type: "text/plain")
        XCTAssertEqual(r.status, 400, r.raw)
        XCTAssertEqual(r.json?["detail"], .string("iptables-restore input refused at line 3, column 29: Set f2b-sshd doesn't exist."))

        r = call("PUT", "/v1/stacks/fw/ipsets", "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\nadd f2b-sshd 198.18.0.9\n", type: "text/plain")
        XCTAssertEqual(r.status, 200, r.raw)
        let created = "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12 initval 0x2f512274\n"
        XCTAssertEqual(r.raw, created + "add f2b-sshd 198.18.0.9 timeout 600\n")
        XCTAssertEqual(call("PUT", "/v1/stacks/fw/ruleset", Self.rules, type: "text/plain").status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/fw/ruleset").raw, """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\txt match set counter packets 0 bytes 0 drop
        \t}
        }

        """)
        XCTAssertEqual(udp(from: "198.18.0.9", at: 1_000_000_000), "NETFILTER_DROP")
        XCTAssertEqual(udp(from: "198.18.0.8", at: 1_100_000_000), "NO_SOCKET")

        // A set the ruleset holds is not destroyed, by a command or by a replacement without it.
        r = call("POST", "/v1/stacks/fw/ipsets/commands", "flush\ndestroy f2b-sshd\n", type: "text/plain")
        XCTAssertEqual(r.status, 400, r.raw)
        XCTAssertEqual(r.json?["ipset"], .string("ipset v7.17: Error in line 2: Set cannot be destroyed: it is in use by a kernel component"))
        XCTAssertEqual(call("PUT", "/v1/stacks/fw/ipsets", "create other hash:ip\n", type: "text/plain").status, 400)
        // Whole or nothing: the flush of line 1 did not happen either.
        XCTAssertEqual(call("GET", "/v1/stacks/fw/ipsets").raw, created + "add f2b-sshd 198.18.0.9 timeout 598\n")   // 598.9 s left

        r = call("POST", "/v1/stacks/fw/ipsets/commands", "add f2b-sshd 198.18.0.20 timeout 30\ndel f2b-sshd 198.18.0.9\n", type: "text/plain")
        XCTAssertEqual(r.raw, created + "add f2b-sshd 198.18.0.20 timeout 30\n")
        XCTAssertEqual(udp(from: "198.18.0.9", at: 2_000_000_000), "NO_SOCKET")
        XCTAssertEqual(udp(from: "198.18.0.20", at: 2_500_000_000), "NETFILTER_DROP")

        // Stored with the change: a restart without a checkpoint since still has the element. The
        // stack's clock is back where the last checkpoint left it (none: 0); the element expires at
        // 31.1 s of that clock as before.
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/fw/ipsets").raw, created + "add f2b-sshd 198.18.0.20 timeout 31\n")
        XCTAssertEqual(udp(from: "198.18.0.20", at: 3_000_000_000), "NETFILTER_DROP")
                XCTAssertEqual(udp(from: "198.18.0.20", at: 31_000_000_000), "NETFILTER_DROP")
        XCTAssertEqual(udp(from: "198.18.0.20", at: 31_200_000_000), "NO_SOCKET")
        XCTAssertEqual(call("GET", "/v1/stacks/fw/ipsets").raw, created)
        XCTAssertEqual(call("GET", "/v1/stacks/fw/ipsets?name=nosuch").status, 404)
    }

    /// Element counters go on from a checkpoint; a change stored after it wins over it.
    func testCountersComeBackFromCheckpoints() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/fw/ipsets", "create f2b-sshd hash:ip counters\nadd f2b-sshd 198.18.0.9\n", type: "text/plain").status, 200)
        XCTAssertEqual(call("PUT", "/v1/stacks/fw/ruleset", Self.rules, type: "text/plain").status, 200)
        XCTAssertEqual(udp(from: "198.18.0.9", at: 1_000_000), "NETFILTER_DROP")
        XCTAssertEqual(app.checkpoint(), ["fw"])
        try reopen()
        XCTAssertTrue(call("GET", "/v1/stacks/fw/ipsets").raw.hasSuffix("add f2b-sshd 198.18.0.9 packets 1 bytes 28\n"))
        XCTAssertEqual(call("POST", "/v1/stacks/fw/ipsets/commands", "add f2b-sshd 198.18.0.7 packets 5 bytes 9\n", type: "text/plain").status, 200)
        XCTAssertEqual(udp(from: "198.18.0.7", at: 2_000_000), "NETFILTER_DROP")
        try reopen()   // no checkpoint since the change: the stored change, without the later packet
        XCTAssertTrue(call("GET", "/v1/stacks/fw/ipsets").raw.hasSuffix("add f2b-sshd 198.18.0.9 packets 1 bytes 28\nadd f2b-sshd 198.18.0.7 packets 5 bytes 9\n"))
    }

    func testRefusalsNameTheLine() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        for (text, status, message) in [
            ("create a hash:ip\ncreate a hash:ip\n", 400, "Error in line 2: Set cannot be created: set with the same name already exists"),
            ("create a hash:ip\n\nadd a 1.2.3.400\n", 400, "Error in line 3: Syntax error: cannot parse 1.2.3.400: resolving to IPv4 address failed"),
            ("create a bitmap:port range 0-1000\n", 422, "Error in line 1: not supported yet: ipset type bitmap:port"),
        ] {
            let r = call("PUT", "/v1/stacks/fw/ipsets", text, type: "text/plain")
            XCTAssertEqual(r.status, status, r.raw)
            XCTAssertEqual(r.json?["ipset"], .string("ipset v7.17: " + message))
        }
        XCTAssertEqual(call("GET", "/v1/stacks/fw/ipsets").raw, "")
    }
}
