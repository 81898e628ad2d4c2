import API
import Foundation
import HTTPServer
import JSON
import TestSupport
import Wire
import XCTest

/// Captures in (POST packets with a pcap or pcapng body) and out (GET /v1/traces?format=pcapng).
final class CaptureTests: AppTestCase {
    static let pcap = TestCaptures.scapy

    func raw(_ method: String, _ target: String, _ body: [UInt8], type: String) -> HTTPResponse {
        app.respond(to: HTTPRequest(method: method, target: target, headers: [HTTPHeader("content-type", type)], body: body))
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

    /// Stack h's dropped packets by drop reason, from /metrics.
    func outcomeMetrics() -> [String: Int] {
        var out: [String: Int] = [:]
        for line in call("GET", "/metrics").raw.split(separator: "\n") where line.hasPrefix(#"packetstack_packet_outcomes_total{stack="h",outcome="dropped",drop_reason=""#) {
            let reason = line.split(separator: "\"")[5]
            out[String(reason)] = Int(line.split(separator: " ").last!)
        }
        return out
    }

    /// Every line of a streamed answer.
    func lines(_ r: HTTPResponse) -> [String] {
        var out: [String] = []
        while let piece = r.stream?.next() { out.append(String(decoding: piece, as: UTF8.self)) }
        return out
    }

    /// `?progress=N` runs a capture N packets at a time from the file the server spooled it to,
    /// one line per piece; `sample:2` counts packets across pieces; a capture cut short ends
    /// the stream with an error line after the pieces that ran.
    func testProgressRunsACaptureInPiecesFromItsFile() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}]}"#).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "table inet f {\n chain input { type filter hook input priority 0; udp dport 54 counter drop\n }\n}\n", type: "text/plain").status, 200)
        let bytes = TestCaptures.udp(7)
        XCTAssertEqual(bytes.count, 437)
        let file = try XCTUnwrap(SpooledBody(directory: dir.path))
        XCTAssertTrue(bytes.withUnsafeBytes { file.append($0) })
        var req = HTTPRequest(method: "POST", target: "/v1/stacks/h/packets?device=eth0&start_ns=5000000000&progress=3&trace=sample:2",
                              headers: [HTTPHeader("content-type", "application/vnd.tcpdump.pcap")])
        req.spooled = file
        let r = app.respond(to: req)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers.first { $0.name == "content-type" }?.value, "application/x-ndjson")
        XCTAssertEqual(lines(r), [
            #"{"bytes":437,"of":437,"packets":3,"outcomes":{"dropped":3},"traces":2,"start_ns":5000000000,"clock_ns":5200000500}"# + "\n",
            #"{"bytes":437,"of":437,"packets":6,"outcomes":{"dropped":6},"traces":3,"start_ns":5000000000,"clock_ns":5500000500}"# + "\n",
            #"{"bytes":437,"of":437,"packets":7,"outcomes":{"dropped":7},"traces":4,"start_ns":5000000000,"clock_ns":5600000500,"done":true,"trace":"sample:2","durable":false}"# + "\n",
        ])
        let stored = call("GET", "/v1/traces?stack=h&limit=10")
        guard case .array(let traces) = stored.json?["items"] ?? .null else { return XCTFail(stored.raw) }
        XCTAssertEqual(traces.map { $0["start_ns"] }, [.int(5_000_000_000), .int(5_200_000_000), .int(5_400_000_000), .int(5_600_000_000)])
        XCTAssertEqual(call("GET", "/v1/stacks/h/stats").json?["clock_ns"], .int(5_600_000_500))
        XCTAssertEqual(outcomeMetrics(), ["NETFILTER_DROP": 2, "NO_SOCKET": 5])

        // Cut inside its 5th record: the first piece runs, then the error.
        let cut = app.respond(to: HTTPRequest(method: "POST", target: "/v1/stacks/h/packets?device=eth0&progress=3&trace=none",
                                              headers: [HTTPHeader("content-type", "application/vnd.tcpdump.pcap")], body: Array(bytes[0..<(24 + 59 * 4 + 20)])))
        XCTAssertEqual(lines(cut), [
            #"{"bytes":280,"of":280,"packets":3,"outcomes":{"dropped":3},"traces":0,"start_ns":5600000500,"clock_ns":5800001000}"# + "\n",
            #"{"error":{"type":"urn:packetstack:problem:invalid-capture","title":"Bad Request","status":400,"detail":"the capture is not a pcap or pcapng file this reads: at byte 268: packet of 43 bytes runs past the end of the file"},"packets":3}"# + "\n",
        ])
        // Refusals before anything runs.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?progress=3", #"{"packets":[]}"#).status, 400)
        XCTAssertEqual(raw("POST", "/v1/stacks/h/packets?device=eth0&progress=0", bytes, type: "application/vnd.tcpdump.pcap").status, 400)
        XCTAssertEqual(raw("POST", "/v1/stacks/h/packets?device=eth0&progress=3", Array(bytes[0..<24]), type: "application/vnd.tcpdump.pcap").status, 422)
        // Without progress, a capture over --max-packets is refused as soon as the reading passes it.
        let big = raw("POST", "/v1/stacks/h/packets?device=eth0", TestCaptures.udp(10_001), type: "application/vnd.tcpdump.pcap")
        XCTAssertEqual(big.status, 422)
        XCTAssertTrue(String(decoding: big.body, as: UTF8.self).contains("holds more than 10000 packets"))
        XCTAssertEqual(outcomeMetrics(), ["NETFILTER_DROP": 3, "NO_SOCKET": 7])
    }
}
