import API
import Foundation
import HTTPServer
import JSON
import Store
import XCTest

/// The handlers through `App.respond`, without sockets.
final class APITests: AppTestCase {
    static let router = #"{"name":"router","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"routes":[{"dst":"default","via":"198.18.0.254","dev":"eth0"}]}"#

    func testCreateGetListDelete() {
        let c = call("POST", "/v1/stacks", Self.router)
        XCTAssertEqual(c.status, 201)
        XCTAssertEqual(c.headers.first { $0.name == "location" }?.value, "/v1/stacks/router")
        XCTAssertEqual(c.json?["devices"], try? JSONParser.parse(#"[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"],"mtu":1500,"rx_queues":1,"ring_size":256,"rx_checksum_offload":true,"rx_usecs":0,"rx_frames":1,"rss_key":"6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa","rps_cpus":[],"rps_flow_cnt":0,"tx_queue_len":1000,"tx_ring_size":256,"speed":0,"tso":false,"tx_checksum_offload":true,"tx_udp_segmentation":false}]"#))
        XCTAssertEqual(c.json?["routes"], try? JSONParser.parse(#"[{"dst":"0.0.0.0/0","via":"198.18.0.254","dev":"eth0","metric":0}]"#))
        XCTAssertEqual(call("GET", "/v1/stacks/router").json?["name"], .string("router"))
        XCTAssertEqual(call("POST", "/v1/stacks", Self.router).status, 409)
        for i in 0..<3 { call("POST", "/v1/stacks", #"{"name":"s\#(i)"}"#) }
        let p1 = call("GET", "/v1/stacks?limit=2")
        guard case .array(let items) = p1.json?["items"], case .string(let cur) = p1.json?["next_cursor"] else { return XCTFail(p1.raw) }
        XCTAssertEqual(items.map { $0["name"] }, [.string("router"), .string("s0")])
        let p2 = call("GET", "/v1/stacks?limit=2&cursor=\(cur)")
        guard case .array(let items2) = p2.json?["items"] else { return XCTFail(p2.raw) }
        XCTAssertEqual(items2.map { $0["name"] }, [.string("s1"), .string("s2")])
        XCTAssertEqual(p2.json?["next_cursor"], .null)
        XCTAssertEqual(call("DELETE", "/v1/stacks/router").status, 204)
        XCTAssertEqual(call("GET", "/v1/stacks/router").status, 404)
        XCTAssertEqual(call("DELETE", "/v1/stacks/router").status, 404)
    }

    func testBadInputIsProblemJSONAndChangesNothing() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.router).status, 201)
        let before = try store.stacks()
        let cases: [(String, Int, String, String?)] = [
            (#"{"name":"x","#, 400, "malformed-json", nil),
            (#"{"name":"x","color":"red"}"#, 400, "unknown-field", "/color"),
            (#"{"name":"x","cpus":"2"}"#, 400, "invalid-field", "/cpus"),
            (#"{"name":"x","cpus":0}"#, 400, "invalid-field", "/cpus"),
            (#"{"name":"bad name"}"#, 422, "invalid-value", "/name"),
            (#"{"name":"x","devices":[{"name":"eth0","mac":"02:00:00:00:00"}]}"#, 422, "invalid-value", "/devices/0/mac"),
            (#"{"name":"x","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["10.0.0.1/40"]}]}"#, 422, "invalid-value", "/devices/0/addresses/0"),
            (#"{"name":"x","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","bogus":1}]}"#, 400, "unknown-field", "/devices/0/bogus"),
            (#"{"name":"x","routes":[{"dst":"0.0.0.0/0","dev":"eth9"}]}"#, 422, "invalid-value", "/routes/0/dev"),
            (#"{"name":"x","sysctls":{"net.ipv4.ip_forward":2}}"#, 422, "invalid-value", "/sysctls/net.ipv4.ip_forward"),
            (#"{"name":"x","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","rx_queues":2,"rss_indirection":[0,1,2,3]}]}"#, 422, "invalid-value", "/devices/0/rss_indirection/2"),
            (#"{"name":"x","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","rps_cpus":[[0,5]]}]}"#, 422, "invalid-value", "/devices/0/rps_cpus/0/1"),
            (#"{"name":"x","sockets":[{"port":0}]}"#, 400, "invalid-field", "/sockets/0/port"),
            (#"{"name":"router"}"#, 409, "conflict", nil),
            ("", 400, "missing-body", nil),
            ("[1,2]", 400, "invalid-field", "/"),
        ]
        for (body, status, slug, pointer) in cases {
            let r = call("POST", "/v1/stacks", body)
            XCTAssertEqual(r.status, status, body)
            XCTAssertEqual(r.json?["type"], .string("urn:packetstack:problem:\(slug)"), "\(body): \(r.raw)")
            XCTAssertEqual(r.json?["status"], .int(status), body)
            if let pointer { XCTAssertEqual(r.json?["pointer"], .string(pointer), "\(body): \(r.raw)") }
        }
        let syntax = call("POST", "/v1/stacks", "{\n\"name\": \"x\",\n}")
        XCTAssertEqual(syntax.json?["line"], .int(3))
        XCTAssertEqual(syntax.json?["column"], .int(1))
        XCTAssertEqual(call("POST", "/v1/stacks", "{}", type: "text/plain").status, 415)
        XCTAssertEqual(try store.stacks(), before)
    }

    func testRoutingErrors() {
        let nf = call("GET", "/v2/nothing")
        XCTAssertEqual(nf.status, 404)
        let wm = call("PATCH", "/v1/stacks")
        XCTAssertEqual(wm.status, 405)
        XCTAssertEqual(wm.headers.first { $0.name == "allow" }?.value, "GET, HEAD, POST")
        XCTAssertEqual(call("GET", "/v1/stacks?bogus=1").json?["type"], .string("urn:packetstack:problem:unknown-parameter"))
        XCTAssertEqual(call("GET", "/v1/traces?limit=0").status, 400)
        XCTAssertEqual(call("GET", "/v1/traces?cursor=zzz").json?["type"], .string("urn:packetstack:problem:invalid-cursor"))
        XCTAssertEqual(call("GET", "/v1/traces?drop_reason=NOPE").status, 400)
        XCTAssertEqual(call("GET", "/v1/traces/abc").status, 404)
    }

    func testInjectHexAndLayersThenQueryTraces() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.router).status, 201)
        let hex = "02000000000102000000ff0108004500001e000000004011eea0c6120009c612000114e90035000ab2bfabcd"
        let body = """
        {"packets":[
          {"device":"eth0","hex":"\(hex)"},
          {"device":"eth0","ipv4":{"src":"198.18.0.9"},"udp":{"sport":5353,"dport":53},"payload_hex":"abcd"},
          {"device":"eth0","ipv4":{"src":"198.18.0.9","checksum":4660},"udp":{"dport":53}},
          {"device":"eth0","eth":{"dst":"02:00:00:00:00:99"},"ipv4":{"src":"198.18.0.9"},"tcp":{"dport":80,"flags":["syn"]}},
          {"device":"eth0","ipv4":{"src":"198.18.0.9"},"icmp":{"type":8,"id":1,"seq":1}}
        ]}
        """
        let r = call("POST", "/v1/stacks/router/packets?sync=true", body)
        XCTAssertEqual(r.status, 200, r.raw)
        guard case .array(let results) = r.json?["results"] else { return XCTFail(r.raw) }
        XCTAssertEqual(results.map { $0["outcome"] }, [.string("dropped"), .string("dropped"), .string("dropped"), .string("dropped"), .string("consumed")])
        XCTAssertEqual(results.map { $0["drop_reason"] }, [.string("NO_SOCKET"), .string("NO_SOCKET"), .string("IP_CSUM"), .string("OTHERHOST"), .null])
        XCTAssertEqual(results.map { $0["trace_id"] }, [.int(1), .int(2), .int(3), .int(4), .int(5)])
        // Layers with defaults build exactly the frame given in hex.
        XCTAssertEqual(results[1]["frame_hex"], .string(hex))
        XCTAssertEqual(r.json?["durable"], .bool(true))
        guard case .array(let stages) = results[0]["stages"] else { return XCTFail() }
        XCTAssertEqual(stages.map { $0["function"] }, ["nic_receive", "napi_poll", "napi_alloc_skb", "eth_type_trans", "napi_gro_receive", "netif_receive_skb",
                                                        "__netif_receive_skb_core", "ip_rcv", "ip_rcv_finish", "ip_local_deliver", "ip_local_deliver_finish",
                                                        "udp_rcv", "icmp_send", "ip_local_out", "ip_output", "ip_finish_output", "neigh_output", "arp_send",
                                                        "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "kfree_skb_reason"].map { JSONValue.string($0) })
        // The port unreachable waits for 198.18.0.9's MAC: the ARP request is what left.
        guard case .array(let emitted) = results[0]["emitted"], let arp = emitted.first?["hex"] else { return XCTFail() }
        XCTAssertEqual(arp, .string("ffffffffffff020000000001080600010800060400010200000000" + "01c6120001000000000000c6120009"))

        let list = call("GET", "/v1/traces?stack=router&drop_reason=NO_SOCKET")
        guard case .array(let items) = list.json?["items"] else { return XCTFail(list.raw) }
        XCTAssertEqual(items.map { $0["trace_id"] }, [.int(1), .int(2)])
        let paged = call("GET", "/v1/traces?limit=2&outcome=dropped")
        guard case .string(let cur) = paged.json?["next_cursor"] else { return XCTFail(paged.raw) }
        let rest = call("GET", "/v1/traces?limit=2&outcome=dropped&cursor=\(cur)")
        guard case .array(let restItems) = rest.json?["items"] else { return XCTFail() }
        XCTAssertEqual(restItems.map { $0["trace_id"] }, [.int(3), .int(4)])
        let one = call("GET", "/v1/traces/3")
        XCTAssertEqual(one.json?["drop_reason"], .string("IP_CSUM"))
        XCTAssertEqual(one.json?["stages"], results[2]["stages"])

        let stats = call("GET", "/v1/stacks/router/stats")
        XCTAssertEqual(stats.json?["snmp"]?["Ip"]?["InReceives"], .int(4))
        XCTAssertEqual(stats.json?["snmp"]?["Ip"]?["InCsumErrors"], .int(1))
        XCTAssertEqual(stats.json?["snmp"]?["Udp"]?["NoPorts"], .int(2))
        XCTAssertEqual(stats.json?["devices"]?["eth0"]?["rx_otherhost_dropped"], .int(1))
    }

    func testBadPacketsChangeNothing() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.router).status, 201)
        let cases: [(String, Int, String?)] = [
            (#"{"packets":[{"device":"eth9","hex":"00"}]}"#, 422, "/packets/0/device"),
            (#"{"packets":[{"device":"eth0","hex":"0g"}]}"#, 422, "/packets/0/hex"),
            (#"{"packets":[{"device":"eth0","hex":"abc"}]}"#, 422, "/packets/0/hex"),
            (#"{"packets":[{"device":"eth0"}]}"#, 400, "/packets/0"),
            (#"{"packets":[{"device":"eth0","udp":{}}]}"#, 400, "/packets/0/udp"),
            (#"{"packets":[{"device":"eth0","ipv4":{"src":"1.2.3"}}]}"#, 422, "/packets/0/ipv4/src"),
            (#"{"packets":[{"device":"eth0","ipv4":{"src":"1.2.3.4"},"tcp":{"flags":["boom"]}}]}"#, 422, "/packets/0/tcp/flags/0"),
            (#"{"packets":[{"device":"eth0","hex":"00","ipv4":{}}]}"#, 400, "/packets/0/ipv4"),
            (#"{"packets":[]}"#, 422, "/packets"),
            (#"{"packet":[]}"#, 400, nil),
        ]
        // A good packet first: it must not run when a later one is bad.
        for (body, status, pointer) in cases {
            let withGood = body.replacingOccurrences(of: #"{"packets":["#, with: #"{"packets":[{"device":"eth0","hex":"020000000001"},"#)
            let b = body.contains("[]") ? body : withGood
            let r = call("POST", "/v1/stacks/router/packets", b)
            XCTAssertEqual(r.status, status, "\(b): \(r.raw)")
            if let pointer { XCTAssertEqual(r.json?["pointer"], .string(pointer.replacingOccurrences(of: "/packets/0", with: body.contains("[]") ? "/packets/0" : "/packets/1")), r.raw) }
        }
        XCTAssertEqual(call("POST", "/v1/stacks/nope/packets", #"{"packets":[]}"#).status, 404)
        XCTAssertEqual(call("GET", "/v1/stacks/router/stats").json?["devices"]?["eth0"]?["rx_packets"], .int(0))
        XCTAssertEqual(call("GET", "/v1/traces").json?["items"], .array([]))
    }

    func testStacksAndTracesSurviveAReopen() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.router).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/router/packets", #"{"packets":[{"device":"eth0","hex":"02000000000102000000ff01"}]}"#).status, 200)
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/router").json?["routes"]?.rendered(), #"[{"dst":"0.0.0.0/0","via":"198.18.0.254","dev":"eth0","metric":0}]"#)
        XCTAssertEqual(call("GET", "/v1/traces/1").json?["drop_reason"], .string("PKT_TOO_SMALL"))
        XCTAssertEqual(call("POST", "/v1/stacks/router/packets", #"{"packets":[{"device":"eth0","hex":"00"}]}"#).json?["results"]?.rendered().contains(#""trace_id":2"#), true)
    }
}
