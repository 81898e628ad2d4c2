import API
import Foundation
import HTTPServer
import JSON
import TestSupport
import Wire
import XCTest

/// Captures in (POST packets with a pcap or pcapng body) and out (GET /v1/traces?format=pcapng).
final class CaptureTests: AppTestCase {
    /// Scapy's wrpcap: UDP 198.18.0.1:1000 to 198.18.0.2 ports 53, 54, 22 at 0, 0.25 and 1.5 s.
    static let pcap = "d4c3b2a1020004000000000000000000ffff00000100000000f15365000000002b0000002b00000002000000000202000000000108004500001d000000004011eea8c6120001c612000203e800350009f7967800f1536590d003002b0000002b00000002000000000202000000000108004500001d000100004011eea7c6120001c612000203e800360009f7957801f1536520a107002b0000002b00000002000000000202000000000108004500001d000200004011eea6c6120001c612000203e800160009f7b578"

    func raw(_ method: String, _ target: String, _ body: [UInt8], type: String) -> HTTPResponse {
        app.respond(to: HTTPRequest(method: method, target: target, headers: [("content-type", type)], body: body))
    }

    func testCaptureInjectedWithItsSpacingAndExportedWithComments() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}]}"#).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "table inet f {\n chain input { type filter hook input priority 0; udp dport 54 counter drop\n }\n}\n", type: "text/plain").status, 200)
        let r = raw("POST", "/v1/stacks/h/packets?device=eth0&start_ns=5000000000", try Hex.decode(Self.pcap), type: "application/vnd.tcpdump.pcap")
        XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
        let doc = try JSONParser.parse(r.body)
        guard case .array(let results) = doc["results"] ?? .null else { return XCTFail("no results") }
        XCTAssertEqual(results.map { $0["start_ns"] }, [.int(5_000_000_000), .int(5_250_000_000), .int(6_500_000_000)])
        XCTAssertEqual(results.map { $0["drop_reason"] }, [.string("NO_SOCKET"), .string("NETFILTER_DROP"), .string("NO_SOCKET")])
        // Refusals: no device, an unknown one, bytes that are no capture.
        XCTAssertEqual(raw("POST", "/v1/stacks/h/packets", try Hex.decode(Self.pcap), type: "application/vnd.tcpdump.pcap").status, 400)
        XCTAssertEqual(raw("POST", "/v1/stacks/h/packets?device=eth9", try Hex.decode(Self.pcap), type: "application/vnd.tcpdump.pcap").status, 422)
        XCTAssertEqual(raw("POST", "/v1/stacks/h/packets?device=eth0", Array("not a capture at all".utf8), type: "application/x-pcapng").status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?device=eth0", "{}").status, 400)

        // Out: each packet as it arrived, then what the stack sent (the port unreachables), with comments.
        let out = app.respond(to: HTTPRequest(method: "GET", target: "/v1/traces?stack=h&format=pcapng"))
        XCTAssertEqual(out.status, 200)
        XCTAssertEqual(out.headers.first { $0.name == "content-type" }?.value, "application/x-pcapng")
        let packets = try PCAP.read(out.body)
        XCTAssertEqual(packets.map(\.timeNs), [5_000_000_000, 5_000_001_600, 5_250_000_000, 6_500_000_000, 6_500_001_600])
        XCTAssertEqual(packets.map(\.frame.count), [43, 71, 43, 43, 71])
        XCTAssertEqual(packets[0].frame, Array(try Hex.decode(Self.pcap)[40..<83]))
        let text = String(decoding: out.body, as: UTF8.self)
        for c in ["trace 1: dropped (NO_SOCKET); inet f input policy accept", "trace 2: dropped (NETFILTER_DROP); inet f input handle 2 drop",
                  "trace 1: sent by the stack", "h:eth0"] {
            XCTAssertTrue(text.contains(c), c)
        }
        XCTAssertEqual(call("GET", "/v1/traces?format=pcap").status, 400)
    }
}
