import Foundation
import JSON
import XCTest

/// Ping sockets as scripts/record_ping.sh and record_ping_err.sh recorded them on Linux 6.18
/// (Cases/ping.txt, ping_err.txt): refused under the default net.ipv4.ping_group_range, the echo request as the kernel sent it (its IP ID,
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
        // Connected: sends without an address go to the peer (the kernel's identifier f7bf read 083c).
        XCTAssertTrue(call("POST", "/v1/stacks/q/sockets/3/connect", #"{"to":"198.18.0.9"}"#).raw.contains(#""address":"198.18.0.1","port":2,"#))
        let connected = send("q", 3, #"{"payload_hex":"0800000000000004"}"#)
        XCTAssertEqual(connected.frames.map { masked($0, ipv4Mask) }, [masked(kernel[2], ipv4Mask)])
        let reply4 = reply77.replacingOccurrences(of: #""id":77,"seq":2},"payload_hex":"78""#, with: #""id":2,"seq":4},"payload_hex":"""#)
        XCTAssertEqual(call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply4)]}"#).status, 200)
        XCTAssertEqual(recv("q", 3), ["198.18.0.9 0000fff900020004"])
        // 65,515 bytes leave in 45 fragments (FragCreates 45 on the kernel); one more is EMSGSIZE.
        let big = "0800000000000005" + String(repeating: "00", count: 65_515 - 8)
        XCTAssertEqual(send("q", 3, #"{"payload_hex":"\#(big)"}"#).frames.count, 45)
        XCTAssertEqual(send("q", 3, #"{"payload_hex":"\#(big)00"}"#).errno, "EMSGSIZE")

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
        let stats = call("GET", "/v1/stacks/q/stats").raw
        XCTAssertTrue(stats.contains(#""IcmpMsg":{"InType0":4,"OutType8":5}"#), stats)
        // An unread reply and the identifiers survive a restart.
        XCTAssertEqual(call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(reply6)]}"#).status, 200)
        XCTAssertEqual(app.checkpoint(), ["q"])
        try reopen()
        XCTAssertEqual(recv("q", 4), ["2001:db8::9 8100df2e0003000168656c6c6f36"])
        XCTAssertTrue(call("GET", "/v1/stacks/q/sockets").raw.contains(#""protocol":"icmp","address":"0.0.0.0","port":77,"#))
    }

    /// scripts/record_ping_err.sh (Cases/ping_err.txt): connect, and ICMP errors about echo
    /// requests (ping_err). pb rejected echo requests by sequence number; here each error is the
    /// peer's answer quoting the frame the model sent, as nft's reject quoted the kernel's.
    func testConnectAndErrorsAsTheKernelRanThem() throws {
        let text = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("ping_err.txt"), encoding: .utf8)
        guard let cut = text.range(of: "== frames\n") else { return XCTFail("no frames in the case") }
        let kernel = text[cut.upperBound...].split(separator: "\n").map(String.init)
        XCTAssertEqual(kernel.count, 12)
        XCTAssertEqual(call("POST", "/v1/stacks", stack("e", sysctls: #"{"net.ipv4.ping_group_range":"0 2147483647"}"#)).status, 201)
        /// The peer's ICMP error (type, code) quoting `frame`.
        func answer(_ frame: String, type: Int, code: Int) {
            let v6 = frame.dropFirst(24).hasPrefix("86dd")
            let ip = v6 ? #""ipv6":{"src":"2001:db8::9"},"icmpv6""# : #""ipv4":{"src":"198.18.0.9"},"icmp""#
            let err = #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},\#(ip):{"type":\#(type),"code":\#(code)},"payload_hex":"\#(frame.dropFirst(28))"}"#
            XCTAssertEqual(call("POST", "/v1/stacks/e/packets", #"{"packets":[\#(err)]}"#).status, 200)
        }
        /// What recv answers: its errno, "EAGAIN" when nothing waits, or the data.
        func recvd(_ socket: Int) -> String {
            let r = call("POST", "/v1/stacks/e/sockets/\(socket)/recv").json
            if case .string(let e)? = r?["errno"] { return e }
            return r?["datagrams"] == .array([]) ? "EAGAIN" : "data"
        }
        /// Sends, has the peer answer the frame with an error, and reads the socket.
        func rejected(_ socket: Int, _ body: String, type: Int, code: Int) -> (frame: String, recv: String) {
            let sent = send("e", socket, body)
            guard let frame = sent.frames.first else { XCTFail("\(body): \(sent)"); return ("", "") }
            answer(frame, type: type, code: code)
            return (frame, recvd(socket))
        }
        func connect(_ socket: Int, _ to: String) -> String {
            let r = call("POST", "/v1/stacks/e/sockets/\(socket)/connect", #"{"to":"\#(to)"}"#).json
            if case .string(let e)? = r?["errno"] { return e }
            if case .string(let a)? = r?["socket"]?["address"] { return "ok " + a }
            return "?"
        }
        func socket(_ proto: String) { XCTAssertEqual(call("POST", "/v1/stacks/e/sockets", #"{"protocol":"\#(proto)"}"#).status, 201) }
        // IP ID, checksums and identifier; over IPv6 the flow label, checksum and identifier.
        let v4 = [18..<20, 24..<26, 36..<40], v6 = [15..<18, 56..<60]

        // A: connected. Port unreachable is hard (ECONNREFUSED), taken once; host unreachable is
        // soft; admin prohibited is hard, and the next send takes it, as it takes a port unreachable.
        socket("icmp")
        XCTAssertEqual(connect(1, "198.18.0.9"), "ok 198.18.0.1")
        XCTAssertTrue(call("GET", "/v1/stacks/e/sockets").raw.contains(#""peer":"198.18.0.9:0""#))
        let a1 = rejected(1, #"{"payload_hex":"080000000000000161"}"#, type: 3, code: 3)
        XCTAssertEqual([masked(a1.frame, v4), a1.recv], [masked(kernel[0], v4), "ECONNREFUSED"])
        XCTAssertEqual(recvd(1), "EAGAIN")
        let a2 = rejected(1, #"{"payload_hex":"0800000000000002"}"#, type: 3, code: 1)
        XCTAssertEqual([masked(a2.frame, v4), a2.recv], [masked(kernel[1], v4), "EAGAIN"])
        let a3 = send("e", 1, #"{"payload_hex":"0800000000000003"}"#)
        XCTAssertEqual(a3.frames.map { masked($0, v4) }, [masked(kernel[2], v4)])
        answer(a3.frames[0], type: 3, code: 13)
        XCTAssertEqual(send("e", 1, #"{"payload_hex":"0800000000000007"}"#).errno, "EHOSTUNREACH")
        XCTAssertEqual(recvd(1), "EAGAIN")
        let a4 = send("e", 1, #"{"payload_hex":"0800000000000001"}"#)
        XCTAssertEqual(a4.frames.map { masked($0, v4) }, [masked(kernel[3], v4)])
        answer(a4.frames[0], type: 3, code: 3)
        XCTAssertTrue(call("GET", "/v1/stacks/e/sockets").raw.contains(#""state":"ESTAB","errno":"ECONNREFUSED""#))
        XCTAssertEqual(send("e", 1, #"{"payload_hex":"0800000000000005"}"#).errno, "ECONNREFUSED")
        XCTAssertEqual(recvd(1), "EAGAIN")

        // B: not connected, a hard error is not seen; with IP_RECVERR a soft one is.
        socket("icmp")
        let b1 = rejected(2, #"{"to":"198.18.0.9","payload_hex":"0800000000000001"}"#, type: 3, code: 3)
        XCTAssertEqual([masked(b1.frame, v4), b1.recv], [masked(kernel[4], v4), "EAGAIN"])
        let b2 = rejected(2, #"{"to":"198.18.0.9","payload_hex":"0800000000000002","setsockopt":{"recverr":true}}"#, type: 3, code: 1)
        XCTAssertEqual([masked(b2.frame, v4), b2.recv], [masked(kernel[5], v4), "EHOSTUNREACH"])
        XCTAssertEqual(recvd(2), "EAGAIN")

        // What connect refuses, and a send without an address from a socket that is not connected.
        socket("icmp")
        XCTAssertEqual(["198.18.0.255", "10.1.1.1", "198.18.0.99"].map { connect(3, $0) }, ["EACCES", "ENETUNREACH", "ok 198.18.0.1"])
        socket("icmp")
        XCTAssertTrue(call("POST", "/v1/stacks/e/sockets/4/send", #"{"payload_hex":"0800000000000009"}"#).raw.contains("EDESTADDRREQ"))

        // C: an ICMPv6 socket connected: port unreachable and admin prohibited are hard, address
        // unreachable soft; an echo reply is read back.
        XCTAssertTrue(call("POST", "/v1/stacks/e/sockets", #"{"protocol":"icmpv6"}"#).raw.contains(#""port":5,"#))
        XCTAssertEqual(connect(5, "2001:db8::9"), "ok 2001:db8::1")
        let c1 = rejected(5, #"{"payload_hex":"800000000000000163"}"#, type: 1, code: 4)
        XCTAssertEqual([masked(c1.frame, v6), c1.recv], [masked(kernel[6], v6), "ECONNREFUSED"])
        XCTAssertEqual(recvd(5), "EAGAIN")
        let c2 = rejected(5, #"{"payload_hex":"8000000000000002"}"#, type: 1, code: 1)
        XCTAssertEqual([masked(c2.frame, v6), c2.recv], [masked(kernel[7], v6), "EACCES"])
        let c3 = rejected(5, #"{"payload_hex":"8000000000000003"}"#, type: 1, code: 3)
        XCTAssertEqual([masked(c3.frame, v6), c3.recv], [masked(kernel[8], v6), "EAGAIN"])
        let c4 = send("e", 5, #"{"payload_hex":"8000000000000006"}"#)
        XCTAssertEqual(c4.frames.map { masked($0, v6) }, [masked(kernel[9], v6)])
        let reply = #"{"device":"va","eth":{"src":"02:00:00:00:ff:01"},"ipv6":{"src":"2001:db8::9"},"icmpv6":{"type":129,"id":5,"seq":6}}"#
        XCTAssertEqual(call("POST", "/v1/stacks/e/packets", #"{"packets":[\#(reply)]}"#).status, 200)
        // The kernel read 8100add375670006 (identifier 7567): add3 moved by the identifier.
        XCTAssertEqual(recv("e", 5), ["2001:db8::9 8100233600050006"])

        // D: not connected; with IPV6_RECVERR address unreachable is seen.
        socket("icmpv6")
        let d1 = rejected(6, #"{"to":"2001:db8::9","payload_hex":"8000000000000001"}"#, type: 1, code: 4)
        XCTAssertEqual([masked(d1.frame, v6), d1.recv], [masked(kernel[10], v6), "EAGAIN"])
        let d3 = rejected(6, #"{"to":"2001:db8::9","payload_hex":"8000000000000003","setsockopt":{"ipv6_recverr":true}}"#, type: 1, code: 3)
        XCTAssertEqual([masked(d3.frame, v6), d3.recv], [masked(kernel[11], v6), "EHOSTUNREACH"])
        XCTAssertEqual(recvd(6), "EAGAIN")
        socket("icmpv6")
        XCTAssertEqual(["::ffff:198.18.0.9", "fe80::9", "2001:db9::1"].map { connect(7, $0) }, ["ENETUNREACH", "EINVAL", "ENETUNREACH"])

        // The kernel's counters: six echo requests and six errors over IPv4; over IPv6 six echo
        // requests, five errors and a reply.
        let stats = call("GET", "/v1/stacks/e/stats").json
        XCTAssertEqual(["InMsgs", "InErrors", "InDestUnreachs", "OutMsgs", "OutEchos"].map { stats?["snmp"]?["Icmp"]?[$0] }, [6, 0, 6, 6, 6].map { .int($0) })
        XCTAssertEqual(stats?["snmp"]?["IcmpMsg"], .object([("InType3", .int(6)), ("OutType8", .int(6))]))
        let icmp6 = ["Icmp6InMsgs", "Icmp6InErrors", "Icmp6InDestUnreachs", "Icmp6InEchoReplies", "Icmp6OutEchos", "Icmp6InType1", "Icmp6InType129", "Icmp6OutType128"]
        XCTAssertEqual(icmp6.map { stats?["snmp6"]?[$0] }, [6, 0, 5, 1, 6, 5, 1, 6].map { .int($0) })
        // A connected ping socket stays connected across a restart.
        try reopen()
        XCTAssertEqual(send("e", 5, #"{"payload_hex":"8000000000000008"}"#).frames.map { masked($0, v6) }, [masked(kernel[9], v6).replacingOccurrences(of: "0006", with: "0008")])
    }
}
