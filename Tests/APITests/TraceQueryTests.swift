@testable import API
import Foundation
import HTTPServer
import JSON
import Kernel
@testable import Store
import TestSupport
import Wire
import XCTest

/// Trace queries: every filter of GET /v1/traces (tuple before and after NAT, stage, rule hit,
/// times), the aggregate by each field, DELETE by filter, retention, and a database made by the
/// schema before the trace columns upgraded keeping and indexing its rows.
final class TraceQueryTests: AppTestCase {
    static let stack = #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"# +
        #""neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}],"sockets":[{"port":53}]}"#
    static let ruleset = """
        table ip n {
        \tchain pre {
        \t\ttype nat hook prerouting priority -100; policy accept;
        \t\tudp dport 5353 dnat to 198.18.0.2:53
        \t}
        }
        table ip f {
        \tchain input {
        \t\ttype filter hook input priority 0; policy accept;
        \t\tudp dport 54 drop
        \t}
        }

        """
    /// 53 delivered, 54 dropped by f input rule 2, 5353 delivered to 53 after DNAT, TCP 80 answered with a RST.
    static let four = #"{"packets":["# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":53}},"# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":54}},"# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":10,"dport":5353}},"# +
        #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.9"},"tcp":{"sport":1000,"dport":80,"flags":["syn"]},"at_ns":5000000}]}"#

    func load(_ app: App? = nil) throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        let r = call("POST", "/v1/stacks/h/packets?sync=true", Self.four)
        XCTAssertEqual(r.json?["outcomes"], .object([("delivered", .int(2)), ("dropped", .int(2))]), r.raw)
    }

    /// The ids a list query answers.
    func ids(_ query: String) -> [Int] {
        let r = call("GET", "/v1/traces?" + query)
        guard case .array(let items) = r.json?["items"] ?? .null else { XCTFail(r.raw); return [] }
        return items.compactMap { if case .int(let n) = $0["trace_id"] ?? .null { n } else { nil } }
    }

    /// The first row a list query answers.
    func first(_ query: String) -> JSONValue? {
        guard case .array(let items) = call("GET", "/v1/traces?" + query).json?["items"] ?? .null else { return nil }
        return items.first
    }

    func groups(_ query: String) -> String {
        let r = call("GET", "/v1/traces/aggregate?" + query)
        guard case .array(let g) = r.json?["groups"] ?? .null else { return r.raw }
        return g.map { "\($0["value"]!.rendered())=\($0["count"]!.rendered())" }.joined(separator: " ")
    }

    func testFiltersSelectExactlyTheirTraces() throws {
        try load()
        XCTAssertEqual(ids(""), [1, 2, 3, 4])
        XCTAssertEqual(ids("order=newest&limit=2"), [4, 3])
        // Ports before or after NAT: 5353 arrived, 53 after the DNAT.
        XCTAssertEqual(ids("dport=53"), [1, 3])
        XCTAssertEqual(ids("dport=5353"), [3])
        XCTAssertEqual(ids("port=9"), [1, 2])
        XCTAssertEqual(ids("sport=1000&proto=tcp"), [4])
        XCTAssertEqual(ids("proto=17"), [1, 2, 3])
        // Addresses and CIDRs on either side.
        XCTAssertEqual(ids("src=198.18.0.9"), [4])
        XCTAssertEqual(ids("addr=198.18.0.8/29"), [4])
        XCTAssertEqual(ids("addr=198.18.0.0/24"), [1, 2, 3, 4])
        XCTAssertEqual(ids("dst=198.18.0.2&src=198.18.0.1"), [1, 2, 3])
        XCTAssertEqual(ids("addr=10.0.0.0/8"), [])
        XCTAssertEqual(ids("addr=::ffff:198.18.0.9/128"), [4])
        XCTAssertEqual(ids("addr=2001:db8::/32"), [])
        // Rules hit: the drop rule, the DNAT rule, policies.
        XCTAssertEqual(ids("table=f&chain=input&handle=2"), [2])
        XCTAssertEqual(ids("table=ip%20n&handle=2"), [3])
        XCTAssertEqual(ids("hook=input&handle=policy"), [1, 3, 4])
        XCTAssertEqual(ids("table=inet%20f"), [])
        XCTAssertEqual(ids("hook=prerouting"), [1, 2, 3, 4])
        // Stages: reached, and where the path ended.
        XCTAssertEqual(ids("stage=udp_queue_rcv_skb"), [1, 3])
        XCTAssertEqual(ids("stage=tcp_v4_send_reset"), [4])
        XCTAssertEqual(ids("last_stage=kfree_skb_reason&outcome=dropped"), [2, 4])
        XCTAssertEqual(ids("drop_reason=NETFILTER_DROP"), [2])
        // Virtual time: the TCP packet arrived at 5 ms.
        XCTAssertEqual(ids("since_ns=5000000"), [4])
        XCTAssertEqual(ids("until_ns=5000000"), [1, 2, 3])
        XCTAssertEqual(ids("since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00.000Z"), [1, 2, 3, 4])
        XCTAssertEqual(ids("until=2000-01-01T00:00:00Z"), [])
        XCTAssertEqual(ids("device=eth0&stack=h"), [1, 2, 3, 4])

        // The list row: the tuple as it arrived and as its path ended.
        let third = first("dport=5353")
        XCTAssertEqual(third?["tuple"]?.rendered(), #"{"proto":17,"src":"198.18.0.1","sport":10,"dst":"198.18.0.2","dport":5353}"#)
        XCTAssertEqual(third?["final_tuple"]?.rendered(), #"{"proto":17,"src":"198.18.0.1","sport":10,"dst":"198.18.0.2","dport":53}"#)
        XCTAssertEqual(third?["last_stage"], .string("udp_queue_rcv_skb"))
        XCTAssertEqual(third?["length"], .int(42))

        // Bad filters are 400s naming the parameter.
        for (q, slug) in [("stage=ip_rcvv", "invalid-query"), ("addr=1.2.3", "invalid-query"), ("proto=quic", "invalid-query"),
                          ("handle=0", "invalid-query"), ("since=yesterday", "invalid-query"), ("hook=inbound", "invalid-query"),
                          ("since_ns=9&until_ns=9", "invalid-query"), ("table=a%20b%20c", "invalid-query"), ("tos=1", "unknown-parameter")] {
            let r = call("GET", "/v1/traces?" + q)
            XCTAssertEqual(r.status, 400, q)
            XCTAssertEqual(r.json?["type"]?.rendered().hasSuffix("\(slug)\""), true, q + " " + r.raw)
        }
        XCTAssertEqual(call("GET", "/v1/traces?stack=nope").status, 404)
    }

    /// The stages a trace reached are bits of two 64-bit columns.
    func testEveryStageHasABit() {
        XCTAssertLessThanOrEqual(Stage.allCases.count, 128)
    }

    func testAggregateByEveryField() throws {
        try load()
        XCTAssertEqual(groups("by=dport"), "53=1 54=1 80=1 5353=1")   // ties in value order
        XCTAssertEqual(groups("by=nat_dport"), "53=2 54=1 80=1")
        XCTAssertEqual(groups("by=saddr"), #""198.18.0.1"=3 "198.18.0.9"=1"#)
        XCTAssertEqual(groups("by=proto"), "17=3 6=1")
        XCTAssertEqual(groups("by=outcome"), #""delivered"=2 "dropped"=2"#)
        XCTAssertEqual(groups("by=drop_reason"), #"null=2 "NETFILTER_DROP"=1 "NO_SOCKET"=1"#)
        XCTAssertEqual(groups("by=last_stage"), #""kfree_skb_reason"=2 "udp_queue_rcv_skb"=2"#)
        XCTAssertEqual(groups("by=rule"), #""ip f input policy"=3 "ip n pre policy"=3 "ip f input handle 2"=1 "ip n pre handle 2"=1"#)
        XCTAssertEqual(groups("by=hook&proto=udp"), #""input"=3 "prerouting"=3"#)
        XCTAssertEqual(groups("by=rule&dport=53&table=f"), #""ip f input policy"=2 "ip n pre handle 2"=1 "ip n pre policy"=1"#)
        XCTAssertEqual(call("GET", "/v1/traces/aggregate?by=colour").status, 400)
    }

    /// The tuple after NAT is stored only where NAT changed it (migration 11: the after-NAT indexes
    /// hold only NAT'd traces); reading, filtering and counting see it whole.
    func testTheTupleAfterNATIsStoredWhereNATChangedIt() throws {
        try load()
        let db = try SQLiteConnection(path: store.path)
        XCTAssertEqual(try rows(db, "SELECT id, indexed, hex(nat_saddr), hex(nat_daddr), nat_sport, nat_dport FROM traces ORDER BY id"),
                       ["1|2||||", "2|2||||", "3|2||||53", "4|2||||"])   // only the DNAT's port
        XCTAssertEqual(first("dport=5353")?["final_tuple"]?.rendered(), #"{"proto":17,"src":"198.18.0.1","sport":10,"dst":"198.18.0.2","dport":53}"#)
        XCTAssertEqual(first("dport=54")?["final_tuple"]?.rendered(), #"{"proto":17,"src":"198.18.0.1","sport":9,"dst":"198.18.0.2","dport":54}"#)
        XCTAssertEqual(ids("dport=53"), [1, 3])
        XCTAssertEqual(ids("dst=198.18.0.2"), [1, 2, 3, 4])
        XCTAssertEqual(groups("by=nat_daddr"), #""198.18.0.2"=4"#)
        XCTAssertEqual(groups("by=nat_sport"), "9=2 10=1 1000=1")
    }

    func testDeleteByFilterGivesTheQuotaBack() throws {
        try load()
        XCTAssertEqual(call("DELETE", "/v1/traces").status, 400)   // across stacks, a filter is needed
        XCTAssertEqual(call("DELETE", "/v1/traces?dport=54").json?["deleted"], .int(1))
        XCTAssertEqual(ids(""), [1, 3, 4])
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/traces?proto=tcp").json?["deleted"], .int(1))
        XCTAssertEqual(ids(""), [1, 3])
        XCTAssertEqual(ids("table=f&handle=2"), [])   // its rule rows went with it
        XCTAssertEqual(groups("by=rule"), #""ip f input policy"=2 "ip n pre handle 2"=1 "ip n pre policy"=1"#)
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/traces?stack=other").status, 400)
        XCTAssertEqual(app.registry.get("h")?.storedTraces, 2)
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/traces").json?["deleted"], .int(2))
        XCTAssertEqual(app.registry.get("h")?.storedTraces, 0)
    }

    func testRetentionByCountAndAge() throws {
        var doc = Self.stack.replacingOccurrences(of: #""name":"h""#, with: #""name":"h","retention":{"max_traces":3}"#)
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        XCTAssertEqual(call("GET", "/v1/stacks/h").json?["retention"]?.rendered(), #"{"max_age_s":null,"max_traces":3}"#)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.four).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.four).status, 200)
        XCTAssertEqual(app.enforceRetention(), ["h": 5])
        XCTAssertEqual(ids(""), [6, 7, 8])
        XCTAssertEqual(app.enforceRetention(), [:])
        XCTAssertEqual(app.registry.get("h")?.storedTraces, 3)
        XCTAssertTrue(call("GET", "/metrics").raw.contains("packetstack_traces_retention_deleted_total 5\n"))

        doc = Self.stack.replacingOccurrences(of: #""name":"h""#, with: #""name":"g","retention":{"max_age_s":60}"#)
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/g/packets?sync=true", Self.four).status, 200)
        XCTAssertEqual(app.enforceRetention(now: Date()), [:])
        XCTAssertEqual(app.enforceRetention(now: Date().addingTimeInterval(61)), ["g": 4])
        XCTAssertEqual(ids("stack=g"), [])
        // Retention survives a restart with the stack document.
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/g").json?["retention"]?.rendered(), #"{"max_age_s":60,"max_traces":null}"#)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"x","retention":{"max_traces":0}}"#).status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"x","retention":{"keep":1}}"#).status, 400)
    }

    /// pwru and retis views: the DNAT'd packet's tuple changes after the prerouting hook; the
    /// dropped one ends in kfree_skb_reason with its reason; the reset the stack made is its own packet.
    func testPwruAndRetisViews() throws {
        try load()
        XCTAssertEqual(call("GET", "/v1/traces/3?format=pwru").raw, """
        SKB        CPU TIME_NS        TUPLE                                            FUNC
        3          0   0              198.18.0.1:10->198.18.0.2:5353(udp)              nic_receive
        3          0   820            198.18.0.1:10->198.18.0.2:5353(udp)              napi_poll
        3          0   840            198.18.0.1:10->198.18.0.2:5353(udp)              napi_alloc_skb
        3          0   880            198.18.0.1:10->198.18.0.2:5353(udp)              eth_type_trans
        3          0   900            198.18.0.1:10->198.18.0.2:5353(udp)              napi_gro_receive
        3          0   1830           198.18.0.1:10->198.18.0.2:5353(udp)              netif_receive_skb
        3          0   1860           198.18.0.1:10->198.18.0.2:5353(udp)              __netif_receive_skb_core
        3          0   1900           198.18.0.1:10->198.18.0.2:5353(udp)              ip_rcv
        3          0   1960           198.18.0.1:10->198.18.0.2:5353(udp)              nf_hook_slow
        3          0   2010           198.18.0.1:10->198.18.0.2:53(udp)                ip_rcv_finish
        3          0   2090           198.18.0.1:10->198.18.0.2:53(udp)                ip_local_deliver
        3          0   2110           198.18.0.1:10->198.18.0.2:53(udp)                nf_hook_slow
        3          0   2160           198.18.0.1:10->198.18.0.2:53(udp)                ip_local_deliver_finish
        3          0   2190           198.18.0.1:10->198.18.0.2:53(udp)                udp_rcv
        3          0   2310           198.18.0.1:10->198.18.0.2:53(udp)                udp_queue_rcv_skb

        """)
        XCTAssertEqual(call("GET", "/v1/traces/3?format=retis").raw, """
        trace 3 [h] eth0 198.18.0.1.10 > 198.18.0.2.5353 udp delivered
            0 (0) [k] nic_receive
              198.18.0.1.10 > 198.18.0.2.5353 udp
          ↳ 820 (0) [k] napi_poll
          ↳ 840 (0) [k] napi_alloc_skb
          ↳ 880 (0) [k] eth_type_trans
          ↳ 900 (0) [k] napi_gro_receive
          ↳ 1830 (0) [k] netif_receive_skb
          ↳ 1860 (0) [k] __netif_receive_skb_core
          ↳ 1900 (0) [k] ip_rcv
          ↳ 1960 (0) [k] nf_hook_slow
          ↳ 2010 (0) [k] ip_rcv_finish
              198.18.0.1.10 > 198.18.0.2.53 udp (after NAT)
          ↳ 2090 (0) [k] ip_local_deliver
          ↳ 2110 (0) [k] nf_hook_slow
          ↳ 2160 (0) [k] ip_local_deliver_finish
          ↳ 2190 (0) [k] udp_rcv
          ↳ 2310 (0) [k] udp_queue_rcv_skb
            [nft] prerouting ip n pre rule udp dport 5353 dnat to 198.18.0.2:53 (verdict accept)
            [nft] input ip f input policy accept

        """)
        // The dropped packet's last function carries its reason; the reset is a packet of its own.
        XCTAssertTrue(call("GET", "/v1/traces/2?format=pwru").raw.hasSuffix("kfree_skb_reason(SKB_DROP_REASON_NETFILTER_DROP)\n"))
        let four = call("GET", "/v1/traces?format=pwru&proto=tcp").raw
        XCTAssertTrue(four.contains("4+         0   5001460        -                                                ip_local_out\n"), four)
        XCTAssertEqual(call("GET", "/v1/traces/4?format=nft").raw.components(separatedBy: "\n").count, 5)   // two chain runs, a packet line each
        XCTAssertEqual(call("GET", "/v1/traces/4?format=xml").status, 400)
    }

    /// What-if: yesterday's packets through a candidate ruleset on a copy, the live stack untouched.
    func testWhatIfReplaysTheQueryThroughACandidate() throws {
        try load()
        let candidate = Self.ruleset.replacingOccurrences(of: "udp dport 54 drop", with: "udp dport 53 drop")
        let r = call("POST", "/v1/stacks/h/whatif", candidate, type: "text/plain")
        XCTAssertEqual(r.status, 200, r.raw)
        XCTAssertEqual(r.json?["ruleset"], .string("candidate"))
        XCTAssertEqual(r.json?["replayed"], .int(4))
        XCTAssertEqual(r.json?["changed"], .int(3))
        XCTAssertEqual(r.json?["changes"]?.rendered(), #"[{"change":"delivered -> dropped (NETFILTER_DROP)","count":2},{"change":"dropped (NETFILTER_DROP) -> dropped (NO_SOCKET)","count":1}]"#)
        guard case .array(let items) = r.json?["items"] ?? .null else { return XCTFail(r.raw) }
        XCTAssertEqual(items.map { $0["trace_id"]?.rendered() ?? "" }, ["1", "2", "3"])
        XCTAssertEqual(items[2]["new"]?["rules"]?.rendered(), #"[{"hook":"prerouting","table":"ip n","chain":"pre","handle":2,"rule":"udp dport 5353 dnat to 198.18.0.2:53","verdict":"accept"},{"hook":"input","table":"ip f","chain":"input","handle":2,"rule":"udp dport 53 drop","verdict":"drop"}]"#)
        // The query narrows the traffic; the stack as it is now, and its stored version, change nothing.
        XCTAssertEqual(call("POST", "/v1/stacks/h/whatif?dport=53", candidate, type: "text/plain").json?["replayed"], .int(2))
        let same = call("POST", "/v1/stacks/h/whatif")
        XCTAssertEqual(same.json?["ruleset"], .string("current"))
        XCTAssertEqual(same.json?["changed"], .int(0), same.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/h/whatif?version=1").json?["changed"], .int(0))
        // From the live state the delivered flows are known to conntrack: their nat chain is not
        // asked again (the DNAT binding holds), so only their rule path changes.
        let live = call("POST", "/v1/stacks/h/whatif?state=live")
        XCTAssertEqual(live.json?["state"], .string("live"))
        XCTAssertEqual(live.json?["changes"]?.rendered(), #"[{"change":"delivered: rule path changed","count":2}]"#, live.raw)
        guard case .array(let liveItems) = live.json?["items"] ?? .null else { return XCTFail(live.raw) }
        XCTAssertEqual(liveItems.map { $0["trace_id"]?.rendered() ?? "" }, ["1", "3"])
        XCTAssertEqual(liveItems[1]["new"]?["rules"]?.rendered(), #"[{"hook":"input","table":"ip f","chain":"input","handle":null,"rule":null,"verdict":"accept"}]"#)
        XCTAssertEqual(call("POST", "/v1/stacks/h/whatif?state=warm").status, 400)
        // The live stack is as it was: its ruleset, its traces, its counters.
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("udp dport 54 drop"))
        XCTAssertEqual(ids(""), [1, 2, 3, 4])
        guard case .array(let versions) = call("GET", "/v1/stacks/h/ruleset/versions").json?["items"] ?? .null else { return XCTFail("no versions") }
        XCTAssertEqual(versions.count, 1)
        // Refusals.
        XCTAssertEqual(call("POST", "/v1/stacks/h/whatif", "table ip f { chain c { udp dport drop } }", type: "text/plain").status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/h/whatif?version=9").status, 404)
        XCTAssertEqual(call("POST", "/v1/stacks/nope/whatif").status, 404)
    }

    /// A device's wire, both directions, as pcapng that tshark reads: the four arrivals inbound,
    /// the ARP request for the reset's next hop outbound, each with its comment and direction.
    func testDeviceWireExport() throws {
        try load()
        let r = app.respond(to: HTTPRequest(method: "GET", target: "/v1/stacks/h/devices/eth0/wire", headers: [], body: []))
        XCTAssertEqual(r.status, 200)
        let file = dir.appendingPathComponent("wire.pcapng")
        try Data(r.body).write(to: file)
        let out = try shell(["tshark", "-r", file.path, "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "frame.time_relative",
                             "-e", "frame.packet_flags_direction", "-e", "frame.comment", "-e", "_ws.col.Protocol"]).out
        XCTAssertEqual(out, """
        1|0.000000000|0x00000001|trace 1: delivered; ip n pre policy accept, ip f input policy accept|UDP
        2|0.000000000|0x00000001|trace 2: dropped (NETFILTER_DROP); ip n pre policy accept, ip f input handle 2 drop|UDP
        3|0.000000000|0x00000001|trace 3: delivered; ip n pre handle 2 accept, ip f input policy accept|UDP
        4|0.005000000|0x00000001|trace 4: dropped (NO_SOCKET); ip n pre policy accept, ip f input policy accept|TCP
        5|0.005001830|0x00000002|trace 4: sent by the stack|ARP

        """)
        // Filters narrow the traces the wire is taken from.
        let tcp = app.respond(to: HTTPRequest(method: "GET", target: "/v1/stacks/h/devices/eth0/wire?proto=tcp", headers: [], body: []))
        XCTAssertEqual(try PCAP.read(tcp.body).map(\.frame.count), [54, 42])
        XCTAssertEqual(call("GET", "/v1/stacks/h/devices/eth9/wire").status, 404)
    }

    /// --trace-overflow drop: rows that find the writer's queue full are dropped, counted in the
    /// answer and /metrics, give their quota back and never answer durable; nothing else is lost.
    func testAFullWriterQueueDropsRowsExplicitly() throws {
        store.close()
        store = try Store(path: dbPath, traceQueue: 1, overflow: .drop)
        app = try App(store: store)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let r = call("POST", "/v1/stacks/h/packets?sync=true", Self.four)
        XCTAssertEqual(r.json?["traces_dropped"], .int(3), r.raw)
        XCTAssertEqual(r.json?["durable"], .bool(false))
        XCTAssertEqual(ids(""), [1])
        XCTAssertEqual(app.registry.get("h")?.storedTraces, 1)
        XCTAssertTrue(call("GET", "/metrics").raw.contains("packetstack_traces_dropped_total 3\n"))
        // One packet fits the empty queue: stored and durable, no traces_dropped.
        let one = call("POST", "/v1/stacks/h/packets?sync=true", #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":53}}]}"#)
        XCTAssertEqual(one.json?["durable"], .bool(true), one.raw)
        XCTAssertNil(one.json?["traces_dropped"])
        XCTAssertEqual(ids(""), [1, 5])
        // An answer handed over in pieces (256 traces each) loses its last ones only: once a piece
        // found the queue full, the pieces after it are dropped too, even if the writer has room again.
        let packet = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":53}}"#
        let many = call("POST", "/v1/stacks/h/packets?sync=true", #"{"packets":["# + Array(repeating: packet, count: 300).joined(separator: ",") + "]}")
        XCTAssertEqual(many.json?["traces_dropped"], .int(299), String(many.raw.suffix(200)))
        XCTAssertEqual(ids(""), [1, 5, 6])
    }

    /// A database made by the schema before migration 5 (0001-0004) with traces in it: the
    /// upgrade keeps every row and fills in the columns from the bodies, so the filters find them
    /// as they find new rows (only the tuple after NAT, never stored before, stays unknown).
    func testUpgradeFromTheSchemaBeforeTraceColumns() throws {
        try upgrade(from: 4)
        XCTAssertEqual(ids("dport=53"), [1])            // the DNAT's 53 was not stored before
        let item = first("dport=5353")
        XCTAssertEqual(item?["tuple"]?.rendered(), #"{"proto":17,"src":"198.18.0.1","sport":10,"dst":"198.18.0.2","dport":5353}"#)
        XCTAssertEqual(item?["final_tuple"], .null)
        XCTAssertEqual(item?["length"], .int(42))
        // New rows after the upgrade carry every column; ids go on from the old ones.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.four).status, 200)
        XCTAssertEqual(ids("dport=53"), [1, 5, 7])
    }

    /// A database made by the schema before migration 9 (whole bodies, their columns filled in):
    /// the upgrade moves each trace's events and frames into their tables, leaves the columns as
    /// they were (the tuple after NAT included), and every trace reads back as it did.
    func testUpgradeFromTheSchemaBeforeEventAndFrameTables() throws {
        try upgrade(from: 8)
        XCTAssertEqual(ids("dport=53"), [1, 3])         // after the DNAT too: the columns were kept
        XCTAssertEqual(first("dport=5353")?["final_tuple"]?.rendered(), #"{"proto":17,"src":"198.18.0.1","sport":10,"dst":"198.18.0.2","dport":53}"#)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.four).status, 200)
        XCTAssertEqual(ids("dport=53"), [1, 3, 5, 7])
    }

    /// A database made by migration 9's schema (a row per event in trace_events): the upgrade
    /// moves each trace's events, in order, into one trace_event_lists row and drops the table;
    /// every trace reads back as it did, and deleting a trace still takes its parts.
    func testUpgradeFromTheSchemaWithARowPerEvent() throws {
        try upgrade(from: 9)
        let db = try SQLiteConnection(path: store.path)
        XCTAssertEqual(try rows(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'trace_events'"), ["0"])
        XCTAssertEqual(try rows(db, "SELECT json_extract(stages, '$[0].function'), json_extract(stages, '$[#-1].function'), json_extract(netfilter, '$[1].rule') FROM trace_event_lists WHERE trace_id = 2"),
                       ["nic_receive|kfree_skb_reason|udp dport 54 drop"])
        XCTAssertEqual(call("DELETE", "/v1/traces?table=f&handle=2").status, 200)
        XCTAssertEqual(try rows(db, "SELECT trace_id FROM trace_event_lists ORDER BY trace_id") + rows(db, "SELECT DISTINCT trace_id FROM trace_frames ORDER BY trace_id"),
                       ["1", "3", "4", "1", "3", "4"])
    }

    /// A full trace is stored as rows: its stages and netfilter events in trace_event_lists, the frame
    /// it began with and what the stack sent in trace_frames, the rest in the body with null in
    /// their place; reading it back gives the answer that first showed it, byte for byte.
    func testFullTracesKeepEventsAndFramesInTablesOfTheirOwn() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        let answer = call("POST", "/v1/stacks/h/packets?sync=true", Self.four)
        guard case .array(let results) = answer.json?["results"] ?? .null, results.count == 4 else { return XCTFail(answer.raw) }
        for k in 1...4 { XCTAssertEqual(call("GET", "/v1/traces/\(k)").raw, results[k - 1].rendered() + "\n", "trace \(k)") }
        let db = try SQLiteConnection(path: store.path)
        // Trace 2: UDP to port 54, dropped by f input's rule; trace 4: a SYN to a closed port, answered with a RST.
        let packet = #"iif \"eth0\" ether saddr 02:00:00:00:00:01 ether daddr 02:00:00:00:00:02 ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 0 ip length 28 udp sport 9 udp dport 54 udp length 8 "#
        XCTAssertEqual(try rows(db, "SELECT stages, netfilter FROM trace_event_lists WHERE trace_id = 2"), [
            #"[{"function":"nic_receive","cpu":0,"time_ns":0},{"function":"napi_poll","cpu":0,"time_ns":710},{"function":"napi_alloc_skb","cpu":0,"time_ns":730},"#
            + #"{"function":"eth_type_trans","cpu":0,"time_ns":770},{"function":"napi_gro_receive","cpu":0,"time_ns":790},{"function":"netif_receive_skb","cpu":0,"time_ns":1490},"#
            + #"{"function":"__netif_receive_skb_core","cpu":0,"time_ns":1520},{"function":"ip_rcv","cpu":0,"time_ns":1560},{"function":"nf_hook_slow","cpu":0,"time_ns":1620},"#
            + #"{"function":"ip_rcv_finish","cpu":0,"time_ns":1670},{"function":"ip_local_deliver","cpu":0,"time_ns":1750},{"function":"nf_hook_slow","cpu":0,"time_ns":1770},"#
            + #"{"function":"kfree_skb_reason","cpu":0,"time_ns":1820}]|"#
            + #"[{"hook":"prerouting","table":"ip n","chain":"pre","type":"policy","handle":null,"rule":null,"verdict":"accept","generated":false,"packet":""# + packet + #""},"#
            + #"{"hook":"input","table":"ip f","chain":"input","type":"rule","handle":2,"rule":"udp dport 54 drop","verdict":"drop","generated":false,"packet":""# + packet + #""}]"#,
        ])
        XCTAssertEqual(try rows(db, "SELECT seq, direction, device, time_ns, hex(frame) FROM trace_frames WHERE trace_id = 2"),
                       ["0|in|eth0|0|" + (results[1]["frame_hex"].flatMap { if case .string(let h) = $0 { h.uppercased() } else { nil } } ?? "?")])
        XCTAssertEqual(try rows(db, "SELECT seq, direction, device, length(frame) FROM trace_frames WHERE trace_id = 4"), ["0|in|eth0|54", "1|out|eth0|42"])   // the SYN; the ARP request the RST waits on
        XCTAssertEqual(try rows(db, "SELECT parts, json_type(body, '$.stages'), json_type(body, '$.frame_hex'), json_type(body, '$.netfilter'), json_type(body, '$.emitted') FROM traces ORDER BY id"),
                       Array(repeating: "1|null|null|null|null", count: 4))
        // A summary row has no parts; deleting a trace takes its rows.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true&trace=summary", Self.four).status, 200)
        XCTAssertEqual(try rows(db, "SELECT COUNT(*) FROM trace_event_lists WHERE trace_id > 4") + rows(db, "SELECT COUNT(*) FROM trace_frames WHERE trace_id > 4"), ["0", "0"])
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/traces").status, 200)
        XCTAssertEqual(try rows(db, "SELECT COUNT(*) FROM trace_event_lists") + rows(db, "SELECT COUNT(*) FROM trace_frames"), ["0", "0"])
        // And with their stack.
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.four).status, 200)
        XCTAssertEqual(try rows(db, "SELECT SUM(json_array_length(stages) + json_array_length(netfilter)) FROM trace_event_lists") + rows(db, "SELECT COUNT(*) FROM trace_frames"), ["71", "4"])   // no second ARP request: the first is pending
        XCTAssertEqual(call("DELETE", "/v1/stacks/h").status, 204)
        XCTAssertEqual(try rows(db, "SELECT COUNT(*) FROM trace_event_lists") + rows(db, "SELECT COUNT(*) FROM trace_frames"), ["0", "0"])
    }

    /// Each row of a query as its columns joined by "|" (NULL as nothing).
    func rows(_ db: SQLiteConnection, _ sql: String) throws -> [String] {
        let q = try db.prepare(sql)
        try q.reset([])
        var out: [String] = []
        while try q.step() {
            out.append((0..<q.columnCount).map { c -> String in
                switch q.value(c) { case .null: ""; case .int(let n): String(n); case .text(let t): t; case .blob(let b): Hex.encode(b) }
            }.joined(separator: "|"))
        }
        q.done()
        return out
    }

    /// Loads the usual four traces, writes them into a database made by the migrations up to
    /// `version` as the code of that schema stored them (whole bodies; from 5 on, their columns
    /// and rule rows as well), and opens that database: every stack, version and trace is there
    /// and reads back as before.
    func upgrade(from version: Int) throws {
        try load()
        guard case .object(let fields) = call("GET", "/v1/stacks/h").json ?? .null else { return XCTFail("no stack document") }
        let config = Array(JSONValue.object(fields.filter { $0.0 != "created_at" }).rendered().utf8)
        let bodies = (1...4).map { call("GET", "/v1/traces/\($0)").raw.trimmingCharacters(in: .newlines) }
        let versions = call("GET", "/v1/stacks/h/ruleset?handles=true").raw
        let oldPath = dir.appendingPathComponent("old.db").path
        do {
            let old = try SQLiteConnection(path: oldPath)
            _ = try old.migrate(EmbeddedMigrations.all.filter { $0.version <= version })
            let insStack = try old.prepare("INSERT INTO stacks (id, name, config, created_at) VALUES (1, 'h', ?1, '2026-12-01T00:00:00.000Z')")
            try insStack.run([.text(String(decoding: config, as: UTF8.self))])
            let insVersion = try old.prepare("INSERT INTO ruleset_versions (stack_id, version, created_at, summary, ruleset) VALUES (1, 1, 'x', 'replace', ?1)")
            try insVersion.run([.text(versions)])
            if version >= 5 {
                // The columns and rule rows as this store has them; the bodies whole, as they were stored then.
                let columns = "id, stack_id, device, outcome, drop_reason, created_at, body, indexed, start_ns, end_ns, length, last_stage, stages_lo, stages_hi, proto, saddr, daddr, sport, dport, nat_saddr, nat_daddr, nat_sport, nat_dport"
                try old.exec("ATTACH DATABASE '\(store.path)' AS cur; INSERT INTO traces (\(columns)) SELECT \(columns) FROM cur.traces; INSERT INTO trace_rules SELECT * FROM cur.trace_rules; DETACH DATABASE cur")
                let setBody = try old.prepare("UPDATE traces SET body = ?2 WHERE id = ?1")
                for (k, b) in bodies.enumerated() { try setBody.run([.int(Int64(k + 1)), .text(b)]) }
                if version == 9 {
                    // As migration 9's code stored them: a row per stage, then per netfilter event; the frames; null in the body.
                    try old.exec("""
                        INSERT INTO trace_events (trace_id, seq, kind, name, cpu, time_ns, detail)
                            SELECT t.id, s.key, 'stage', json_extract(s.value, '$.function'), json_extract(s.value, '$.cpu'), json_extract(s.value, '$.time_ns'),
                                   CASE WHEN json_extract(s.value, '$.generated') THEN '{"generated":true}' END
                            FROM traces t, json_each(t.body, '$.stages') s;
                        INSERT INTO trace_events (trace_id, seq, kind, name, cpu, time_ns, detail)
                            SELECT t.id, json_array_length(t.body, '$.stages') + n.key, 'netfilter', json_extract(n.value, '$.hook'), NULL, NULL, n.value
                            FROM traces t, json_each(t.body, '$.netfilter') n;
                        """)
                    let insFrame = try old.prepare("INSERT INTO trace_frames (trace_id, seq, direction, device, time_ns, frame) VALUES (?1, ?2, ?3, 'eth0', ?4, ?5)")
                    for (k, b) in bodies.enumerated() {
                        let doc = try JSONParser.parse(b)
                        guard case .string(let hex) = doc["frame_hex"] ?? .null, case .array(let sent) = doc["emitted"] ?? .null, case .int(let start) = doc["start_ns"] ?? .null else { return XCTFail(b) }
                        try insFrame.run([.int(Int64(k + 1)), .int(0), .text("in"), .int(Int64(start)), .blob(try Hex.decode(hex))])
                        for (j, x) in sent.enumerated() {
                            guard case .string(let h) = x["hex"] ?? .null, case .int(let t) = x["time_ns"] ?? .null else { return XCTFail(b) }
                            try insFrame.run([.int(Int64(k + 1)), .int(Int64(j + 1)), .text("out"), .int(Int64(t)), .blob(try Hex.decode(h))])
                        }
                    }
                    try old.exec("UPDATE traces SET parts = 1, body = json_set(body, '$.stages', NULL, '$.frame_hex', NULL, '$.netfilter', NULL, '$.emitted', NULL)")
                }
            } else {
                let insTrace = try old.prepare("INSERT INTO traces (id, stack_id, device, outcome, drop_reason, created_at, body) VALUES (?1, 1, 'eth0', ?2, ?3, '2026-12-01T00:00:00.000Z', ?4)")
                for (k, b) in bodies.enumerated() {
                    let doc = try JSONParser.parse(b)
                    let reason: Statement.Value = if case .string(let r) = doc["drop_reason"] ?? .null { .text(r) } else { .null }
                    try insTrace.run([.int(Int64(k + 1)), .text(doc["outcome"]!.rendered().trimmingCharacters(in: CharacterSet(charactersIn: "\""))), reason, .text(b)])
                }
            }
        }
        store.close()
        store = try Store(path: oldPath)
        XCTAssertEqual(store.appliedMigrations, Array((version + 1)...12))
        app = try App(store: store)
        XCTAssertEqual(app.loadProblems, [])
        XCTAssertEqual(ids(""), [1, 2, 3, 4])
        XCTAssertEqual(ids("dport=5353&proto=udp"), [3])
        XCTAssertEqual(ids("table=f&handle=2"), [2])
        XCTAssertEqual(ids("stage=tcp_v4_send_reset"), [4])
        XCTAssertEqual(ids("since_ns=5000000"), [4])
        for k in 1...4 { XCTAssertEqual(call("GET", "/v1/traces/\(k)").raw.trimmingCharacters(in: .newlines), bodies[k - 1], "trace \(k)") }
        // Their events and frames were moved out of the bodies.
        let db = try SQLiteConnection(path: oldPath)
        XCTAssertEqual(try rows(db, """
            SELECT t.id, t.parts, (SELECT json_array_length(e.stages) + json_array_length(e.netfilter) FROM trace_event_lists e WHERE e.trace_id = t.id),
                   (SELECT COUNT(*) FROM trace_frames f WHERE f.trace_id = t.id) FROM traces t ORDER BY t.id
            """),
                       ["1|1|17|1", "2|1|15|1", "3|1|17|1", "4|1|28|2"])
    }
}
