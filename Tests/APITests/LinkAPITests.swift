import API
import Foundation
import HTTPServer
import JSON
import XCTest

/// host - router - host joined by links: one request per packet, one trace following it across
/// the stacks (through NAT), links kept across a restart and gone with a stack.
final class LinkAPITests: AppTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h1","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"],"speed":1000}],"routes":[{"dst":"default","via":"198.18.0.2","dev":"eth0"}],"neighbours":[{"address":"198.18.0.2","mac":"02:00:00:00:00:02","dev":"eth0"}],"sockets":[{"port":4000}]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"r","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]},{"name":"eth1","mac":"02:00:00:00:01:01","addresses":["198.18.1.1/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"},{"address":"198.18.1.2","mac":"02:00:00:00:01:02","dev":"eth1"}],"sysctls":{"net.ipv4.ip_forward":1}}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h2","devices":[{"name":"eth0","mac":"02:00:00:00:01:02","addresses":["198.18.1.2/24"]}],"routes":[{"dst":"default","via":"198.18.1.1","dev":"eth0"}],"neighbours":[{"address":"198.18.1.1","mac":"02:00:00:00:01:01","dev":"eth0"}],"sockets":[{"port":5000}]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h1","dev":"eth0"},"b":{"stack":"r","dev":"eth0"},"delay_ns":10000}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"r","dev":"eth1"},"b":{"stack":"h2","dev":"eth0"},"delay_ns":20000}"#).status, 201)
    }

    func testASendCrossesTheRouterIntoTheOtherHostsSocket() throws {
        let put = call("PUT", "/v1/stacks/r/ruleset", "table ip nat { chain post { type nat hook postrouting priority srcnat; oifname \"eth1\" masquerade; }; }", type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        let r = call("POST", "/v1/stacks/h1/sockets/1/send", #"{"to":"198.18.1.2","port":5000,"payload":"hello"}"#)
        XCTAssertEqual(r.status, 200, r.raw)
        guard case .array(let rows) = r.json?["results"], case .array(let hops)? = rows.first?["hops"] else { return XCTFail(r.raw) }
        XCTAssertEqual(rows[0]["outcome"], .string("transmitted"))
        XCTAssertEqual(hops.map { $0["stack"] }, [.string("r"), .string("h2")])
        XCTAssertEqual(hops.map { $0["outcome"] }, [.string("forwarded"), .string("delivered")])
        // It left h1 at 1 Gbit/s (47 bytes padded to 60, + 24 of framing: 672 ns on the wire), then 10 µs of link.
        guard case .array(let emitted)? = rows[0]["emitted"], case .int(let left)? = emitted.first?["time_ns"],
              case .array(let rStages)? = hops[0]["stages"], case .int(let arrived)? = rStages.first?["time_ns"] else { return XCTFail(r.raw) }
        XCTAssertEqual(arrived - left, 672 + 10_000)
        let got = call("POST", "/v1/stacks/h2/sockets/1/recv", "{}")
        XCTAssertEqual(got.json?["datagrams"]?.rendered().contains(#""src":"198.18.1.1","sport":4000,"dst":"198.18.1.2","payload_hex":"68656c6c6f""#), true, got.raw)
        // The stored trace has the hops too.
        guard case .int(let id)? = rows[0]["trace_id"] else { return XCTFail(r.raw) }
        XCTAssertEqual(call("GET", "/v1/traces/\(id)").json?["hops"]?.rendered().contains(#""stack":"h2""#), true)
        // A summary row carries the hops' outcomes, and is stored with its text (read back alike).
        let s = call("POST", "/v1/stacks/h1/sockets/1/send?trace=summary", #"{"to":"198.18.1.2","port":5000,"payload":"hello"}"#)
        guard case .array(let srows) = s.json?["results"], let row = srows.first, case .int(let sid)? = row["trace_id"] else { return XCTFail(s.raw) }
        XCTAssertEqual(row["hops"]?.rendered(), #"[{"stack":"r","device":"eth0","outcome":"forwarded","drop_reason":null,"end_ns":13972},{"stack":"h2","device":"eth0","outcome":"delivered","drop_reason":null,"end_ns":35142}]"#)
        XCTAssertEqual(call("GET", "/v1/traces/\(sid)").raw.trimmingCharacters(in: .newlines), row.rendered())
    }

    func testLinksPersistLoseAndGoWithAStack() throws {
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h1","dev":"eth0"},"b":{"stack":"h2","dev":"eth0"}}"#).status, 409)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h1","dev":"eth9"},"b":{"stack":"h2","dev":"eth0"}}"#).status, 422)
        try reopen()
        let listed = call("GET", "/v1/links").raw
        XCTAssertTrue(listed.contains(#""a":{"stack":"h1","dev":"eth0"},"b":{"stack":"r","dev":"eth0"},"delay_ns":10000,"rate_mbps":0,"loss_pct":0,"reorder_pct":0,"seed":0"#), listed)
        // A lossy link drops what it draws (seeded: the same frames every run).
        XCTAssertEqual(call("DELETE", "/v1/links/2").status, 204)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"r","dev":"eth1"},"b":{"stack":"h2","dev":"eth0"},"loss_pct":50,"seed":7}"#).status, 201)
        let r = call("POST", "/v1/stacks/h1/sockets/1/send?trace=summary", #"{"to":"198.18.1.2","port":5000,"length":10,"count":20}"#)
        guard case .array(let rows) = r.json?["results"] else { return XCTFail(r.raw) }
        let reached = rows.filter { $0["hops"]?.rendered().contains("h2") == true }.count
        XCTAssertEqual(reached, 11)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r").status, 204)
        XCTAssertEqual(call("GET", "/v1/links").raw, #"{"items":[]}"# + "\n")
        XCTAssertEqual(call("DELETE", "/v1/links/1").status, 404)
    }
}

extension LinkAPITests {
    /// Without static neighbours ARP crosses the links too: h1's request reaches the router, its
    /// reply comes back, and the queued datagram leaves then, all within the one request.
    func testARPResolvesAcrossALink() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h3","devices":[{"name":"eth0","mac":"02:00:00:00:03:01","addresses":["198.18.3.1/24"]}],"sockets":[{"port":4000}]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h4","devices":[{"name":"eth0","mac":"02:00:00:00:03:02","addresses":["198.18.3.2/24"]}],"sockets":[{"port":5000}]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h3","dev":"eth0"},"b":{"stack":"h4","dev":"eth0"},"delay_ns":1000}"#).status, 201)
        let r = call("POST", "/v1/stacks/h3/sockets/1/send", #"{"to":"198.18.3.2","port":5000,"payload":"x"}"#)
        guard case .array(let rows) = r.json?["results"], case .array(let hops)? = rows.first?["hops"] else { return XCTFail(r.raw) }
        XCTAssertEqual(hops.flatMap { [$0["stack"], $0["outcome"]] }, ["h4", "consumed", "h3", "consumed", "h4", "delivered"].map { JSONValue.string($0) },
                       "ARP request, ARP reply (which releases the datagram), the datagram")
        XCTAssertEqual(call("POST", "/v1/stacks/h4/sockets/1/recv", "{}").json?["datagrams"]?.rendered().contains(#""payload_hex":"78""#), true)
    }
}

extension LinkAPITests {
    /// A link with a rate of its own serves frames in turn: two datagrams sent together arrive
    /// one 10 Mbit/s frame time apart (60 bytes + 24 of framing: 67.2 µs).
    func testARatedLinkSpacesFrames() throws {
        XCTAssertEqual(call("DELETE", "/v1/links/1").status, 204)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h1","dev":"eth0"},"b":{"stack":"r","dev":"eth0"},"rate_mbps":10}"#).status, 201)
        let r = call("POST", "/v1/stacks/h1/sockets/1/send", #"{"to":"198.18.1.2","port":5000,"payload":"x","count":2}"#)
        guard case .array(let rows) = r.json?["results"] else { return XCTFail(r.raw) }
        let arrivals: [Int] = rows.compactMap { row in
            guard case .array(let hops)? = row["hops"], case .array(let st)? = hops.first?["stages"], case .int(let t)? = st.first?["time_ns"] else { return nil }
            return t
        }
        XCTAssertEqual(arrivals.count, 2, r.raw)
        XCTAssertEqual(arrivals[1] - arrivals[0], 67_200)
    }
}

extension LinkAPITests {
    /// netem-style reordering: with a 100 µs delay and 50% drawn to go without it, datagrams sent
    /// 10 µs apart reach h2 out of order (seeded: the same order every run).
    func testReorderingSkipsTheDelay() throws {
        XCTAssertEqual(call("DELETE", "/v1/links/1").status, 204)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"h1","dev":"eth0"},"b":{"stack":"r","dev":"eth0"},"delay_ns":100000,"reorder_pct":50,"seed":3}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/h1/sockets/1/send", #"{"to":"198.18.1.2","port":5000,"length":1,"count":6,"rate_pps":100000}"#).status, 200)
        let got = call("POST", "/v1/stacks/h2/sockets/1/recv", "{}")
        guard case .array(let d)? = got.json?["datagrams"] else { return XCTFail(got.raw) }
        let order = d.compactMap { if case .int(let t)? = $0["time_ns"] { t } else { nil } }
        // Sent at 0, 10 ... 50 µs; then r → h2 adds 20 µs and the stacks about 3.7 µs. Drawn to skip
        // the delay: the 1st, 2nd and 4th; the 3rd (sent at 20 µs) arrives after the 4th.
        XCTAssertEqual(order, [23_702, 33_702, 53_702, 143_702, 163_702, 173_702])
    }
}

extension LinkAPITests {
    /// Frames a stack's timers send cross links when its clock moves: the router's ARP for a
    /// host that never answers fails after three tries, and the ICMP host unreachable it then
    /// sends reaches the sender across the link.
    func testTimerFramesCrossLinksWhenTheClockMoves() throws {
        let r = call("POST", "/v1/stacks/h1/sockets/1/send", #"{"to":"198.18.1.9","port":5000,"payload":"x"}"#)
        guard case .array(let rows) = r.json?["results"], case .array(let hops)? = rows.first?["hops"] else { return XCTFail(r.raw) }
        XCTAssertEqual(hops.flatMap { [$0["stack"], $0["outcome"]] }, ["r", "queued", "h2", "consumed"].map { JSONValue.string($0) },
                       "held by the router while its first ARP request goes to h2, which is not 198.18.1.9")
        let c = call("POST", "/v1/stacks/r/clock", #"{"advance_ns":5000000000}"#)
        guard case .array(let emitted)? = c.json?["emitted"], case .array(let timerHops)? = c.json?["hops"] else { return XCTFail(c.raw) }
        // Two more ARP requests (1.024 s apart) to eth1, then the ICMP host unreachable to eth0.
        XCTAssertEqual(emitted.map { $0["device"] }, ["eth1", "eth1", "eth0"].map { JSONValue.string($0) }, c.raw)
        XCTAssertEqual(timerHops.flatMap { [$0["stack"], $0["outcome"]] }, ["h2", "consumed", "h2", "consumed", "h1", "consumed"].map { JSONValue.string($0) })
        XCTAssertEqual(call("GET", "/v1/stacks/h1/stats").json?["snmp"]?["Icmp"]?["InMsgs"], .int(1))
    }
}
