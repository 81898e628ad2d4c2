import API
import Foundation
import HTTPServer
import JSON
import XCTest

/// `tc qdisc` over the API: show (JSON and text), add/replace/del with the kernel's refusals, the
/// counters forwarding moves, and the qdiscs kept with the stack across a restart.
final class QdiscAPITests: AppTestCase {
    static let udp = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1","dst":"198.18.1.2"},"udp":{"sport":1,"dport":2},"payload_hex":"00"}"#

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"q","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]},{"name":"eth1","mac":"02:00:00:00:01:01","addresses":["198.18.1.1/24"],"veth":true}],"neighbours":[{"address":"198.18.1.2","mac":"02:00:00:00:01:02","dev":"eth1"}],"sysctls":{"net.ipv4.ip_forward":1}}"#).status, 201)
    }

    func testShowAddDeleteAndPersist() throws {
        // tc lists by ifindex: lo (1) first.
        XCTAssertEqual(call("GET", "/v1/stacks/q/qdiscs?format=text").raw, """
            qdisc noqueue 0: dev lo root refcnt 2 \n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0
            qdisc pfifo_fast 0: dev eth0 root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1
             Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0
            qdisc noqueue 0: dev eth1 root refcnt 2 \n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0

            """)
        let add = call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc add dev eth1 root handle 1: tbf rate 1mbit burst 3000 limit 30000"}"#)
        XCTAssertEqual(add.status, 201, add.raw)
        XCTAssertEqual(add.raw, #"[{"kind":"tbf","handle":"1:","root":true,"refcnt":2,"options":{"rate":125000,"burst":3000,"lat":216000},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]\#n"#)
        XCTAssertEqual(call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc add dev eth1 parent 1:1 handle 10: pfifo limit 5"}"#).status, 201)
        let lo = call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc replace dev lo root pfifo"}"#)
        XCTAssertEqual([lo.status.description, lo.json?["detail"].map { "\($0)" } ?? ""], ["422", #"string("not supported yet: qdiscs, classes and clsact on lo (its noqueue root is fixed)")"#])
        let again = call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc add dev eth1 root pfifo"}"#)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.json?["detail"], .string("Error: Exclusivity flag on, cannot modify."))
        let bad = call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc add dev eth1 root tbf rate fast burst 1k latency 1ms"}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json?["detail"], .string("tbf: Illegal value for \"rate\": \"fast\""))
        XCTAssertEqual(bad.json?["word"], .int(7))
        XCTAssertEqual(call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc add dev eth9 root pfifo"}"#).status, 404)
        // Three forwarded frames of 43 bytes: the bucket (3000 bytes) passes them all at once.
        let r = call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(Self.udp),\#(Self.udp),\#(Self.udp)]}"#)
        XCTAssertEqual(r.json?["results"]?.rendered().components(separatedBy: #""outcome":"forwarded""#).count, 4, r.raw)
        let shown = call("GET", "/v1/stacks/q/qdiscs?dev=eth1&format=text").raw
        XCTAssertEqual(shown, """
            qdisc tbf 1: root refcnt 2 rate 1Mbit burst 3000b lat 216ms \n Sent 129 bytes 3 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0
            qdisc pfifo 10: parent 1:1 limit 5p
             Sent 129 bytes 3 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0

            """)
        XCTAssertTrue(call("GET", "/v1/stacks/q").raw.contains(#""qdiscs":["qdisc add dev eth1 root handle 1: tbf rate 1000000bit burst 3000b limit 30000b","qdisc add dev eth1 parent 1:1 handle 10: pfifo limit 5"]"#))
        // Kept with the stack, and their counters and tbf's bucket with its checkpoint.
        XCTAssertEqual(app.checkpoint(), ["q"])
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/q/qdiscs?dev=eth1&format=text").raw, shown)
        XCTAssertEqual(call("DELETE", "/v1/stacks/q/qdiscs?dev=eth1").status, 204)
        let none = call("DELETE", "/v1/stacks/q/qdiscs?dev=eth1")
        XCTAssertEqual(none.status, 404)
        XCTAssertEqual(none.json?["detail"], .string("Error: Cannot delete qdisc with handle of zero."))
        XCTAssertEqual(call("GET", "/v1/stacks/q/qdiscs?dev=eth1").raw, #"[{"kind":"noqueue","handle":"0:","root":true,"refcnt":2,"options":{},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]\#n"#)
    }

    /// tbf's bucket survives a restart: a frame right after a burst that emptied it waits for
    /// tokens as it would have without the restart, unless tbf's options changed since.
    func testTBFBucketGoesOnAfterARestart() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc add dev eth1 root handle 1: tbf rate 1mbit burst 3000 limit 30000"}"#).status, 201)
        let big = Self.udp.replacingOccurrences(of: #""payload_hex":"00""#, with: #""payload_hex":"\#(String(repeating: "ab", count: 1000))""#)
        let five = Array(repeating: big, count: 5).joined(separator: ",")
        let burst = call("POST", "/v1/stacks/q/packets", "{\"packets\":[" + five + "]}")
        XCTAssertEqual(burst.status, 200, burst.raw)
        XCTAssertEqual(app.checkpoint(), ["q"])
        let later = String(big.dropLast()) + #","at_ns":20000000}"#
        func next() -> JSONValue? {
            let r = call("POST", "/v1/stacks/q/packets", "{\"packets\":[" + later + "]}")
            guard case .array(let rs) = r.json?["results"] ?? .null, case .array(let out) = rs.first?["emitted"] ?? .null else { return nil }
            return out.first?["time_ns"]
        }
        let live = next()
        try reopen()
        XCTAssertEqual(next(), live)
        XCTAssertEqual(live, .int(26_017_710))   // sent at 20 ms, out at 26 ms: the bucket was still short of tokens
        // Options changed after the checkpoint: the bucket starts full, as tbf_change refills it.
        let change = call("POST", "/v1/stacks/q/qdiscs", #"{"command":"qdisc change dev eth1 root handle 1: tbf rate 1mbit burst 6000 limit 30000"}"#)
        XCTAssertEqual(change.status, 200, change.raw)
        try reopen()
        XCTAssertEqual(next(), .int(20_001_270))
    }

    /// htb's classes keep their counters, buckets and modes across a restart: after a burst that
    /// left the leaf over its rate (waiting to change mode), the next packet leaves when it would
    /// have, and `tc -s class show` says the same.
    func testHTBClassesGoOnAfterARestart() throws {
        for c in ["qdisc add dev eth1 root handle 1: htb default 10", "class add dev eth1 parent 1: classid 1:1 htb rate 2mbit burst 3000",
                  "class add dev eth1 parent 1:1 classid 1:10 htb rate 1mbit ceil 1mbit burst 3000 cburst 3000"] {
            XCTAssertEqual(call("POST", "/v1/stacks/q/qdiscs", #"{"command":"\#(c)"}"#).status, 201, c)
        }
        let big = Self.udp.replacingOccurrences(of: #""payload_hex":"00""#, with: #""payload_hex":"\#(String(repeating: "ab", count: 1000))""#)
        let burst = call("POST", "/v1/stacks/q/packets", "{\"packets\":[" + Array(repeating: big, count: 5).joined(separator: ",") + "]}")
        XCTAssertEqual(burst.status, 200, burst.raw)
        XCTAssertEqual(app.checkpoint(), ["q"])
        // The burst's last frame left at 9.3 ms; one more at 10 ms finds the leaf's bucket short.
        let later = String(big.dropLast()) + #","at_ns":10000000}"#
        func next() -> (JSONValue?, String) {
            let r = call("POST", "/v1/stacks/q/packets", "{\"packets\":[" + later + "]}")
            guard case .array(let rs) = r.json?["results"] ?? .null, case .array(let out) = rs.first?["emitted"] ?? .null else { return (nil, r.raw) }
            return (out.first?["time_ns"], call("GET", "/v1/stacks/q/classes?dev=eth1&format=text").raw)
        }
        let before = call("GET", "/v1/stacks/q/classes?dev=eth1&format=text").raw
        let live = next()
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/q/classes?dev=eth1&format=text").raw, before)
        let restored = next()
        XCTAssertEqual(restored.0, live.0)
        XCTAssertEqual(restored.1, live.1)
        XCTAssertEqual(live.0, .int(17_681_710))   // held till the leaf's bucket (1 Mbit, 8.3 ms a frame) had it
        XCTAssertTrue(live.1.hasPrefix("class htb 1:10 parent 1:1 prio 0 rate 1Mbit ceil 1Mbit burst 3000b cburst 3000b \n Sent 6252 bytes 6 pkt (dropped 0, overlimits 4 requeues 0) "), live.1)
    }

    func testStackDocumentTakesQdiscsAndRefusesBadOnes() throws {
        let doc = #"{"name":"d","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","speed":10,"tx_ring_size":64}],"qdiscs":["qdisc add dev eth0 root pfifo limit 50"]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        XCTAssertEqual(call("GET", "/v1/stacks/d/qdiscs?format=text").raw.components(separatedBy: "\n").first { $0.contains("dev eth0") }, "qdisc pfifo 8001: dev eth0 root refcnt 2 limit 50p")
        let bad = call("POST", "/v1/stacks", #"{"name":"e","devices":[{"name":"eth0","mac":"02:00:00:00:00:02"}],"qdiscs":["qdisc add dev eth0 root pfifo","qdisc add dev eth1 root pfifo"]}"#)
        XCTAssertEqual(bad.status, 422)
        XCTAssertEqual(bad.json?["pointer"], .string("/qdiscs/1"))
        XCTAssertEqual(bad.json?["detail"], .string("Cannot find device \"eth1\""))
    }
}

extension QdiscAPITests {
    /// htb over the API: classes added (a leaf that gets a child becomes inner, its qdisc gone),
    /// a qdisc grafted on a leaf, `tc class show` text and JSON, refusals as the kernel words them,
    /// a forwarded packet in the default class, and the tree kept across a restart.
    func testHTBClasses() throws {
        func tc(_ c: String) -> (status: Int, raw: String, json: JSONValue?) {
            let r = call("POST", "/v1/stacks/q/qdiscs", #"{"command":"\#(c)"}"#)
            return (r.status, r.raw, r.json)
        }
        XCTAssertEqual(tc("class add dev eth1 parent 1: classid 1:1 htb rate 10mbit").status, 404, "no htb qdisc yet")
        XCTAssertEqual(tc("qdisc add dev eth1 root handle 1: htb default 20").status, 201)
        XCTAssertEqual(tc("class add dev eth1 parent 1: classid 1:1 htb rate 10mbit").status, 201)
        XCTAssertEqual(tc("class add dev eth1 parent 1:1 classid 1:10 htb rate 2mbit ceil 10mbit").status, 201)
        XCTAssertEqual(tc("class add dev eth1 parent 1:1 classid 1:20 htb rate 8mbit ceil 10mbit prio 1").status, 201)
        XCTAssertEqual(tc("qdisc add dev eth1 parent 1:20 handle 20: pfifo limit 5").status, 201)
        XCTAssertEqual(tc("qdisc add dev eth1 parent 1:1 handle 30: pfifo").json?["detail"], .string("RTNETLINK answers: Invalid argument"))
        XCTAssertEqual(tc("class add dev eth1 parent 1: classid 1:1 htb rate 1mbit").json?["detail"], .string("RTNETLINK answers: File exists"))
        XCTAssertEqual(tc("class add dev eth1 parent 1: classid 1:2 htb ceil 1mbit").json?["detail"], .string("\"rate\" is required."))
        XCTAssertEqual(tc("class del dev eth1 classid 1:1").json?["detail"], .string("Error: HTB class in use."))
        let r = call("POST", "/v1/stacks/q/packets", #"{"packets":[\#(Self.udp)]}"#)
        XCTAssertEqual(r.json?["outcomes"], .object([("forwarded", .int(1))]), r.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/q/classes?dev=eth1&format=text").raw, """
            class htb 1:10 parent 1:1 prio 0 rate 2Mbit ceil 10Mbit burst 1600b cburst 1600b 
             Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) 
             backlog 0b 0p requeues 0
             lended: 0 borrowed: 0 giants: 0
             tokens: 100000 ctokens: 20000

            class htb 1:1 root rate 10Mbit ceil 10Mbit burst 1600b cburst 1600b 
             Sent 43 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) 
             backlog 0b 0p requeues 0
             lended: 0 borrowed: 0 giants: 0
             tokens: 19462 ctokens: 19462

            class htb 1:20 parent 1:1 leaf 20: prio 1 rate 8Mbit ceil 10Mbit burst 1600b cburst 1600b 
             Sent 43 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) 
             backlog 0b 0p requeues 0
             lended: 1 borrowed: 0 giants: 0
             tokens: 24328 ctokens: 19462


            """)
        let json = call("GET", "/v1/stacks/q/classes?dev=eth1").raw
        XCTAssertTrue(json.contains(#"{"class":"htb","handle":"1:20","parent":"1:1","leaf":"20:","prio":1,"quantum":100000,"rate":1000000,"ceil":1250000,"burst":1600,"cburst":1600,"level":0,"bytes":43"#), json)
        try reopen()
        let stored = call("GET", "/v1/stacks/q").raw
        XCTAssertTrue(stored.contains(#""qdiscs":["qdisc add dev eth1 root handle 1: htb default 20 r2q 10","class add dev eth1 parent 1: classid 1:1 htb rate 10000000bit ceil 10000000bit burst 1600b cburst 1600b prio 0","class add dev eth1 parent 1:1 classid 1:10 htb rate 2000000bit ceil 10000000bit burst 1600b cburst 1600b prio 0","class add dev eth1 parent 1:1 classid 1:20 htb rate 8000000bit ceil 10000000bit burst 1600b cburst 1600b prio 1","qdisc add dev eth1 parent 1:20 handle 20: pfifo limit 5"]"#), stored)
        XCTAssertTrue(call("GET", "/v1/stacks/q/classes?format=text").raw.hasPrefix("class htb 1:10 dev eth1 parent 1:1 prio 0 rate 2Mbit"))
        // Deleting the root takes the classes along.
        XCTAssertEqual(call("DELETE", "/v1/stacks/q/qdiscs?dev=eth1").status, 204)
        XCTAssertEqual(call("GET", "/v1/stacks/q/classes").raw, "[]\n")
    }
}
