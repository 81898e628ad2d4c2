import Foundation
import JSON
import XCTest

/// Ping sockets as scripts/record_ping.sh recorded them on Linux 6.18 (Cases/ping.txt): refused
/// under the default net.ipv4.ping_group_range, the echo request as the kernel sent it (its IP ID,
/// flow label, identifier and checksum masked where the kernel's global rover chose the
/// identifier), the reply read back header and all, what the kernel refused.
final class PingSocketTests: AppTestCase {
    private let neighbours = #""neighbours":[{"address":"198.18.0.9","mac":"02:00:00:00:ff:01","dev":"va"},{"address":"2001:db8::9","mac":"02:00:00:00:ff:01","dev":"va"}]"#
    private func stack(_ name: String, sysctls: String = "{}") -> String {
        #"{"name":"\#(name)","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]}],\#(neighbours),"sysctls":\#(sysctls)}"#
    }
    /// The kernel's frames: pa's sends (pkttype 0), in order.
    private func kernelSends() throws -> [String] {
        try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("ping.txt"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("0 ") }.map { String($0.split(separator: " ")[1]) }
    }
    /// Hex with the characters in `ranges` (offsets in bytes) replaced by x.
    private func masked(_ hex: String, _ ranges: [Range<Int>]) -> String {
        var c = Array(hex)
        for r in ranges { for k in (2 * r.lowerBound)..<min(2 * r.upperBound, c.count) { c[k] = "x" } }
        return String(c)
    }
    private func send(_ stack: String, _ socket: Int, _ body: String) -> (outcome: String, errno: String?, frames: [String]) {
        let r = call("POST", "/v1/stacks/\(stack)/sockets/\(socket)/send", body)
        guard case .array(let results) = r.json?["results"] ?? .null, let x = results.first else { return (r.raw, nil, []) }
        var frames: [String] = []
        if case .array(let em) = x["emitted"] ?? .null { for f in em { if case .string(let h) = f["hex"] ?? .null { frames.append(h) } } }
        let errno: String? = if case .string(let e) = x["errno"] ?? .null { e } else { nil }
        let outcome: String = if case .string(let o) = x["outcome"] ?? .null { o } else { "?" }
        return (outcome, errno, frames)
    }
    private func recv(_ stack: String, _ socket: Int) -> [String] {
        guard case .array(let d) = call("POST", "/v1/stacks/\(stack)/sockets/\(socket)/recv").json?["datagrams"] ?? .null else { return [] }
        return d.map { x in
            let src: String = if case .string(let s) = x["src"] ?? .null { s } else { "?" }
            let hex: String = if case .string(let h) = x["payload_hex"] ?? .null { h } else { "?" }
            return src + " " + hex
        }
    }

    func testPingSocketsAsTheKernelRanThem() throws {
        let kernel = try kernelSends()
        // "1 0" by default: no group may, root included.
        XCTAssertEqual(call("POST", "/v1/stacks", stack("p")).status, 201)
        let refused = call("POST", "/v1/stacks/p/sockets", #"{"protocol":"icmp"}"#)
        XCTAssertEqual(refused.status, 422)
        XCTAssertTrue(refused.raw.contains("socket: Permission denied (EACCES)"), refused.raw)

        XCTAssertEqual(call("POST", "/v1/stacks", stack("q", sysctls: #"{"net.ipv4.ping_group_range":"0 2147483647"}"#)).status, 201)
        XCTAssertTrue(call("POST", "/v1/stacks/q/sockets", #"{"protocol":"icmp"}"#).raw.contains(#""port":1,"#), "a fresh kernel's first identifier")
        // IP ID 18-19, IP checksum 24-25, ICMP checksum 36-37, identifier 38-39.
        let ipv4Mask = [18..<20, 24..<26, 36..<40]
        let hello = send("q", 1, #"{"to":"198.18.0.9","payload_hex":"080000001234000168656c6c6f"}"#)
        XCTAssertEqual(hello.outcome, "transmitted")
        XCTAssertEqual(hello.frames.map { masked($0, ipv4Mask) }, [masked(kernel[0], ipv4Mask)])
        XCTAssertEqual(hello.frames.first.map { String(Array($0)[76..<80]) }, "0001", "the socket's identifier, not the 0x1234 written")
        for bad in ["0000000000010001", "0801000000010001", "080000"] {
            XCTAssertEqual(send("q", 1, #"{"to":"198.18.0.9","payload_hex":"\#(bad)"}"#).errno, "EINVAL", bad)
        }
        let reply = #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv4":{"src":"198.18.0.9"},"icmp":{"type":0,"id":1,"seq":1},"payload_hex":"68656c6c6f"}"#
        XCTAssertEqual(call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply)]}"#).status, 200)
        // The kernel read 0000c46df7be000168656c6c6f (identifier f7be): c46d moved by the identifier.
        XCTAssertEqual(recv("q", 1), ["198.18.0.9 0000bc2b0001000168656c6c6f"])

        // Bound to identifier 77: the frame and the reply exact.
        XCTAssertTrue(call("POST", "/v1/stacks/q/sockets", #"{"protocol":"icmp","port":77}"#).raw.contains(#""port":77,"#))
        XCTAssertEqual(call("POST", "/v1/stacks/q/sockets", #"{"protocol":"icmp","port":77}"#).status, 409)
        let x = send("q", 2, #"{"to":"198.18.0.9","payload_hex":"080000000000000278"}"#)
        XCTAssertEqual(x.frames.map { masked($0, [18..<20, 24..<26]) }, [masked(kernel[1], [18..<20, 24..<26])])
        let reply77 = #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv4":{"src":"198.18.0.9"},"icmp":{"type":0,"id":77,"seq":2},"payload_hex":"78"}"#
        XCTAssertEqual(call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply77)]}"#).status, 200)
        XCTAssertEqual(recv("q", 2), ["198.18.0.9 000087b0004d000278"])
        // A reply no socket's identifier holds.
        let stray = call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply77.replacingOccurrences(of: "\"id\":77", with: "\"id\":78"))]}"#)
        XCTAssertTrue(stray.raw.contains(#""drop_reason":"NO_SOCKET""#), stray.raw)
        // To a host without a neighbour: an ARP request leaves, the echo is counted all the same.
        // Binding 77 did not move the rover: the next identifier is 2.
        XCTAssertTrue(call("POST", "/v1/stacks/q/sockets", #"{"protocol":"icmp"}"#).raw.contains(#""port":2,"#))
        XCTAssertEqual(send("q", 3, #"{"to":"198.18.0.99","payload_hex":"0800000000000003"}"#).frames.map { String($0.prefix(28)) }, ["ffffffffffff0200000000010806"])
        XCTAssertEqual(call("POST", "/v1/stacks/q/sockets/3/connect", #"{"to":"198.18.0.9","port":1}"#).status, 422, "connect is not modelled for ping sockets")
        // 65,515 bytes leave in 45 fragments (FragCreates 45 on the kernel); one more is EMSGSIZE.
        let big = "0800000000000005" + String(repeating: "00", count: 65_515 - 8)
        XCTAssertEqual(send("q", 3, #"{"to":"198.18.0.9","payload_hex":"\#(big)"}"#).frames.count, 45)
        XCTAssertEqual(send("q", 3, #"{"to":"198.18.0.9","payload_hex":"\#(big)00"}"#).errno, "EMSGSIZE")

        // AF_INET6: flow label 15-17, identifier 58-59, checksum 56-57 masked.
        XCTAssertTrue(call("POST", "/v1/stacks/q/sockets", #"{"protocol":"icmpv6"}"#).raw.contains(#""port":3,"#))
        let six = send("q", 4, #"{"to":"2001:db8::9","payload_hex":"800000001234000168656c6c6f36"}"#)
        let ipv6Mask = [15..<18, 56..<60]
        XCTAssertEqual(six.frames.map { masked($0, ipv6Mask) }, [masked(kernel.last!, ipv6Mask)])
        for bad in ["0800000000010001", "8001000000010001"] {
            XCTAssertEqual(send("q", 4, #"{"to":"2001:db8::9","payload_hex":"\#(bad)"}"#).errno, "EINVAL", bad)
        }
        let reply6 = #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv6":{"src":"2001:db8::9"},"icmpv6":{"type":129,"id":3,"seq":1},"payload_hex":"68656c6c6f36"}"#
        XCTAssertEqual(call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply6)]}"#).status, 200)
        // The kernel read 8100e770f7c0000168656c6c6f36 (identifier f7c0): e770 moved by the identifier.
        XCTAssertEqual(recv("q", 4), ["2001:db8::9 8100df2e0003000168656c6c6f36"])
        // The kernel's IcmpMsg OutType8 5, InType0 4 include a connected socket's echo and reply.
        let stats = call("GET", "/v1/stacks/q/stats").raw
        XCTAssertTrue(stats.contains(#""IcmpMsg":{"InType0":3,"OutType8":4}"#), stats)
        // An unread reply and the identifiers survive a restart.
        XCTAssertEqual(call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply6)]}"#).status, 200)
        XCTAssertEqual(app.checkpoint(), ["q"])
        try reopen()
        XCTAssertEqual(recv("q", 4), ["2001:db8::9 8100df2e0003000168656c6c6f36"])
        XCTAssertTrue(call("GET", "/v1/stacks/q/sockets").raw.contains(#""protocol":"icmp","address":"0.0.0.0","port":77,"#))
    }
}
