import Foundation
import JSON
import XCTest

/// Sets and meters rules update with IPv6 addresses, as scripts/record_dynset6.sh recorded them on
/// Linux 6.18 (Cases/dynset6.txt): `add @seen6 { ip6 saddr }` then `ip6 saddr @seen6` finds it,
/// a meter's limit is per address, `delete @seen6` takes one out; the ruleset lists as nft listed
/// it after each step (each element's time left masked: the kernel's clock ran on).
final class DynamicSet6Tests: AppTestCase {
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
        func listing(after marker: String) -> String {
            guard let r = text.range(of: marker + "\n") else { return "" }
            let rest = text[r.upperBound...]
            guard let end = rest.range(of: "\n}\n") else { return "" }
            return String(rest[..<end.upperBound])
        }
        func masked(_ s: String) -> String { s.replacingOccurrences(of: #"expires [0-9hms]+"#, with: "expires X", options: .regularExpression) }
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
        XCTAssertEqual(masked(call("GET", "/v1/stacks/d6/ruleset").raw), masked(listing(after: "== listed")))
        // Kept by a checkpoint: the elements with their time left, and the meter's buckets.
        XCTAssertEqual(app.checkpoint(), ["d6"])
        try reopen()
        send([("2001:db8::9", 7003), ("2001:db8::9", 7001), ("2001:db8::9", 7003)])
        XCTAssertEqual(masked(call("GET", "/v1/stacks/d6/ruleset").raw), masked(listing(after: "== listed after delete")))
        send([("2001:db8::10", 7002)])
        let after = call("GET", "/v1/stacks/d6/ruleset").raw
        XCTAssertTrue(after.contains("udp dport 7002 counter packets 3 bytes 147 drop"), "::10's bucket came back spent: " + after)
    }
}
