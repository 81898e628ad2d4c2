import API
import Foundation
import HTTPServer
import JSON
import XCTest

/// Sending from a socket over the API: traces from udp_sendmsg to the wire, EAGAIN from a full
/// send buffer behind a slow qdisc, setsockopt kept with the socket.
final class SendAPITests: AppTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"],"speed":10}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}],"qdiscs":["qdisc add dev eth0 root handle 1: tbf rate 8kbit burst 200 limit 100000"]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/h/sockets", #"{"port":4000,"sndbuf":1}"#).status, 201)
    }

    func testSendTracesEAGAINAndOptions() throws {
        let r = call("POST", "/v1/stacks/h/sockets/1/send", #"{"to":"198.18.0.1","port":5000,"length":100,"count":8}"#)
        XCTAssertEqual(r.status, 200, r.raw)
        guard case .array(let results) = r.json?["results"] else { return XCTFail(r.raw) }
        // Each skb holds 832 bytes of the 4608-byte buffer until it is freed: the first passes on
        // tbf's bucket but stays on the NIC's TX ring until its completion (166 bytes on the wire
        // at 10 Mbit/s: 132.8 µs), the next five wait in tbf; the seventh call finds 4992.
        XCTAssertEqual(results.map { $0["outcome"] }, Array(repeating: .string("transmitted"), count: 6) + [.string("failed"), .string("failed")])
        XCTAssertEqual(results.map { $0["outq"] }, [832, 1664, 2496, 3328, 4160, 4992, 4992, 4992].map { .int($0) })
        XCTAssertEqual(results[7]["errno"], .string("EAGAIN"))
        XCTAssertEqual(r.json?["outcomes"], try JSONParser.parse(#"{"failed":2,"transmitted":6}"#))
        guard case .array(let stages)? = results[0]["stages"] else { return XCTFail(r.raw) }
        XCTAssertEqual(stages.map { $0["function"] }, ["udp_sendmsg", "ip_make_skb", "udp_send_skb", "ip_local_out", "ip_output", "ip_finish_output",
                                                      "neigh_output", "dev_queue_xmit", "qdisc_enqueue", "sch_direct_xmit", "dev_hard_start_xmit"].map { .string($0) })
        let list = call("GET", "/v1/stacks/h/sockets").raw
        XCTAssertTrue(list.contains(#""sndbuf":1,"rcvbuf_effective":212992,"rmem_alloc":0,"queued":0,"drops":0,"sndbuf_effective":4608,"wmem_alloc":0,"sent":6,"send_errors":{"EAGAIN":2}"#), list)
        XCTAssertTrue(call("GET", "/v1/stacks/h/stats").raw.contains(#""OutDatagrams":6,"RcvbufErrors":0,"SndbufErrors":2"#))
        // Options set with a send stay with the socket, through a restart.
        let big = call("POST", "/v1/stacks/h/sockets/1/send", #"{"to":"198.18.0.1","port":5000,"length":1473,"setsockopt":{"pmtudisc":"do","tos":16}}"#)
        XCTAssertEqual(big.json?["results"]?.rendered().contains(#""errno":"EMSGSIZE""#), true, big.raw)
        try reopen()
        XCTAssertTrue(call("GET", "/v1/stacks/h/sockets").raw.contains(#""port":4000,"sndbuf":1,"tos":16,"pmtudisc":"do""#))
        XCTAssertEqual(call("POST", "/v1/stacks/h/sockets/1/send", #"{"to":"198.18.0.1","port":5000,"payload":"x","payload_hex":"00"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/h/sockets/9/send", #"{"to":"198.18.0.1","port":5000}"#).status, 404)
        let unreachable = call("POST", "/v1/stacks/h/sockets/1/send", #"{"to":"203.0.113.1","port":5000,"payload":"x"}"#)
        XCTAssertEqual(unreachable.json?["results"]?.rendered().contains(#""errno":"ENETUNREACH""#), true, unreachable.raw)
    }
}

extension SendAPITests {
    /// Two flows in one run: the bulk flow's calls and the sparse one's interleave in time.
    func testFlowsInterleave() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/h/sockets", #"{"port":4001}"#).status, 201)
        let r = call("POST", "/v1/stacks/h/sends?trace=summary", #"{"flows":[{"socket":1,"to":"198.18.0.1","port":5000,"length":100,"count":4,"rate_pps":1000},{"socket":2,"to":"198.18.0.1","port":5001,"payload":"s","count":2,"rate_pps":500,"start_ns":500000}]}"#)
        XCTAssertEqual(r.status, 200, r.raw)
        guard case .array(let rows) = r.json?["results"] else { return XCTFail(r.raw) }
        // In flow order; the start times show the interleaving.
        XCTAssertEqual(rows.map { $0["start_ns"] }, [0, 1_000_000, 2_000_000, 3_000_000, 500_000, 2_500_000].map { .int($0) })
        XCTAssertEqual(call("POST", "/v1/stacks/h/sends", #"{"flows":[{"socket":7,"to":"198.18.0.1","port":1}]}"#).status, 404)
        XCTAssertEqual(call("POST", "/v1/stacks/h/sends", #"{"flows":[]}"#).status, 400)
    }
}
