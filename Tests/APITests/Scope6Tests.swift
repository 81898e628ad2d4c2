import Foundation
import JSON
import XCTest

/// sendto with a scope id (`fe80::9%w0`) and IPV6_MULTICAST_IF, as scripts/record_scope6.sh
/// recorded them on Linux 6.18 (Cases/scope6.txt): each datagram leaves by the device the kernel's
/// did, byte for byte but for the flow label (a keyed hash) and the UDP checksum (the kernel's veth
/// leaves the pseudo-header's partial sum on the wire).
final class Scope6Tests: AppTestCase {
    func testScopeIdsAndMulticastIfChooseTheDevice() throws {
        let doc = #"""
        {"name":"s","devices":[{"name":"v0","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]},{"name":"w0","mac":"02:00:00:00:00:02","addresses":["2001:db8:1::1/64"]}],
         "neighbours":[{"address":"fe80::ff:fe00:ff01","mac":"02:00:00:00:ff:01","dev":"v0"},{"address":"fe80::ff:fe00:ff01","mac":"02:00:00:00:ff:02","dev":"w0"},
                       {"address":"2001:db8:1::9","mac":"02:00:00:00:ff:02","dev":"w0"},{"address":"2001:db8::9","mac":"02:00:00:00:ff:01","dev":"v0"}],
         "sockets":[{"protocol":"udp","address":"::","port":5000}]}
        """#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        // The kernel's frames in order, by the device they left (v1's peer is v0, w1's w0).
        let kernel = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("scope6.txt"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("v1 ") || $0.hasPrefix("w1 ") }
            .map { ($0.hasPrefix("v1") ? "v0" : "w0") + " " + masked(String($0.dropFirst(3))) }
        func masked(_ hex: String) -> String {
            var c = Array(hex)
            for r in [15..<18, 60..<62] { for k in (2 * r.lowerBound)..<(2 * r.upperBound) { c[k] = "x" } }
            return String(c)
        }
        func sent(_ body: String) -> [String] {
            let r = call("POST", "/v1/stacks/s/sockets/1/send", body)
            guard case .array(let results) = r.json?["results"] ?? .null, case .array(let em) = results.first?["emitted"] ?? .null else { return [r.raw] }
            return em.compactMap { f in
                guard case .string(let d) = f["device"] ?? .null, case .string(let h) = f["hex"] ?? .null else { return nil }
                return d + " " + masked(h)
            }
        }
        var ours: [String] = []
        for (i, to) in ["fe80::ff:fe00:ff01", "fe80::ff:fe00:ff01%w0", "ff02::1", "ff02::1%w0", "2001:db8:1::9", "2001:db8::9%w0"].enumerated() {
            ours += sent(#"{"to":"\#(to)","port":6000,"payload_hex":"\#(String(0x61 + i, radix: 16))"}"#)
        }
        ours += sent(#"{"to":"ff02::1","port":6000,"payload_hex":"67","setsockopt":{"ipv6_multicast_if":"w0"}}"#)
        ours += sent(#"{"to":"ff02::1%v0","port":6000,"payload_hex":"68"}"#)
        XCTAssertEqual(ours, kernel)
        XCTAssertEqual(kernel.count, 8)
        // A scope id no device has (the kernel's ifindex 99): ENETUNREACH.
        XCTAssertTrue(call("POST", "/v1/stacks/s/sockets/1/send", #"{"to":"fe80::ff:fe00:ff01%99","port":6000,"payload_hex":"69"}"#).raw.contains(#""errno":"ENETUNREACH""#))
        // The option is kept with the socket; a device the stack lacks is ENODEV.
        XCTAssertTrue(call("GET", "/v1/stacks/s/sockets").raw.contains(#""ipv6_multicast_if":"w0""#))
        XCTAssertEqual(call("POST", "/v1/stacks/s/sockets/1/send", #"{"to":"ff02::1","port":6000,"setsockopt":{"ipv6_multicast_if":"nope"}}"#).status, 422)
    }
}
