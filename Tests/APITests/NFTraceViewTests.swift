import Foundation
import JSON
import XCTest

/// The nft view of a trace against `nft monitor trace` on the real kernel: the same ruleset and
/// packets (recorded by scripts/record_nft_trace.sh into Cases/) print the same lines, `packet:`
/// lines included, with generated packets (ICMP errors, echo replies, resets) under their own id.
/// Trace ids (random in the kernel) and the IP ids the kernel drew for the packets it generated
/// are normalised here, in the test.
final class NFTraceViewTests: AppTestCase {
    static let cases = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Cases")

    /// Trace ids by order of first appearance; `ip id N` of generated packets (those in chain out).
    static func normalised(_ text: String) -> [String] {
        var ids: [String: Int] = [:]
        return text.split(separator: "\n").map { line in
            var l = String(line)
            if let r = l.range(of: #"^trace id [0-9a-f]{8}"#, options: .regularExpression) {
                let id = String(l[r].suffix(8))
                let n = ids[id] ?? ids.count
                ids[id] = n
                l.replaceSubrange(r, with: "trace id #\(n)")
            }
            if l.contains(" out packet: "), let r = l.range(of: #" ip id [0-9]+ "#, options: .regularExpression) { l.replaceSubrange(r, with: " ip id _ ") }
            if l.contains(" out packet: "), let r = l.range(of: #" ip6 flowlabel [0-9]+ "#, options: .regularExpression) { l.replaceSubrange(r, with: " ip6 flowlabel _ ") }
            return l
        }
    }

    /// Builds the recording's tb, loads `ruleset`, injects `frames` 1 ms apart on vb; answers the
    /// nft text of their traces, in order.
    func nftText(addresses: String, neighbours: String, ruleset: String, frames: [String], traced: Bool) throws -> String {
        let stack = #"{"name":"tb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":[\#(addresses)]}],"neighbours":[\#(neighbours)]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", stack).status, 201)
        let put = call("PUT", "/v1/stacks/tb/ruleset", ruleset, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        let body = #"{"packets":["# + frames.enumerated().map { #"{"device":"vb","hex":"\#($1)","at_ns":\#($0 * 1_000_000)}"# }.joined(separator: ",") + "]}"
        let r = call("POST", "/v1/stacks/tb/packets", body)
        XCTAssertEqual(r.status, 200, r.raw)
        return (1...frames.count).map { call("GET", "/v1/traces/\($0)?format=nft\(traced ? "&traced=true" : "")").raw }.joined()
    }

    func testTheIPFamilyTraceMatchesTheKernel() throws {
        let ruleset = "table ip f {\n\tchain pre {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tmeta nftrace set 1\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 54 drop\n\t}\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\tmeta nftrace set 1\n\t}\n}\n"
        // The frames the recording's sockets sent (IP ids from its lines; scapy-built, checksums as the kernel's).
        let frames = [
            "02000000000202000000000108004500001c8a77400040112432c6120001c61200020009003600087377",
            "02000000000202000000000108004500001c8a78400040112431c6120001c61200020009003500087378",
            "02000000000202000000000108004500001cc4e740004001e9d1c6120001c61200020800f7fe00010000",
            "02000000000202000000000108004500003cf18440004006bd0fc6120001c6120002b2f80050000003e800000000a002faf009b60000020405b40402080a000000010000000001030307",
        ]
        let text = try nftText(addresses: #""198.18.0.2/24""#, neighbours: #"{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"vb"}"#,
                               ruleset: ruleset, frames: frames, traced: false)
        let kernel = try String(contentsOf: Self.cases.appendingPathComponent("nft_trace_ip.txt"), encoding: .utf8)
        XCTAssertEqual(Self.normalised(text).count, 29)
        XCTAssertEqual(Self.normalised(text), Self.normalised(kernel))
        // Generated packets print under the trace's id with the top bit set.
        XCTAssertTrue(call("GET", "/v1/traces/2?format=nft").raw.contains("trace id 80000002 ip f out packet: oif \"vb\" ip saddr 198.18.0.2"))
    }

    /// The inet family (ip protocol and ip6 nexthdr printed), UDP payload past the header as @th,
    /// IPv6 and ICMPv6, and only what nf_trace marked (`?traced=true`): the ICMPv6 error the stack
    /// sends for the UDP datagram is not marked by the out chain, so nft shows nothing of it.
    func testTheInetFamilyTraceMatchesTheKernel() throws {
        let ruleset = "table inet f {\n\tchain pre {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tmeta l4proto != icmpv6 meta nftrace set 1\n\t\ticmpv6 type echo-request meta nftrace set 1\n\t}\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\tmeta l4proto != icmpv6 meta nftrace set 1\n\t\ticmpv6 type echo-reply meta nftrace set 1\n\t}\n}\n"
        let frames = [
            "020000000002020000000001080045000030473840004011675dc6120001c612000200090036001c7345303132333435363738396162636465666768696a",
            "02000000000202000000000186dd6005da2c000d114020010db800000000000000000000000120010db800000000000000000000000200090035000d604f68656c6c6f",
            "02000000000202000000000186dd60016b6100083a4020010db800000000000000000000000120010db80000000000000000000000028000244500010002",
        ]
        let text = try nftText(addresses: #""198.18.0.2/24","2001:db8::2/64""#,
                               neighbours: #"{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"vb"},{"address":"2001:db8::1","mac":"02:00:00:00:00:01","dev":"vb"}"#,
                               ruleset: ruleset, frames: frames, traced: true)
        let kernel = try String(contentsOf: Self.cases.appendingPathComponent("nft_trace_inet.txt"), encoding: .utf8)
        XCTAssertEqual(Self.normalised(text).count, 15, text)
        XCTAssertEqual(Self.normalised(text), Self.normalised(kernel))
        // Without ?traced every event shows, the ICMPv6 error's run in chain out too.
        XCTAssertTrue(call("GET", "/v1/traces/2?format=nft").raw.contains("trace id 80000002 inet f out policy accept \n"))
    }
}
