import Foundation
import JSON
import XCTest

/// SO_BINDTODEVICE and scope ids on bind and connect as scripts/record_bindtodevice.sh recorded
/// them on Linux 6.18 (Cases/bindtodevice.txt): sockets on one port bound to two devices, what
/// each takes (what arrives on its device, whatever the address), what a send from a bound socket
/// does (a route through the device, else, over IPv4, the peer taken to be on its link: ARP on
/// va for a vc address; over IPv6 ENETUNREACH), link-local binds and connects needing a device.
final class BindToDeviceTests: AppTestCase {
    private let doc = #"""
    {"name":"d","devices":[{"name":"va","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]},
                           {"name":"vc","mac":"02:00:00:00:00:02","addresses":["198.19.0.1/24","2001:db9::1/64"]}],
     "neighbours":[{"address":"198.18.0.9","mac":"02:00:00:00:ff:01","dev":"va"},{"address":"198.19.0.9","mac":"02:00:00:00:ff:02","dev":"vc"},
                   {"address":"2001:db8::9","mac":"02:00:00:00:ff:01","dev":"va"},{"address":"2001:db9::9","mac":"02:00:00:00:ff:02","dev":"vc"},
                   {"address":"fe80::ff:fe00:ff01","mac":"02:00:00:00:ff:01","dev":"va"}]}
    """#
    private func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }
    private func masked(_ hex: String, _ ranges: [Range<Int>]) -> String {
        var c = Array(hex)
        for r in ranges { for k in (2 * r.lowerBound)..<min(2 * r.upperBound, c.count) { c[k] = "x" } }
        return String(c)
    }
    private func socket(_ body: String) -> (status: Int, text: String) {
        let r = call("POST", "/v1/stacks/d/sockets", body)
        return (r.status, r.raw)
    }
    /// A send's answer: its errno, or the device and frames it emitted.
    private func send(_ id: Int, _ body: String) -> (errno: String?, device: String?, frames: [String]) {
        let r = call("POST", "/v1/stacks/d/sockets/\(id)/send", body)
        guard case .array(let results)? = r.json?["results"], let x = results.first else { return (r.raw, nil, []) }
        var frames: [String] = []
        if case .array(let em)? = x["emitted"] { for f in em { if case .string(let h)? = f["hex"] { frames.append(h) } } }
        let errno: String? = if case .string(let e)? = x["errno"] { e } else { nil }
        let device: String? = if case .string(let d)? = x["device"] { d } else { nil }
        return (errno, device, frames)
    }
    private func recv(_ id: Int) -> [String] {
        guard case .array(let d)? = call("POST", "/v1/stacks/d/sockets/\(id)/recv").json?["datagrams"] else { return [] }
        return d.compactMap { if case .string(let h)? = $0["payload_hex"] { h } else { nil } }
    }

    func testBoundSocketsAsTheKernelRanThem() throws {
        let text = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("bindtodevice.txt"), encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        guard let vb = lines.firstIndex(of: "== frames vb"), let vd = lines.firstIndex(of: "== frames vd") else { return XCTFail("no frames") }
        let kernelVb = Array(lines[(vb + 1)..<vd])
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)

        // One port, two devices; a third socket without one clashes with both; no such device.
        XCTAssertEqual(socket(#"{"protocol":"udp","port":5000,"bindtodevice":"va"}"#).status, 201)
        XCTAssertEqual(socket(#"{"protocol":"udp","port":5000,"bindtodevice":"vc"}"#).status, 201)
        XCTAssertEqual(socket(#"{"protocol":"udp","port":5000}"#).status, 409)
        let nope = socket(#"{"protocol":"udp","port":5001,"bindtodevice":"nope"}"#)
        XCTAssertTrue(nope.status == 422 && nope.text.contains("ENODEV"), nope.text)
        XCTAssertTrue(call("GET", "/v1/stacks/d/sockets").raw.contains(#""port":5000,"bindtodevice":"va""#))
        XCTAssertEqual(socket(#"{"protocol":"udp","address":"::","port":6000,"bindtodevice":"va"}"#).status, 201)   // 3: D
        XCTAssertEqual(socket(#"{"protocol":"udp","address":"::","port":6001}"#).status, 201)   // 4: E
        // A link-local address needs a scope id (EINVAL), which binds the socket to its device.
        let unscoped = socket(#"{"protocol":"udp","address":"fe80::ff:fe00:1","port":6002}"#)
        XCTAssertTrue(unscoped.status == 422 && unscoped.text.contains("EINVAL"), unscoped.text)
        XCTAssertTrue(socket(#"{"protocol":"udp","address":"fe80::ff:fe00:1%va","port":6002}"#).text.contains(#""bindtodevice":"va""#))   // 5: F
        XCTAssertEqual(socket(#"{"protocol":"udp","address":"::","port":6003}"#).status, 201)   // 6: G
        XCTAssertEqual(call("POST", "/v1/stacks/d/sockets/6/connect", #"{"to":"fe80::ff:fe00:ff01","port":7000}"#).json?["errno"], .string("EINVAL"))
        XCTAssertEqual(call("POST", "/v1/stacks/d/sockets/6/connect", #"{"to":"fe80::ff:fe00:ff01%va","port":7000}"#).json?["socket"]?["bindtodevice"], .string("va"))

        // Sends. IPv4: IP ID and checksums masked (the kernel's UDP sum is a veth's partial one).
        let v4 = [18..<20, 24..<26, 40..<42], v6 = [15..<18, 60..<62]
        let toPb = send(1, #"{"to":"198.18.0.9","port":7000,"payload_hex":"\#(hex("A-to-pb"))"}"#)
        XCTAssertEqual(toPb.frames.map { masked($0, v4) }, [masked(kernelVb[0], v4)])
        // A vc address from a socket bound to va: no route through va, so it is taken to be on
        // va's link: ARP asks for it there.
        let toPc = send(1, #"{"to":"198.19.0.9","port":7000,"payload_hex":"\#(hex("A-to-pc"))"}"#)
        XCTAssertEqual([toPc.device, toPc.frames.first], ["va", kernelVb[2]])
        let ll = send(3, #"{"to":"fe80::ff:fe00:ff01","port":7000,"payload_hex":"\#(hex("D-ll"))"}"#)
        XCTAssertEqual(ll.frames.map { masked($0, v6) }, [masked(kernelVb[3], v6)])
        XCTAssertEqual(send(3, #"{"to":"2001:db9::9","port":7000,"payload_hex":"\#(hex("D-to-pc"))"}"#).errno, "ENETUNREACH")
        XCTAssertEqual(send(4, #"{"to":"fe80::ff:fe00:ff01","port":7000,"payload_hex":"\#(hex("E-ll"))"}"#).frames.map { masked($0, v6) }, [masked(kernelVb[5], v6)])
        XCTAssertEqual(send(6, #"{"payload_hex":"\#(hex("G-connected"))"}"#).frames.map { masked($0, v6) }, [masked(kernelVb[6], v6)])

        // Receives: by the device a datagram came in on, whichever address it was for.
        func udp(_ dev: String, _ mac: String, _ src: String, _ dst: String, _ port: Int, _ payload: String) -> String {
            let ip = src.contains(":") ? #""ipv6":{"src":"\#(src)","dst":"\#(dst)"}"# : #""ipv4":{"src":"\#(src)","dst":"\#(dst)"}"#
            return #"{"device":"\#(dev)","eth":{"src":"\#(mac)"},\#(ip),"udp":{"sport":40000,"dport":\#(port)},"payload_hex":"\#(hex(payload))"}"#
        }
        let pb = "02:00:00:00:ff:01", pc = "02:00:00:00:ff:02"
        let packets = [udp("va", pb, "198.18.0.9", "198.18.0.1", 5000, "pb-to-.18.0.1"), udp("va", pb, "198.18.0.9", "198.19.0.1", 5000, "pb-to-.19.0.1"),
                       udp("vc", pc, "198.19.0.9", "198.19.0.1", 5000, "pc-to-.19.0.1"), udp("vc", pc, "198.19.0.9", "198.18.0.1", 5000, "pc-to-.18.0.1"),
                       udp("va", pb, "2001:db8::9", "2001:db8::1", 6000, "pb-to-db8::1"), udp("va", pb, "2001:db8::9", "2001:db9::1", 6000, "pb-to-db9::1"),
                       udp("vc", pc, "2001:db9::9", "2001:db8::1", 6000, "pc-to-db8::1")]
        let got = call("POST", "/v1/stacks/d/packets", #"{"packets":[\#(packets.joined(separator: ","))]}"#)
        XCTAssertTrue(got.raw.contains(#""drop_reason":"NO_SOCKET""#), got.raw)
        XCTAssertEqual(recv(1), [hex("pb-to-.18.0.1"), hex("pb-to-.19.0.1")])
        XCTAssertEqual(recv(2), [hex("pc-to-.19.0.1"), hex("pc-to-.18.0.1")])
        XCTAssertEqual(recv(3), [hex("pb-to-db8::1"), hex("pb-to-db9::1")])
        // A listener bound to va: a SYN on va is answered, one on vc reset.
        XCTAssertEqual(socket(#"{"protocol":"tcp","port":80,"bindtodevice":"va"}"#).status, 201)
        let syns = call("POST", "/v1/stacks/d/packets", #"""
        {"packets":[{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv4":{"src":"198.18.0.9","dst":"198.18.0.1"},"tcp":{"sport":40000,"dport":80,"flags":["syn"]}},
                    {"device":"vc","eth":{"src":"02:00:00:00:ff:02"},"ipv4":{"src":"198.19.0.9","dst":"198.18.0.1"},"tcp":{"sport":40001,"dport":80,"flags":["syn"]}}]}
        """#).json
        guard case .array(let results)? = syns?["results"], results.count == 2 else { return XCTFail("no results") }
        let flags = results.map { r -> String in
            guard case .array(let em)? = r["emitted"], case .string(let h)? = em.first?["hex"] else { return "none" }
            return String(Array(h)[94..<96])   // the TCP flags byte
        }
        XCTAssertEqual(flags, ["12", "14"], "SYN-ACK on va, RST-ACK on vc")
        // The kernel's counters.
        let stats = call("GET", "/v1/stacks/d/stats").json
        XCTAssertEqual(["InDatagrams", "OutDatagrams"].map { stats?["snmp"]?["Udp"]?[$0] }, [4, 2].map { .int($0) })
        XCTAssertEqual(["Udp6InDatagrams", "Udp6NoPorts", "Udp6OutDatagrams"].map { stats?["snmp6"]?[$0] }, [2, 1, 3].map { .int($0) })

        // Kept across a restart; setsockopt moves a socket to another device or unbinds it.
        try reopen()
        let listed = call("GET", "/v1/stacks/d/sockets").raw
        XCTAssertTrue(listed.contains(#""address":"fe80::ff:fe00:1","v6only":false,"port":6002,"bindtodevice":"va""#), listed)
        XCTAssertEqual(call("POST", "/v1/stacks/d/packets", #"{"packets":[\#(udp("vc", pc, "198.19.0.9", "198.19.0.1", 5000, "again"))]}"#).status, 200)
        XCTAssertEqual(recv(2), [hex("again")])
        XCTAssertEqual(call("POST", "/v1/stacks/d/sockets/3/setsockopt", #"{"bindtodevice":""}"#).status, 200)
        XCTAssertEqual(send(3, #"{"to":"2001:db9::9","port":7000,"payload_hex":"00"}"#).device, "vc")
        XCTAssertEqual(call("POST", "/v1/stacks/d/sockets/3/setsockopt", #"{"bindtodevice":"nope"}"#).status, 422)
    }
}
