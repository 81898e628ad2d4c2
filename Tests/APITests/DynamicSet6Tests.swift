import Foundation
import JSON
import XCTest

/// Sets and meters rules update with IPv6 addresses, as scripts/record_dynset6.sh recorded them on
/// Linux 6.18 (Cases/dynset6.txt): `add @seen6 { ip6 saddr }` then `ip6 saddr @seen6` finds it,
/// a meter's limit is per address, `delete @seen6` takes one out; the ruleset lists as nft listed
/// it after each step (each element's time left masked: the kernel's clock ran on).
final class DynamicSet6Tests: AppTestCase {
    /// The ruleset a case printed after `marker`, as nft listed it.
    private func listing(_ text: String, after marker: String) -> String {
        guard let r = text.range(of: marker + "\n") else { return "" }
        let rest = text[r.upperBound...]
        guard let end = rest.range(of: "\n}\n") else { return "" }
        return String(rest[..<end.upperBound])
    }
    /// Each element's time left masked: the kernel's clock ran on.
    private func masked(_ s: String) -> String { s.replacingOccurrences(of: #"expires [0-9hms]+"#, with: "expires X", options: .regularExpression) }

    /// The script's ruleset.
    private let ruleset = """
    table inet f {
    \tset seen6 {
    \t\ttype ipv6_addr
    \t\tflags dynamic,timeout
    \t\ttimeout 10m
    \t}

    \tchain i {
    \t\ttype filter hook input priority filter; policy accept;
    \t\tudp dport 7000 add @seen6 { ip6 saddr }
    \t\tudp dport 7001 ip6 saddr @seen6 counter accept
    \t\tudp dport 7002 meter m6 { ip6 saddr limit rate 1/minute burst 1 packets } counter accept
    \t\tudp dport 7002 counter drop
    \t\tudp dport 7003 delete @seen6 { ip6 saddr }
    \t}
    }

    """

    func testIPv6AddressesInSetsRulesUpdate() throws {
        let text = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("dynset6.txt"), encoding: .utf8)
        let doc = #"{"name":"d6","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]}],"neighbours":[{"address":"2001:db8::9","mac":"02:00:00:00:ff:01","dev":"va"},{"address":"2001:db8::10","mac":"02:00:00:00:ff:01","dev":"va"}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        let put = call("PUT", "/v1/stacks/d6/ruleset", ruleset, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertNil(put.json?["notes"], "nothing left that cannot act on IPv6 packets")
        func send(_ sends: [(String, Int)]) {
            let packets = sends.map { #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv6":{"src":"\#($0.0)"},"udp":{"sport":40000,"dport":\#($0.1)},"payload_hex":"78"}"# }
            XCTAssertEqual(call("POST", "/v1/stacks/d6/packets", #"{"packets":[\#(packets.joined(separator: ","))]}"#).status, 200)
        }
        send([("2001:db8::9", 7001), ("2001:db8::9", 7000), ("2001:db8::10", 7000), ("2001:db8::9", 7001), ("2001:db8::10", 7001),
              ("2001:db8::9", 7002), ("2001:db8::9", 7002), ("2001:db8::10", 7002), ("2001:db8::9", 7002)])
        XCTAssertEqual(masked(call("GET", "/v1/stacks/d6/ruleset").raw), masked(listing(text, after: "== listed")))
        // Kept by a checkpoint: the elements with their time left, and the meter's buckets.
        XCTAssertEqual(app.checkpoint(), ["d6"])
        try reopen()
        send([("2001:db8::9", 7003), ("2001:db8::9", 7001), ("2001:db8::9", 7003)])
        XCTAssertEqual(masked(call("GET", "/v1/stacks/d6/ruleset").raw), masked(listing(text, after: "== listed after delete")))
        send([("2001:db8::10", 7002)])
        let after = call("GET", "/v1/stacks/d6/ruleset").raw
        XCTAssertTrue(after.contains("udp dport 7002 counter packets 3 bytes 147 drop"), "::10's bucket came back spent: " + after)
    }

    /// scripts/record_mask6.sh (Cases/mask6.txt): IPv6 addresses under a mask (a prefix one lists
    /// as the prefix) and as the keys of anonymous and named data maps, alone and concatenated
    /// with a port; the counters as nft listed them after one datagram from each of 2001:db8::9,
    /// ::10 and ::11 (port 40000).
    func testMasksAndDataMapKeys() throws {
        let text = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("mask6.txt"), encoding: .utf8)
        guard let cut = text.range(of: "== listed\n") else { return XCTFail("no listing") }
        let rules = """
        table inet f {
        \tmap marks6 {
        \t\ttype ipv6_addr : mark
        \t\tflags interval
        \t\telements = { 2001:db8::9 : 0x00000009, 2001:db8::10-2001:db8::1f : 0x00000010 }
        \t}

        \tmap flowmarks {
        \t\ttype ipv6_addr . inet_service : mark
        \t\telements = { 2001:db8::10 . 40000 : 0x00000020, 2001:db8::11 . 40001 : 0x00000021 }
        \t}

        \tchain i {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tudp dport 7000 ip6 saddr & ffff:ffff:ffff:ffff:: == 2001:db8:: counter
        \t\tudp dport 7000 ip6 saddr & ::ffff == ::9 counter
        \t\tudp dport 7000 ip6 saddr & ::ffff != ::9 counter
        \t\tudp dport 7000 meta mark set ip6 saddr map { 2001:db8::9 : 0x1, 2001:db8::10 : 0x2 }
        \t\tudp dport 7000 meta mark 0x1 counter
        \t\tudp dport 7000 meta mark 0x2 counter
        \t\tudp dport 7000 meta mark set ip6 saddr map @marks6
        \t\tudp dport 7000 meta mark 0x9 counter
        \t\tudp dport 7000 meta mark 0x10 counter
        \t\tudp dport 7000 meta mark set ip6 saddr . udp sport map @flowmarks
        \t\tudp dport 7000 meta mark 0x20 counter
        \t\tudp dport 7000 meta mark 0x21 counter
        \t}
        }

        """
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"m6","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]}]}"#).status, 201)
        let put = call("PUT", "/v1/stacks/m6/ruleset", rules, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertNil(put.json?["notes"], put.raw)
        let packets = ["9", "10", "11"].map { #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv6":{"src":"2001:db8::\#($0)"},"udp":{"sport":40000,"dport":7000},"payload_hex":"78"}"# }
        XCTAssertEqual(call("POST", "/v1/stacks/m6/packets", #"{"packets":[\#(packets.joined(separator: ","))]}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/m6/ruleset").raw, String(text[cut.upperBound...]))
    }

    /// scripts/record_dynset_wide.sh (Cases/dynset_wide.txt): sets and a meter rules update with
    /// concatenated keys too wide to pack (ip6 saddr . udp sport, ip saddr . ip daddr . udp sport),
    /// listed as nft listed them, kept across a restart, and a delete.
    func testConcatenatedKeysWiderThan64Bits() throws {
        let text = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("dynset_wide.txt"), encoding: .utf8)
        let rules = """
        table inet f {
        \tset flows6 {
        \t\ttype ipv6_addr . inet_service
        \t\tflags dynamic,timeout
        \t\ttimeout 10m
        \t}

        \tset flows4 {
        \t\ttype ipv4_addr . ipv4_addr . inet_service
        \t\tflags dynamic
        \t}

        \tchain i {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tudp dport 7000 add @flows6 { ip6 saddr . udp sport }
        \t\tudp dport 7010 ip6 saddr . udp sport @flows6 counter
        \t\tudp dport 7001 add @flows4 { ip saddr . ip daddr . udp sport }
        \t\tudp dport 7010 ip saddr . ip daddr . udp sport @flows4 counter
        \t\tudp dport 7002 meter m { ip6 saddr . udp dport limit rate 1/minute burst 1 packets } counter accept
        \t\tudp dport 7002 counter drop
        \t\tudp dport 7003 delete @flows6 { ip6 saddr . udp sport }
        \t}
        }

        """
        let doc = #"{"name":"w","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        let put = call("PUT", "/v1/stacks/w/ruleset", rules, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        func send(_ sends: [(String, Int, Int)]) {
            let packets = sends.map { src, sport, dport in
                let ip = src.contains(":") ? #""ipv6":{"src":"\#(src)"}"# : #""ipv4":{"src":"\#(src)"}"#
                return #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},\#(ip),"udp":{"sport":\#(sport),"dport":\#(dport)},"payload_hex":"78"}"#
            }
            XCTAssertEqual(call("POST", "/v1/stacks/w/packets", #"{"packets":[\#(packets.joined(separator: ","))]}"#).status, 200)
        }
        send([("2001:db8::9", 1111, 7000), ("2001:db8::9", 1111, 7010), ("2001:db8::9", 2222, 7010),
              ("198.18.0.9", 3333, 7001), ("198.18.0.9", 3333, 7010), ("198.18.0.9", 4444, 7010),
              ("2001:db8::9", 5555, 7002), ("2001:db8::9", 5556, 7002), ("2001:db8::9", 5557, 7002)])
        XCTAssertEqual(masked(call("GET", "/v1/stacks/w/ruleset").raw), masked(listing(text, after: "== listed")))
        XCTAssertEqual(app.checkpoint(), ["w"])
        try reopen()
        send([("2001:db8::9", 1111, 7003), ("2001:db8::9", 1111, 7010)])
        XCTAssertEqual(masked(call("GET", "/v1/stacks/w/ruleset").raw), masked(listing(text, after: "== listed after delete")))
        // The IPv4 flow came back from the checkpoint and is still found.
        send([("198.18.0.9", 3333, 7010)])
        XCTAssertTrue(call("GET", "/v1/stacks/w/ruleset").raw.contains("ip saddr . ip daddr . udp sport @flows4 counter packets 2 bytes 58"))
    }

    /// scripts/record_dynset_ifname.sh (Cases/dynset_ifname.txt): a set rules add `ip saddr .
    /// iifname` to, a map keyed by `ifname . ipv4_addr`, a meter keyed by `iifname . udp sport`:
    /// the interface name is part of the key (16 bytes), listed as nft listed it, across a restart.
    func testConcatenatedKeysWithAnInterfaceName() throws {
        let text = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("dynset_ifname.txt"), encoding: .utf8)
        let listed = listing(text, after: "== listed")
        // The script's ruleset is the listing without the elements added, the size and the counters' numbers.
        let rules = listed.replacingOccurrences(of: "\t\tsize 65535\n", with: "")
            .replacingOccurrences(of: "\t\telements = { 198.18.0.9 . \"va\" }\n", with: "")
            .replacingOccurrences(of: #" counter packets [0-9]+ bytes [0-9]+"#, with: " counter", options: .regularExpression)
            .replacingOccurrences(of: "meter m size 65535 {", with: "meter m {")
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"n","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#).status, 201)
        let put = call("PUT", "/v1/stacks/n/ruleset", rules, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        func send(_ sends: [(Int, Int)]) {
            let packets = sends.map { sport, dport in
                #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv4":{"src":"198.18.0.9"},"udp":{"sport":\#(sport),"dport":\#(dport)},"payload_hex":"78"}"#
            }
            XCTAssertEqual(call("POST", "/v1/stacks/n/packets", #"{"packets":[\#(packets.joined(separator: ","))]}"#).status, 200)
        }
        send([(1111, 7010), (1111, 7000), (1111, 7010), (5555, 7002)])
        XCTAssertEqual(app.checkpoint(), ["n"])
        try reopen()
        send([(5555, 7002), (5556, 7002)])
        XCTAssertEqual(call("GET", "/v1/stacks/n/ruleset").raw, listed)
    }
}
