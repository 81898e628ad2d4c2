import Foundation
import JSON
import XCTest

/// Conntrack accounting as scripts/record_ct_acct.sh recorded it on Linux 6.18 (Cases/ct_acct.txt):
/// loading a rule that reads `ct packets|bytes|avgpkt` turns net.netfilter.nf_conntrack_acct on,
/// so connections made afterwards count packets and bytes (the IP length) each way and one made
/// before reads 0; conntrack -L and the DESTROY event carry the counters. The same ruleset sets
/// marks from integer keys (`ct bytes`, `meta length`, `ct zone | 0x100`, `meta cpu & 0xff ^ 0x3`,
/// `ct original zone << 4`). Every counter of the listing and every conntrack line is compared.
final class ConntrackAcctTests: AppTestCase {
    private static let recorded: String = {
        (try? String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("ct_acct.txt"), encoding: .utf8)) ?? ""
    }()
    /// The lines between two markers of the recording.
    private func section(_ from: String, _ to: String?) -> [String] {
        let lines = Self.recorded.components(separatedBy: "\n")
        guard let a = lines.firstIndex(of: from) else { return [] }
        let rest = lines[(a + 1)...]
        let end = to.flatMap { rest.firstIndex(of: $0) } ?? rest.endIndex
        return Array(rest[..<end])
    }
    /// conntrack's seconds left masked (the kernel's clock ran on between the recorded packets).
    private func masked(_ lines: [String]) -> [String] {
        lines.map { $0.replacingOccurrences(of: #"^( *\[[A-Z]+\] )?(\S+ +[0-9]+) [0-9]+ "#, with: "$1$2 T ", options: .regularExpression) }.sorted()
    }

    private func udp(_ sport: Int, _ dport: Int) {
        let p = #"{"packets":[{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv4":{"src":"198.18.0.9"},"udp":{"sport":\#(sport),"dport":\#(dport)},"payload_hex":"78"}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks/a/packets", p).status, 200)
    }
    private func echo() {
        XCTAssertEqual(call("POST", "/v1/stacks/a/sockets/1/send", #"{"to":"198.18.0.9","port":4444,"payload":"yy"}"#).status, 200)
    }

    func testAccountingAsRecorded() throws {
        let listed = section("== listed", "== conntrack").joined(separator: "\n") + "\n"
        XCTAssertTrue(listed.contains("ct packets 1 counter packets 4 bytes 127"), "the recording is missing")
        let rules = listed.replacingOccurrences(of: #" counter packets [0-9]+ bytes [0-9]+"#, with: " counter", options: .regularExpression)
        let raw = rules.components(separatedBy: "table ip t {")[0]
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"a","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"neighbours":[{"address":"198.18.0.9","mac":"02:00:00:00:ff:01","dev":"va"}],"sockets":[{"port":53}]}"#).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/a/ruleset", raw, type: "text/plain").status, 200)
        udp(1111, 9)   // before accounting: this entry never counts
        XCTAssertEqual(call("PUT", "/v1/stacks/a/ruleset", rules, type: "text/plain").status, 200)
        udp(1111, 9); udp(2222, 9); udp(2222, 9); udp(3333, 7)
        udp(4444, 53); echo(); udp(4444, 53); echo()
        let tcp = [("syn", 1000), ("rst", 1001)].map { f, seq in
            #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv4":{"src":"198.18.0.9"},"tcp":{"sport":5555,"dport":5000,"flags":["\#(f)"],"seq":\#(seq)}}"#
        }
        XCTAssertEqual(call("POST", "/v1/stacks/a/packets", #"{"packets":[\#(tcp.joined(separator: ","))]}"#).status, 200)

        XCTAssertEqual(call("GET", "/v1/stacks/a/ruleset").raw, listed)
        let conntrack = call("GET", "/v1/stacks/a/conntrack", accept: "text/plain").raw
        XCTAssertEqual(masked(conntrack.components(separatedBy: "\n").filter { !$0.isEmpty }), masked(section("== conntrack", "== events").filter { !$0.isEmpty }))
        let destroyed = call("GET", "/v1/stacks/a/conntrack/events", accept: "text/plain").raw.components(separatedBy: "\n").filter { $0.contains("[DESTROY]") }
        XCTAssertEqual(masked(destroyed), masked(section("== events", nil).filter { !$0.isEmpty }))

        // The JSON form names each direction's counters; a checkpoint keeps them and the events.
        guard case .array(let items) = call("GET", "/v1/stacks/a/conntrack", accept: "application/json").json?["items"] ?? .null,
              let flow = items.first(where: { $0["original"]?["sport"] == .int(4444) }) else { return XCTFail("no 4444 entry") }
        XCTAssertEqual(flow["original"]?["packets"], .int(2)); XCTAssertEqual(flow["original"]?["bytes"], .int(58))
        XCTAssertEqual(flow["reply"]?["packets"], .int(2)); XCTAssertEqual(flow["reply"]?["bytes"], .int(60))
        XCTAssertNil(items.first(where: { $0["original"]?["sport"] == .int(1111) })?["original"]?["packets"])
        let events = call("GET", "/v1/stacks/a/conntrack/events", accept: "text/plain").raw
        XCTAssertEqual(app.checkpoint(), ["a"])
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/a/conntrack", accept: "text/plain").raw, conntrack)
        XCTAssertEqual(call("GET", "/v1/stacks/a/conntrack/events", accept: "text/plain").raw, events)
    }

    /// Accounting a rule turned on stays on when the rule goes (recorded: the sysctl read 0 before
    /// the load, 1 after it and 1 after `nft flush ruleset`), across a restart too.
    func testAccountingStaysOnAfterTheRuleGoes() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"a","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#).status, 201)
        let reads = "table ip t {\n\tchain i {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct packets 1 counter\n\t}\n}\n"
        XCTAssertEqual(call("PUT", "/v1/stacks/a/ruleset", reads, type: "text/plain").status, 200)
        XCTAssertEqual(call("PUT", "/v1/stacks/a/ruleset", reads.replacingOccurrences(of: "ct packets 1 counter", with: "ct state new counter"), type: "text/plain").status, 200)
        XCTAssertEqual(app.checkpoint(), ["a"])
        try reopen()
        let p = #"{"packets":[{"device":"va","ipv4":{"src":"198.18.0.9"},"udp":{"sport":1111,"dport":9},"payload_hex":"78"}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks/a/packets", p).status, 200)
        let line = call("GET", "/v1/stacks/a/conntrack", accept: "text/plain").raw
        XCTAssertTrue(line.contains("dport=9 packets=1 bytes=29 [UNREPLIED]"), line)
    }

    /// With net.netfilter.nf_conntrack_acct = 1 in the stack's document every connection counts,
    /// with no rule reading the counters; with the default (0) and no such rule none does.
    func testTheSysctlTurnsAccountingOn() throws {
        for (name, acct) in [("on", 1), ("off", 0)] {
            XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"\#(name)","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"sysctls":{"net.netfilter.nf_conntrack_acct":\#(acct)}}"#).status, 201)
            XCTAssertEqual(call("PUT", "/v1/stacks/\(name)/ruleset", "table ip t {\n\tchain i {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct state new counter\n\t}\n}\n", type: "text/plain").status, 200)
            let p = #"{"packets":[{"device":"va","ipv4":{"src":"198.18.0.9"},"udp":{"sport":1111,"dport":9},"payload_hex":"7878"}]}"#
            XCTAssertEqual(call("POST", "/v1/stacks/\(name)/packets", p).status, 200)
            let line = call("GET", "/v1/stacks/\(name)/conntrack", accept: "text/plain").raw
            XCTAssertTrue(line.contains(acct == 1 ? "dport=9 packets=1 bytes=30 [UNREPLIED]" : "dport=9 [UNREPLIED]"), line)
        }
    }
}
