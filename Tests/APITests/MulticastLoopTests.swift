import Foundation
import JSON
import XCTest

/// The multicast loop as scripts/record_mc_loop.sh recorded it on Linux 6.18 (Cases/mc_loop.txt):
/// what a socket sends to ff02::1 or 224.0.0.1 leaves the device and comes back to the host's own
/// sockets (from the sender's address and port), a group port nobody listens on is ignored
/// (Udp6IgnoredMulti), IPV6_MULTICAST_LOOP and IP_MULTICAST_LOOP 0 keep the copy away; the
/// counters the kernel moved, moved alike.
final class MulticastLoopTests: AppTestCase {
    func testWhatTheHostSendsToItsGroupsComesBack() throws {
        let doc = #"""
        {"name":"m","devices":[{"name":"v0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]}],"routes":[{"dst":"224.0.0.0/4","dev":"v0"}],
         "sockets":[{"protocol":"udp","address":"::","port":6000},{"protocol":"udp","address":"::","port":5000},{"protocol":"udp","port":7000},{"protocol":"udp","port":5001}]}
        """#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        func send(_ socket: Int, _ body: String) -> [String] {
            let r = call("POST", "/v1/stacks/m/sockets/\(socket)/send", body)
            guard case .array(let results) = r.json?["results"] ?? .null, case .array(let em) = results.first?["emitted"] ?? .null else { return [r.raw] }
            return em.compactMap { if case .string(let d) = $0["device"] ?? .null { d } else { nil } }
        }
        func recv(_ socket: Int) -> [String] {
            guard case .array(let d) = call("POST", "/v1/stacks/m/sockets/\(socket)/recv").json?["datagrams"] ?? .null else { return [] }
            return d.map { x in ["src", "sport", "payload_hex"].map { k in x[k].map { v in if case .string(let s) = v { s } else { v.rendered() } } ?? "?" }.joined(separator: " ") }
        }
        // Each leaves by v0 all the same.
        XCTAssertEqual(send(2, #"{"to":"ff02::1","port":6000,"payload":"loop6"}"#), ["v0"])
        XCTAssertEqual(recv(1), ["fe80::ff:fe00:1 5000 6c6f6f7036"])   // the kernel's ('fe80::ff:fe00:1', 5000)
        XCTAssertEqual(send(2, #"{"to":"ff02::1","port":6001,"payload":"nosock6"}"#), ["v0"])
        XCTAssertEqual(send(2, #"{"to":"ff02::1","port":6000,"payload":"noloop6","setsockopt":{"ipv6_multicast_loop":false}}"#), ["v0"])
        XCTAssertEqual(recv(1), [])
        XCTAssertEqual(send(4, #"{"to":"224.0.0.1","port":7000,"payload":"loop4"}"#), ["v0"])
        XCTAssertEqual(recv(3), ["198.18.0.1 5001 6c6f6f7034"])
        XCTAssertEqual(send(4, #"{"to":"224.0.0.1","port":7000,"payload":"noloop4","setsockopt":{"multicast_loop":false}}"#), ["v0"])
        XCTAssertEqual(recv(3), [])
        try assertCountersAsRecorded("mc_loop.txt", stack: "m", ["Ip6InDelivers", "Ip6InMcastPkts", "Ip6InReceives", "Ip6OutMcastPkts", "Ip6OutRequests", "Udp6IgnoredMulti",
                                                                 "Udp6InDatagrams", "Udp6OutDatagrams", "IpInDelivers", "IpInReceives", "IpOutRequests", "UdpInDatagrams", "UdpOutDatagrams"])
    }

    /// scripts/record_bcast_loop.sh (Cases/bcast_loop.txt): a broadcast comes back whatever
    /// IP_MULTICAST_LOOP says; it keeps its output route, so our own source passes.
    func testABroadcastComesBackWhateverTheLoopOption() throws {
        let doc = #"{"name":"b","devices":[{"name":"v0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"sockets":[{"protocol":"udp","port":7000},{"protocol":"udp","port":5001,"broadcast":true}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        func send(_ body: String) -> String {
            let r = call("POST", "/v1/stacks/b/sockets/2/send", body)
            guard case .array(let results) = r.json?["results"] ?? .null, let x = results.first else { return r.raw }
            return [x["outcome"], x["errno"]].compactMap { v in v.flatMap { if case .string(let s) = $0 { s } else { nil } } }.joined(separator: " ")
        }
        XCTAssertEqual(send(#"{"to":"198.18.0.255","port":7000,"payload":"bc"}"#), "transmitted")
        XCTAssertEqual(send(#"{"to":"198.18.0.255","port":7000,"payload":"bc2","setsockopt":{"multicast_loop":false}}"#), "transmitted")
        XCTAssertEqual(send(#"{"to":"198.18.0.255","port":7001,"payload":"bc3"}"#), "transmitted")
        XCTAssertEqual(send(#"{"to":"255.255.255.255","port":7000,"payload":"lb"}"#), "failed ENETUNREACH")
        let read = call("POST", "/v1/stacks/b/sockets/1/recv").raw
        XCTAssertTrue(read.contains(#""src":"198.18.0.1","sport":5001,"dst":"198.18.0.255","payload_hex":"6263","#) && read.contains(#""payload_hex":"626332""#), read)
        try assertCountersAsRecorded("bcast_loop.txt", stack: "b", ["IpInDelivers", "IpInReceives", "IpOutNoRoutes", "IpOutRequests", "UdpIgnoredMulti", "UdpInDatagrams", "UdpOutDatagrams"])
    }

    /// The kernel's counters that moved (`NAME DELTA` lines of the case), those the model keeps
    /// (not octets, ECN or OutTransmits): every one named must be there, and equal.
    private func assertCountersAsRecorded(_ file: String, stack: String, _ kept: [String], line: UInt = #line) throws {
        let kernel = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent(file), encoding: .utf8)
            .split(separator: "\n").compactMap { l -> (String, Int)? in
                let w = l.split(separator: " "); guard w.count == 2, let n = Int(w[1]) else { return nil }; return (String(w[0]), n)
            }
        let stats = call("GET", "/v1/stacks/\(stack)/stats").json
        func ours(_ name: String) -> JSONValue? {
            if name.hasPrefix("Ip6") || name.hasPrefix("Udp6") { return stats?["snmp6"]?[name] }
            if name.hasPrefix("Udp") { return stats?["snmp"]?["Udp"]?[String(name.dropFirst(3))] }
            return stats?["snmp"]?["Ip"]?[String(name.dropFirst(2))]
        }
        XCTAssertEqual(kernel.filter { kept.contains($0.0) }.count, kept.count, line: line)
        for (name, n) in kernel where kept.contains(name) { XCTAssertEqual(ours(name), .int(n), name, line: line) }
    }
}
