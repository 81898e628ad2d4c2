import API
import Foundation
import HTTPServer
import JSON
import XCTest

/// POST packets with an NDJSON body: lines read in place and lines that take the JSON path give
/// the same packets; the query's rate_pps and start_ns space them; errors name the line.
final class NDJSONInjectionTests: AppTestCase {
    static let stack = #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]},{"name":"eth1","mac":"02:00:00:00:00:03","addresses":["198.19.0.2/24"]}],"sockets":[{"protocol":"udp","port":9}]}"#
    /// UDP 198.18.0.1:1000 -> 198.18.0.2:9, one byte "x", checksums right.
    static let hex = "02000000000202000000000108004500001d000000004011eea8c6120001c612000203e800090009f7c278"

    func ndjson(_ target: String, _ body: String) -> Reply {
        call("POST", target, body, type: "application/x-ndjson")
    }

    func testLinesInPlaceAndThroughTheParserGiveTheSamePackets() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let lines = [
            #"{"device":"eth0","hex":"\#(Self.hex)"}"#,                                   // in place
            #"  { "hex" : "\#(Self.hex)" , "at_ns" : 7000 , "device" : "eth0" }  "#,       // in place, spaced, other order
            "",                                                                           // blank: skipped
            #"{"device":"eth0","hex":"\#(Self.hex.uppercased())"}"#,                      // in place, upper-case digits
            #"{"device":"eth\u0030","hex":"\#(Self.hex)"}"#,                              // an escape: the parser's way
            #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":1000,"dport":9},"payload_hex":"78"}"#,
            #"{"device":"eth1","hex":"02:00:00:00:00:03 020000000001"}"#,                  // separators: the parser's way; ARP-less junk frame
        ]
        let r = ndjson("/v1/stacks/h/packets?trace=summary&start_ns=1000&rate_pps=1000000", lines.joined(separator: "\n") + "\n")
        XCTAssertEqual(r.status, 200, r.raw)
        guard case .array(let results) = r.json?["results"] ?? .null else { return XCTFail(r.raw) }
        XCTAssertEqual(results.count, 6)
        // rate_pps spaces the packets from start_ns by 1 µs; a line's at_ns wins.
        XCTAssertEqual(results.map { $0["start_ns"] }, [.int(1000), .int(7000), .int(3000), .int(4000), .int(5000), .int(6000)])
        XCTAssertEqual(results.map { $0["device"] }, [.string("eth0"), .string("eth0"), .string("eth0"), .string("eth0"), .string("eth0"), .string("eth1")])
        XCTAssertEqual(results.prefix(5).map { $0["outcome"] }, Array(repeating: .string("delivered"), count: 5))
        XCTAssertEqual(r.json?["packets"], .int(6))
        // The five UDP packets are the same bytes whichever way they came.
        let t = call("GET", "/v1/traces?stack=h&limit=10")
        guard case .array(let items) = t.json?["items"] ?? .null else { return XCTFail(t.raw) }
        XCTAssertEqual(items.count, 6)
    }

    func testErrorsNameTheLineAndChangeNothing() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let good = #"{"device":"eth0","hex":"\#(Self.hex)"}"#
        let cases: [(String, Int, String)] = [
            (good + "\n" + #"{"device":"eth9","hex":"\#(Self.hex)"}"#, 422, "/1/device"),
            (good + "\n\n" + #"{"device":"eth0","hex":"0g"}"#, 422, "/1/hex"),
            (good + "\n" + #"{"device":"eth0","hex":""}"#, 422, "/1/hex"),
            (good + "\n" + #"{"device":"eth0","hex":"\#(Self.hex)","at_ns":01}"#, 400, ""),
            (good + "\n" + #"{"device":"eth0","hex":"\#(Self.hex)","bogus":1}"#, 400, "/1/bogus"),
            (good + "\n" + #"{"device":"eth0","hex":"\#(Self.hex)","at_ns":99999999999999999999}"#, 400, "/1/at_ns"),
        ]
        for (body, status, pointer) in cases {
            let r = ndjson("/v1/stacks/h/packets", body)
            XCTAssertEqual(r.status, status, body + " -> " + r.raw)
            if !pointer.isEmpty { XCTAssertEqual(r.json?["pointer"], .string(pointer), r.raw) }
        }
        // A syntax error gives the body's line (third line here) and the offset in the body.
        let bad = good + "\n\n" + #"{"device":"eth0","hex":}"#
        let r = ndjson("/v1/stacks/h/packets", bad)
        XCTAssertEqual(r.status, 400, r.raw)
        XCTAssertEqual(r.json?["line"], .int(3), r.raw)
        XCTAssertEqual(r.json?["offset"], .int(good.utf8.count + 2 + 23), r.raw)
        // Nothing ran: no packets counted, no traces.
        XCTAssertEqual(ndjson("/v1/stacks/h/packets", "\n  \n").status, 422)
        XCTAssertEqual(call("GET", "/v1/traces?stack=h").json?["items"], .array([]))
        // Query fields that belong to other bodies are refused.
        XCTAssertEqual(ndjson("/v1/stacks/h/packets?device=eth0", good).status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?rate_pps=10", #"{"packets":[\#(good)]}"#).status, 400)
    }
}
