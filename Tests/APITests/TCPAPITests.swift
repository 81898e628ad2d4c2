@testable import API
import Kernel
import Foundation
import HTTPServer
import JSON
import XCTest

/// A TCP conversation over the API between two hosts on either side of a masquerading router:
/// connect, accept, send, recv, close, `ss`, each call one request with its segments followed
/// across the links.
final class TCPAPITests: AppTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h1","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"routes":[{"dst":"default","via":"198.18.0.2","dev":"eth0"}],"neighbours":[{"address":"198.18.0.2","mac":"02:00:00:00:00:02","dev":"eth0"}],"sockets":[{"protocol":"tcp","port":40000,"listen":false}]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"r","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]},{"name":"eth1","mac":"02:00:00:00:01:01","addresses":["198.18.1.1/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"},{"address":"198.18.1.2","mac":"02:00:00:00:01:02","dev":"eth1"}],"sysctls":{"net.ipv4.ip_forward":1}}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h2","devices":[{"name":"eth0","mac":"02:00:00:00:01:02","addresses":["198.18.1.2/24"]}],"routes":[{"dst":"default","via":"198.18.1.1","dev":"eth0"}],"neighbours":[{"address":"198.18.1.1","mac":"02:00:00:00:01:01","dev":"eth0"}],"sockets":[{"protocol":"tcp","port":5000,"backlog":128}],"sysctls":{"net.ipv4.tcp_rmem":"4096 131072 33554432"}}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h1","dev":"eth0"},"b":{"stack":"r","dev":"eth0"},"delay_ns":10000}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"r","dev":"eth1"},"b":{"stack":"h2","dev":"eth0"},"delay_ns":20000}"#).status, 201)
        let put = call("PUT", "/v1/stacks/r/ruleset", "table ip nat { chain post { type nat hook postrouting priority srcnat; oifname \"eth1\" masquerade; }; }", type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
    }

    func testConnectSendCloseThroughNAT() throws {
        // The SYN crosses the router (masqueraded), the SYN-ACK comes back, the ACK goes: one request.
        let c = call("POST", "/v1/stacks/h1/sockets/1/connect", #"{"to":"198.18.1.2","port":5000}"#)
        XCTAssertEqual(c.status, 200, c.raw)
        guard case .array(let rows) = c.json?["results"], case .array(let hops)? = rows.first?["hops"] else { return XCTFail(c.raw) }
        XCTAssertEqual(hops.flatMap { [$0["stack"], $0["outcome"]] }, ["r", "forwarded", "h2", "consumed", "r", "forwarded", "h1", "consumed", "r", "forwarded", "h2", "consumed"].map { JSONValue.string($0) })
        XCTAssertEqual(c.json?["socket"]?["state"], .string("ESTAB"))
        XCTAssertEqual(c.json?["socket"]?["peer"], .string("198.18.1.2:5000"))
        // h2 sees the router's address (masquerade); its listener's accept queue holds the child.
        let ss = call("GET", "/v1/stacks/h2/ss?format=text")
        XCTAssertEqual(ss.raw, """
            State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process
            LISTEN 1      128          0.0.0.0:5000      0.0.0.0:*           
            ESTAB  0      0         198.18.1.2:5000   198.18.1.1:40000       

            """)
        let a = call("POST", "/v1/stacks/h2/sockets/1/accept", "")
        XCTAssertEqual(a.raw, #"{"socket":2}"# + "\n")
        XCTAssertEqual(call("POST", "/v1/stacks/h2/sockets/1/accept", "").raw, #"{"errno":"EAGAIN"}"# + "\n")
        // 100 bytes to h2: one PSH|ACK segment, ACKed at once (quick ACK).
        let s = call("POST", "/v1/stacks/h1/sockets/1/send", #"{"payload":"hello"}"#)
        XCTAssertEqual(s.status, 200, s.raw)
        XCTAssertEqual(first(s.json?["results"])?["written"], .int(5))
        XCTAssertEqual(s.json?["socket"]?["send_q"], .int(0), "the ACK came back within the request")
        let got = call("POST", "/v1/stacks/h2/sockets/2/recv", "{}")
        XCTAssertEqual(got.raw, #"{"data_hex":"68656c6c6f","length":5,"eof":false}"# + "\n")
        // h1 closes: FIN-WAIT-2 once h2 ACKs the FIN (40 ms later: CLOSE-WAIT ACKs are delayed).
        XCTAssertEqual(call("POST", "/v1/stacks/h1/sockets/1/close", "").status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/h1/ss").raw,
                       #"{"items":[{"state":"FIN-WAIT-2","recv_q":0,"send_q":0,"local":"198.18.0.1:40000","peer":"198.18.1.2:5000"}]}"# + "\n")
        XCTAssertEqual(call("POST", "/v1/stacks/h2/sockets/2/recv", "{}").raw, #"{"data_hex":"","length":0,"eof":true}"# + "\n")
        // h2 closes (DELETE does the same): LAST-ACK, then gone; h1 waits in TIME-WAIT.
        XCTAssertEqual(call("DELETE", "/v1/stacks/h2/sockets/2").status, 204)
        XCTAssertEqual(call("GET", "/v1/stacks/h2/ss").raw,
                       #"{"items":[{"state":"LISTEN","recv_q":0,"send_q":128,"local":"0.0.0.0:5000","peer":"0.0.0.0:*"}]}"# + "\n")
        XCTAssertEqual(call("GET", "/v1/stacks/h1/ss").raw,
                       #"{"items":[{"state":"TIME-WAIT","recv_q":0,"send_q":0,"local":"198.18.0.1:40000","peer":"198.18.1.2:5000"}]}"# + "\n")
        // The router's conntrack followed the whole conversation.
        let sn = call("GET", "/v1/stacks/h2/stats").json?["snmp"]?["Tcp"]
        XCTAssertEqual(sn?["PassiveOpens"], .int(1))
        XCTAssertEqual(call("GET", "/v1/stacks/h1/stats").json?["snmp"]?["Tcp"]?["ActiveOpens"], .int(1))
        // The stored socket list keeps the listener and the unconnected socket's removal.
        let cfg = call("GET", "/v1/stacks/h1").raw
        XCTAssertFalse(cfg.contains(#""port":40000"#), cfg)
    }

    func first(_ v: JSONValue?) -> JSONValue? { if case .array(let a)? = v { a.first } else { nil } }

    /// A restart keeps TCP: h1's orphan in FIN-WAIT-2 with its timer, h2's child in the accept
    /// queue (CLOSE-WAIT, "hello" and the FIN unread) on the socket id it was given, the serials
    /// and sequence numbers; what follows the checkpoint answers byte for byte as the live
    /// stacks did (trace ids and wall times aside).
    func testConnectionsGoOnAfterARestartAsTheyWouldHave() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/h1/sockets/1/connect", #"{"to":"198.18.1.2","port":5000}"#).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h1/sockets/1/send", #"{"payload":"hello"}"#).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h1/sockets/1/close", "").status, 200)
        let before = ["h1", "h2"].map { call("GET", "/v1/stacks/\($0)/ss?format=text").raw }
        XCTAssertEqual(before, ["""
            State      Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
            FIN-WAIT-2 0      0         198.18.0.1:40000   198.18.1.2:5000       

            """, """
            State      Recv-Q Send-Q Local Address:Port Peer Address:Port Process
            LISTEN     1      128          0.0.0.0:5000      0.0.0.0:*           
            CLOSE-WAIT 6      0         198.18.1.2:5000   198.18.1.1:40000       

            """])
        XCTAssertEqual(app.checkpoint(), ["h1", "r", "h2"])
        let live = afterCheckpoint()
        try reopen()
        XCTAssertEqual(["h1", "h2"].map { call("GET", "/v1/stacks/\($0)/ss?format=text").raw }, before)
        let restored = afterCheckpoint()
        XCTAssertEqual(restored.count, live.count)
        for (a, b) in zip(restored, live) { XCTAssertEqual(a, b) }
        XCTAssertEqual(Array(live[0...1]), [#"{"socket":2}"# + "\n", #"{"data_hex":"68656c6c6f","length":5,"eof":true}"# + "\n"])
        XCTAssertEqual(live[3], "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n")
        // h1's reset crosses the router at 61 s, after its conntrack entry ran out: not NATed back,
        // it finds no connection on h2 (a reset to the listener), which goes on resending its FIN.
        XCTAssertEqual(live[7], """
            State    Recv-Q Send-Q Local Address:Port Peer Address:Port Process
            LISTEN   0      128          0.0.0.0:5000      0.0.0.0:*           
            LAST-ACK 0      1         198.18.1.2:5000   198.18.1.1:40000       

            """)
        // The reset counts as a segment too (tcp_v4_send_reset).
        XCTAssertEqual(live[6], #"{"ActiveOpens":1,"PassiveOpens":0,"AttemptFails":0,"EstabResets":0,"InSegs":4,"OutSegs":5,"RetransSegs":0,"InErrs":0,"InCsumErrors":0,"OutRsts":1}"#)

        // h2's retransmission timer survives a restart too: the FINs it resends over the next 200 s
        // (at 63, 127 and 247 s: the timeout doubling up to its 120 s cap).
        XCTAssertEqual(app.checkpoint(), ["h1", "r", "h2"])
        let resent = call("POST", "/v1/stacks/h2/clock", #"{"advance_ns":200000000000}"#)
        guard case .array(let frames)? = resent.json?["emitted"] else { return XCTFail(resent.raw) }
        XCTAssertEqual(frames.map { $0["time_ns"] }, [.int(63_040_170_560), .int(127_040_170_560), .int(247_040_170_560)], resent.raw)
        try reopen()
        XCTAssertEqual(call("POST", "/v1/stacks/h2/clock", #"{"advance_ns":200000000000}"#).json?["emitted"], resent.json?["emitted"])
    }

    /// Everything after the checkpoint, without trace ids and wall times: h2 accepts and reads;
    /// 61 s on, h1's orphan has timed out of FIN-WAIT-2 (tcp_fin_timeout 60 s, the timer the
    /// checkpoint kept), so h2's FIN when it closes is answered with a reset. (Each stack keeps
    /// its own clock: h2's FIN leaves at 40 ms and reaches h1 at 61 s.)
    func afterCheckpoint() -> [String] {
        func plain(_ r: Reply) -> String {
            r.raw.replacingOccurrences(of: #""trace_id":\d+,"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #""created_at":"[^"]*","#, with: "", options: .regularExpression)
        }
        var out = [call("POST", "/v1/stacks/h2/sockets/1/accept", ""), call("POST", "/v1/stacks/h2/sockets/2/recv", "{}"),
                   call("POST", "/v1/stacks/h1/clock", #"{"advance_ns":61000000000}"#)].map(plain)
        out.append(call("GET", "/v1/stacks/h1/ss?format=text").raw)
        out.append(plain(call("POST", "/v1/stacks/h2/sockets/2/close", "")))
        for name in ["h1", "h2"] {
            out.append(call("GET", "/v1/stacks/\(name)/ss?format=text").raw)
            out.append(call("GET", "/v1/stacks/\(name)/stats").json?["snmp"]?["Tcp"]?.rendered() ?? "")
        }
        return out
    }

    /// TCP over IPv6 between two linked stacks: connect to an IPv6 address completes the
    /// handshake in the request; both ends as ss prints them.
    func testConnectOverIPv6() throws {
        let a = #"{"name":"a6","devices":[{"name":"eth0","mac":"02:00:00:00:06:01","addresses":["2001:db8::1/64"]}],"neighbours":[{"address":"2001:db8::2","mac":"02:00:00:00:06:02","dev":"eth0"}],"sockets":[{"protocol":"tcp","address":"::","port":40000,"listen":false}]}"#
        let b = #"{"name":"b6","devices":[{"name":"eth0","mac":"02:00:00:00:06:02","addresses":["2001:db8::2/64"]}],"neighbours":[{"address":"2001:db8::1","mac":"02:00:00:00:06:01","dev":"eth0"}],"sockets":[{"protocol":"tcp","address":"::","port":80}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", a).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", b).status, 201)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"a6","dev":"eth0"},"b":{"stack":"b6","dev":"eth0"}}"#).status, 201)
        let c = call("POST", "/v1/stacks/a6/sockets/1/connect", #"{"to":"2001:db8::2","port":80}"#)
        XCTAssertEqual([c.json?["socket"]?["state"], c.json?["socket"]?["local"], c.json?["socket"]?["peer"]],
                       [.string("ESTAB"), .string("[2001:db8::1]:40000"), .string("[2001:db8::2]:80")], c.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/b6/ss").raw,
                       #"{"items":[{"state":"LISTEN","recv_q":1,"send_q":4096,"local":"*:80","peer":"*:*"},{"state":"ESTAB","recv_q":0,"send_q":0,"local":"[2001:db8::2]:80","peer":"[2001:db8::1]:40000"}]}"# + "\n")
    }

    func testRefusedAndBadCalls() throws {
        let c = call("POST", "/v1/stacks/h1/sockets/1/connect", #"{"to":"198.18.1.2","port":5001}"#)
        XCTAssertEqual(c.json?["socket"]?["errno"], .string("ECONNREFUSED"), c.raw)
        XCTAssertEqual(first(call("POST", "/v1/stacks/h2/sockets/1/connect", #"{"to":"198.18.0.1","port":1}"#).json?["results"])?["errno"], .string("EINVAL"))
        // An AF_INET socket given an IPv6 peer, as connect(2) answers (::1 too).
        let fresh = call("POST", "/v1/stacks/h1/sockets", #"{"protocol":"tcp","port":40100,"listen":false}"#)
        guard case .int(let id)? = fresh.json?["id"] else { return XCTFail(fresh.raw) }
        XCTAssertEqual(first(call("POST", "/v1/stacks/h1/sockets/\(id)/connect", #"{"to":"2001:db8::1","port":1}"#).json?["results"])?["errno"], .string("EAFNOSUPPORT"))
        XCTAssertEqual(first(call("POST", "/v1/stacks/h1/sockets/\(id)/connect", #"{"to":"::1","port":1}"#).json?["results"])?["errno"], .string("EAFNOSUPPORT"))
        XCTAssertEqual(call("POST", "/v1/stacks/h1/sockets/9/connect", #"{"to":"198.18.1.2","port":1}"#).status, 404)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"bad","devices":[],"sockets":[{"protocol":"udp","port":1,"listen":true}]}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"bad","devices":[],"sysctls":{"net.ipv4.tcp_rmem":[1,2]}}"#).status, 422)
    }
}

/// `ss -tan` text against what iproute2 6.1's ss printed for the same sockets (recorded in
/// namespaces on this machine).
final class SSTextTests: XCTestCase {
    func row(_ s: String, _ r: Int, _ q: Int, _ l: String, _ p: String) -> SSRow { SSRow(state: s, recvQ: r, sendQ: q, local: l, peer: p) }

    func testMatchesIproute2() {
        XCTAssertEqual(SSText.render([]), "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n")
        XCTAssertEqual(SSText.render([row("LISTEN", 0, 4096, "0.0.0.0:22", "0.0.0.0:*")]),
                       "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      4096         0.0.0.0:22        0.0.0.0:*          \n")
        XCTAssertEqual(SSText.render([row("LISTEN", 0, 5, "127.0.0.1:80", "0.0.0.0:*"), row("LISTEN", 0, 128, "0.0.0.0:5000", "0.0.0.0:*"),
                                      row("ESTAB", 100, 0, "127.0.0.1:5000", "127.0.0.1:40000"), row("ESTAB", 0, 0, "127.0.0.1:40000", "127.0.0.1:5000")]),
                       "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\nLISTEN 0      5          127.0.0.1:80         0.0.0.0:*           \n"
                       + "LISTEN 0      128          0.0.0.0:5000       0.0.0.0:*           \nESTAB  100    0          127.0.0.1:5000     127.0.0.1:40000       \n"
                       + "ESTAB  0      0          127.0.0.1:40000    127.0.0.1:5000        \n")
    }
}

/// The drop reasons a trace can carry, served with what they mean.
final class DropReasonsAPITests: AppTestCase {
    func testServedWithSummaries() throws {
        let r = call("GET", "/v1/drop_reasons")
        XCTAssertEqual(r.status, 200)
        guard case .array(let items)? = r.json?["items"] else { return XCTFail(r.raw) }
        XCTAssertEqual(items.count, DropReason.allCases.count)
        XCTAssertEqual(items.first { $0["name"] == .string("NEIGH_FAILED") }?["summary"], .string("the neighbour did not answer (entry FAILED)"))
        XCTAssertEqual(call("GET", "/v1/drop_reasons?x=1").status, 400)
    }
}
