import API
import Foundation
import HTTPServer
import JSON
import Store
import Wire
import XCTest

/// Routes, neighbours, sockets, softnet_stat, the clock and timed injection over the API.
final class ResourceTests: AppTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"r","cpus":2,"devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]},{"name":"eth1","mac":"02:00:00:00:01:01","addresses":["198.18.1.1/24"]}],"sysctls":{"net.ipv4.ip_forward":1}}"#).status, 201)
    }


    static let udp = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1","dst":"198.19.0.23","ttl":5},"udp":{"sport":1,"dport":2}}"#

    func testRoutesAndNeighboursDriveForwardingAndPersist() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"198.19.0.0/16","via":"198.18.1.2","dev":"eth1"}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"198.19.0.0/16","via":"198.18.1.2","dev":"eth1"}"#).status, 409)
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"10.0.0.0/8","via":"10.9.9.9","dev":"eth1"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/r/neighbours", #"{"address":"198.18.1.2","mac":"02:00:00:00:01:02","dev":"eth1"}"#).status, 201)
        let r = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(Self.udp)]}"#)
        XCTAssertEqual(r.json?["results"]?.rendered().contains(#""outcome":"forwarded""#), true, r.raw)
        XCTAssertEqual(r.json?["results"]?.rendered().contains(#""device":"eth1","time_ns""#), true, r.raw)
        let routes = call("GET", "/v1/stacks/r/routes").raw
        XCTAssertTrue(routes.contains(#"{"dst":"198.19.0.0/16","type":"unicast","via":"198.18.1.2","dev":"eth1","metric":0,"proto":"static","table":"main"}"#), routes)
        XCTAssertTrue(call("GET", "/v1/stacks/r/neighbours").raw.contains(#"{"address":"198.18.1.2","dev":"eth1","mac":"02:00:00:00:01:02","state":"PERMANENT","queued":0}"#))
        // Both survive a restart.
        try reopen()
        let again = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(Self.udp)]}"#)
        XCTAssertEqual(again.json?["results"]?.rendered().contains(#""outcome":"forwarded""#), true, again.raw)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/routes?dst=198.19.0.0/16").status, 204)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/routes?dst=198.19.0.0/16").status, 404)
        let gone = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(Self.udp)]}"#)
        XCTAssertEqual(gone.json?["results"]?.rendered().contains(#""drop_reason":"IP_INNOROUTES""#), true, gone.raw)
    }

    /// `ip rule` and route tables: a marked packet for another host is delivered through table
    /// 100's local route (delivered, not forwarded); rules and table routes are listed as `ip -j
    /// rule` and `ip route show table all` list them, stored, and deleted.
    func testPolicyRulesAndTables() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"0.0.0.0/0","dev":"lo","type":"local","table":100}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"0.0.0.0/0","dev":"lo","type":"local","table":"100"}"#).status, 409)
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"0.0.0.0/0","dev":"lo"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/r/routes", #"{"dst":"0.0.0.0/0","dev":"eth0","type":"blackhole"}"#).status, 422)
        let rule = call("POST", "/v1/stacks/r/rules", #"{"fwmark":"0x1","table":100}"#)
        XCTAssertEqual(rule.raw, #"{"priority":32765,"fwmark":"0x1","table":"100"}"# + "\n")
        XCTAssertEqual(call("POST", "/v1/stacks/r/rules", #"{"from":"10.0.0.0/8","iif":"eth1","table":"main","priority":50}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/rules", #"{"iif":"eth9","table":5}"#).status, 422)
        XCTAssertEqual(call("GET", "/v1/stacks/r/rules").raw, #"{"items":[{"priority":0,"src":"all","table":"local"},{"priority":50,"src":"10.0.0.0","srclen":8,"iif":"eth1","table":"main"},"# +
                       #"{"priority":32765,"src":"all","fwmark":"0x1","table":"100"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]}"# + "\n")
        XCTAssertTrue(call("GET", "/v1/stacks/r/routes").raw.contains(#"{"dst":"0.0.0.0/0","type":"local","dev":"lo","metric":0,"proto":"static","table":"100"}"#))
        XCTAssertEqual(call("PUT", "/v1/stacks/r/ruleset", "table ip m { chain p { type filter hook prerouting priority mangle; udp dport 2 meta mark set 1; }; }").status, 200)
        let r = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(Self.udp)]}"#)
        XCTAssertEqual(r.json?["results"]?.rendered().contains(#""drop_reason":"NO_SOCKET""#), true, r.raw)
        try reopen()
        let doc = call("GET", "/v1/stacks/r").raw
        XCTAssertTrue(doc.contains(#""rules":[{"priority":32765,"fwmark":"0x1","table":"100"},{"priority":50,"from":"10.0.0.0/8","iif":"eth1","table":"main"}]"#), doc)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/rules?priority=32765").status, 204)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/rules?priority=32765").status, 404)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/routes?dst=0.0.0.0/0&table=100").status, 204)
        let again = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(Self.udp)]}"#)
        XCTAssertEqual(again.json?["results"]?.rendered().contains(#""drop_reason":"IP_INNOROUTES""#), true, again.raw)
    }

    /// `ip -j route get`, as ip 6.1 printed each lookup on Linux 6.18 for the same addresses, rule
    /// and routes (`scripts/record_route_get.sh`).
    func testRouteGetAnswersAsIpDoes() throws {
        let doc = #"{"name":"g","devices":[{"name":"eth0","mac":"02:00:00:00:00:09","addresses":["198.18.0.1/24"]}],"routes":[{"dst":"default","via":"198.18.0.254","dev":"eth0"},{"dst":"0.0.0.0/0","dev":"lo","type":"local","table":100}],"rules":[{"fwmark":1,"table":100}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks", doc.replacingOccurrences(of: #""name":"g","#, with: #""name":"gf","sysctls":{"net.ipv4.ip_forward":1},"#)).status, 201)
        func get(_ q: String, _ stack: String = "g") -> String { call("GET", "/v1/stacks/\(stack)/routes/get?" + q).raw.trimmingCharacters(in: .newlines) }
        XCTAssertEqual(get("dst=8.8.8.8"), #"[{"dst":"8.8.8.8","gateway":"198.18.0.254","dev":"eth0","prefsrc":"198.18.0.1","flags":[],"uid":0,"cache":[]}]"#)
        XCTAssertEqual(get("dst=198.18.0.1"), #"[{"type":"local","dst":"198.18.0.1","dev":"lo","table":"local","prefsrc":"198.18.0.1","flags":[],"uid":0,"cache":["local"]}]"#)
        XCTAssertEqual(get("dst=8.8.8.8&mark=1"), #"[{"type":"local","dst":"8.8.8.8","dev":"lo","table":"100","prefsrc":"8.8.8.8","flags":[],"mark":1,"uid":0,"cache":["local"]}]"#)
        XCTAssertEqual(get("dst=198.18.0.7"), #"[{"dst":"198.18.0.7","dev":"eth0","prefsrc":"198.18.0.1","flags":[],"uid":0,"cache":[]}]"#)
        XCTAssertEqual(get("dst=198.18.0.255"), #"[{"type":"broadcast","dst":"198.18.0.255","dev":"eth0","table":"local","prefsrc":"198.18.0.1","flags":[],"uid":0,"cache":["local","brd"]}]"#)
        XCTAssertEqual(get("dst=8.8.8.8&from=198.18.0.1"), #"[{"dst":"8.8.8.8","from":"198.18.0.1","gateway":"198.18.0.254","dev":"eth0","flags":[],"uid":0,"cache":[]}]"#)
        XCTAssertEqual(get("dst=8.8.8.8&mark=0x10"), #"[{"dst":"8.8.8.8","gateway":"198.18.0.254","dev":"eth0","prefsrc":"198.18.0.1","flags":[],"mark":16,"uid":0,"cache":[]}]"#)
        XCTAssertTrue(get("dst=8.8.8.8&from=198.18.0.77").contains("RTNETLINK answers: Network is unreachable"))
        XCTAssertTrue(get("dst=8.8.8.8&from=198.18.0.9&iif=eth0").contains("RTNETLINK answers: No route to host"))
        XCTAssertEqual(get("dst=8.8.8.8&from=198.18.0.9&iif=eth0", "gf"), #"[{"dst":"8.8.8.8","from":"198.18.0.9","gateway":"198.18.0.254","dev":"eth0","flags":[],"cache":["redirect"],"iif":"eth0"}]"#)
        XCTAssertEqual(get("dst=8.8.8.8&from=198.18.0.9&iif=eth0&mark=1", "gf"), #"[{"type":"local","dst":"8.8.8.8","from":"198.18.0.9","dev":"lo","table":"100","flags":[],"mark":1,"cache":["local"],"iif":"eth0"}]"#)
        XCTAssertEqual(call("DELETE", "/v1/stacks/g/routes?dst=default").status, 204)
        XCTAssertTrue(get("dst=8.8.8.8").contains("RTNETLINK answers: Network is unreachable"))
        XCTAssertEqual(call("GET", "/v1/stacks/g/routes/get?dst=2001:db8::1").status, 422, "ip -6 route get: Network is unreachable")
        XCTAssertEqual(call("GET", "/v1/stacks/g/routes/get?dst=8.8.8.8&iif=eth0").status, 400)
    }

    /// `ip -j -6 route get` as scripts/record_route6_get.sh recorded it (v0 there is eth0 here):
    /// connected, local (through lo), static via a gateway (no protocol printed), multicast and
    /// link-local (the first device), no route, a default route; after a packet too big the
    /// destination's exception (no protocol, expires, the MTU among the metrics).
    func testRoute6GetAnswersAsIpDoes() throws {
        let doc = #"{"name":"g6","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]}],"routes":[{"dst":"2001:db8:5::/48","via":"2001:db8::fe","dev":"eth0"}],"sockets":[{"protocol":"udp","address":"::","port":5000}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        func get(_ q: String) -> String { call("GET", "/v1/stacks/g6/routes/get?" + q).raw.trimmingCharacters(in: .newlines) }
        let ll = "fe80::ff:fe00:1"
        XCTAssertEqual(get("dst=2001:db8::9"), #"[{"dst":"2001:db8::9","from":"::","dev":"eth0","protocol":"kernel","prefsrc":"2001:db8::1","metric":256,"flags":[],"pref":"medium"}]"#)
        XCTAssertEqual(get("dst=2001:db8::1"), #"[{"type":"local","dst":"2001:db8::1","from":"::","dev":"lo","table":"local","protocol":"kernel","prefsrc":"2001:db8::1","metric":0,"flags":[],"pref":"medium"}]"#)
        XCTAssertEqual(get("dst=2001:db8:5::7"), #"[{"dst":"2001:db8:5::7","from":"::","gateway":"2001:db8::fe","dev":"eth0","prefsrc":"2001:db8::1","metric":1024,"flags":[],"pref":"medium"}]"#)
        XCTAssertTrue(get("dst=2001:db9::1").contains("RTNETLINK answers: Network is unreachable"))
        XCTAssertEqual(get("dst=ff0e::1"), #"[{"type":"multicast","dst":"ff0e::1","from":"::","dev":"eth0","table":"local","protocol":"kernel","prefsrc":"2001:db8::1","metric":256,"flags":[],"pref":"medium"}]"#)
        XCTAssertEqual(get("dst=fe80::9"), #"[{"dst":"fe80::9","from":"::","dev":"eth0","protocol":"kernel","prefsrc":"\#(ll)","metric":256,"flags":[],"pref":"medium"}]"#)
        XCTAssertEqual(get("dst=2001:db8::9&from=2001:db8::77"), #"[{"dst":"2001:db8::9","from":"2001:db8::77","dev":"eth0","protocol":"kernel","prefsrc":"2001:db8::1","metric":256,"flags":[],"pref":"medium"}]"#)
        // A mark selects nothing without rules, and ip prints none for IPv6 (scripts/record_policy6.sh).
        XCTAssertEqual(get("dst=2001:db8::9&mark=1"), get("dst=2001:db8::9"))
        XCTAssertEqual(call("POST", "/v1/stacks/g6/routes", #"{"dst":"default","via":"2001:db8::fe","dev":"eth0"}"#).status, 201)
        XCTAssertEqual(get("dst=2001:db9::1"), #"[{"dst":"2001:db9::1","from":"::","gateway":"2001:db8::fe","dev":"eth0","prefsrc":"2001:db8::1","metric":1024,"flags":[],"pref":"medium"}]"#)
        // Packet too big (1280) quoting what socket 1 sent to 2001:db8::9.
        let quoted = "6000000005801140" + "20010db8000000000000000000000001" + "20010db8000000000000000000000009" + "1388177005800000"
        let ptb = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:09"},"ipv6":{"src":"2001:db8::9","dst":"2001:db8::1"},"icmpv6":{"type":2,"code":0,"rest":1280},"payload_hex":"\#(quoted)"}"#
        XCTAssertEqual(call("POST", "/v1/stacks/g6/packets", #"{"packets":[\#(ptb)]}"#).status, 200)
        XCTAssertEqual(get("dst=2001:db8::9"), #"[{"dst":"2001:db8::9","from":"::","dev":"eth0","prefsrc":"2001:db8::1","metric":256,"flags":[],"expires":599,"metrics":[{"mtu":1280}],"pref":"medium"}]"#)
    }

    /// net.ipv4.route.mtu_expires 100, min_pmtu 1000 and net.ipv6.route.mtu_expires 200, as
    /// scripts/record_route_sysctls.sh recorded them: fragmentation needed with MTU 700 (under the
    /// floor: 1000, locked) and packet too big 1280, each quoting what a socket sent; route get
    /// shows each exception's time left and MTU.
    func testRouteSysctls() throws {
        let doc = #"{"name":"rs","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]}],"sockets":[{"protocol":"udp","port":5000},{"protocol":"udp","address":"::","port":5001}],"sysctls":{"net.ipv4.route.mtu_expires":100,"net.ipv4.route.min_pmtu":1000,"net.ipv6.route.mtu_expires":200}}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        let q4 = "4500059400014000401100" + "00" + "c6120001c6120009" + "1388177005800000"
        let q6 = "6000000005801140" + "20010db8000000000000000000000001" + "20010db8000000000000000000000009" + "1389177005800000"
        let fragNeeded = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:09"},"ipv4":{"src":"198.18.0.9","dst":"198.18.0.1"},"icmp":{"type":3,"code":4,"id":0,"seq":700},"payload_hex":"\#(q4)"}"#
        let ptb = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:09"},"ipv6":{"src":"2001:db8::9","dst":"2001:db8::1"},"icmpv6":{"type":2,"code":0,"rest":1280},"payload_hex":"\#(q6)"}"#
        XCTAssertEqual(call("POST", "/v1/stacks/rs/packets", #"{"packets":[\#(fragNeeded),\#(ptb)]}"#).status, 200)
        func get(_ q: String) -> String { call("GET", "/v1/stacks/rs/routes/get?" + q).raw.trimmingCharacters(in: .newlines) }
        XCTAssertEqual(get("dst=198.18.0.9"), #"[{"dst":"198.18.0.9","dev":"eth0","prefsrc":"198.18.0.1","flags":[],"uid":0,"cache":[],"expires":99,"metrics":[{"mtu":1000}]}]"#)
        XCTAssertEqual(get("dst=2001:db8::9"), #"[{"dst":"2001:db8::9","from":"::","dev":"eth0","prefsrc":"2001:db8::1","metric":256,"flags":[],"expires":199,"metrics":[{"mtu":1280}],"pref":"medium"}]"#)
        XCTAssertEqual(call("POST", "/v1/stacks", doc.replacingOccurrences(of: #""rs""#, with: #""rs2""#).replacingOccurrences(of: ":1000,", with: ":67,")).status, 422, "min_pmtu's floor is 68")
    }

    /// `connect` on a UDP socket: no packet, the socket bound to the route's source and to its peer
    /// (listed, stored, kept across a restart); `send` without an address goes to the peer, and
    /// without a peer is EDESTADDRREQ.
    func testUDPConnectOverTheAPI() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":5000}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets/1/send", #"{"payload":"x"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets/1/connect", #"{"to":"198.18.0.1","port":6000}"#).json?["socket"]?["peer"], .string("198.18.0.1:6000"))
        let listed = call("GET", "/v1/stacks/r/sockets").raw
        XCTAssertTrue(listed.contains(#""address":"198.18.0.2","port":5000,"peer":"198.18.0.1:6000""#), listed)
        XCTAssertTrue(listed.contains(#""state":"ESTAB""#), listed)
        try reopen()
        let sent = call("POST", "/v1/stacks/r/sockets/1/send", #"{"payload":"x"}"#)
        XCTAssertEqual(sent.status, 200, sent.raw)
        XCTAssertTrue(sent.raw.contains(#""tuple":{"proto":17,"src":"198.18.0.2","sport":5000,"dst":"198.18.0.1","dport":6000}"#), sent.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets/1/connect", #"{"to":"203.0.113.9","port":1}"#).raw, #"{"errno":"ENETUNREACH"}"# + "\n")
        // The stack's own address and 127.0.0.1 go through lo, to no socket there.
        for to in ["198.18.0.2", "127.0.0.1"] {
            let own = call("POST", "/v1/stacks/r/sockets/1/send", #"{"to":"\#(to)","port":9,"payload":"x"}"#)
            XCTAssertTrue(own.raw.contains(#""device":"lo","outcome":"dropped","drop_reason":"NO_SOCKET""#), own.raw)
        }
        // An AF_INET socket given an IPv6 peer, as connect(2) answers it.
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets/1/connect", #"{"to":"::1","port":1}"#).raw, #"{"errno":"EAFNOSUPPORT"}"# + "\n")
    }

    /// An AF_INET6 socket connects to an IPv6 peer (listed as [ADDRESS]:PORT, kept across a
    /// restart) and sends to it without an address; a port unreachable for it is the next call's
    /// ECONNREFUSED. IPV6_RECVERR is `ipv6_recverr`, for AF_INET6 sockets only.
    func testUDP6ConnectOverTheAPI() throws {
        func first(_ v: JSONValue?) -> JSONValue? { if case .array(let a)? = v { a.first } else { nil } }
        let six = #"{"name":"c6","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["2001:db8::1/64"]}],"neighbours":[{"address":"2001:db8::9","mac":"02:00:00:00:00:09","dev":"eth0"}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", six).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets", #"{"protocol":"udp","address":"::","port":5000}"#).status, 201)
        let c = call("POST", "/v1/stacks/c6/sockets/1/connect", #"{"to":"2001:db8::9","port":6000}"#)
        XCTAssertEqual([c.json?["socket"]?["address"], c.json?["socket"]?["peer"]], [.string("2001:db8::1"), .string("[2001:db8::9]:6000")], c.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets/1/connect", #"{"to":"fe80::9","port":6000}"#).raw, #"{"errno":"EINVAL"}"# + "\n")
        // ::1 and `::` (connect's "self") are lo's: the socket takes ::1.
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets", #"{"protocol":"udp","address":"::","port":5001}"#).status, 201)
        let lo = call("POST", "/v1/stacks/c6/sockets/2/connect", #"{"to":"::","port":6000}"#)
        XCTAssertEqual([lo.json?["socket"]?["address"], lo.json?["socket"]?["peer"]], [.string("::1"), .string("[::1]:6000")], lo.raw)
        // The stack's own address goes through lo, to no socket there; its port unreachable is for
        // the 4-tuple it quotes, not the connected socket's.
        let own = call("POST", "/v1/stacks/c6/sends", #"{"flows":[{"socket":1,"to":"2001:db8::9","port":9},{"socket":1,"to":"2001:db8::1","port":9}]}"#)
        XCTAssertTrue(own.raw.contains(#""device":"lo","outcome":"dropped","drop_reason":"NO_SOCKET""#), own.raw)
        try reopen()
        XCTAssertTrue(call("GET", "/v1/stacks/c6/sockets").raw.contains(#""peer":"[2001:db8::9]:6000","rcvbuf_effective""#))
        let sent = call("POST", "/v1/stacks/c6/sockets/1/send", #"{"payload":"x"}"#)
        XCTAssertTrue(sent.raw.contains(#""tuple":{"proto":17,"src":"2001:db8::1","sport":5000,"dst":"2001:db8::9","dport":6000}"#), sent.raw)
        guard case .string(let hex)? = first(sent.json?["results"])?["emitted"].flatMap(first)?["hex"] else { return XCTFail(sent.raw) }
        // The peer's port unreachable quoting it (its first 48 bytes after the Ethernet header).
        let quoted = String(hex.dropFirst(28).prefix(96))
        let err = #"{"device":"eth0","eth":{"src":"02:00:00:00:00:09"},"ipv6":{"src":"2001:db8::9"},"icmpv6":{"type":1,"code":4},"payload_hex":"\#(quoted)"}"#
        XCTAssertEqual(call("POST", "/v1/stacks/c6/packets", #"{"packets":[\#(err)]}"#).status, 200)
        let again = call("POST", "/v1/stacks/c6/sockets/1/send", #"{"payload":"x"}"#)
        XCTAssertEqual(first(again.json?["results"])?["errno"], .string("ECONNREFUSED"), again.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets/1/send", #"{"payload":"x","setsockopt":{"ipv6_recverr":true}}"#).status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/c6/sockets").raw.contains(#""ipv6_recverr":true"#))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":5000,"ipv6_recverr":true}"#).status, 422)
        // Hop options: kept and listed; IPv6 ones refused on an AF_INET socket, IP_TTL 0 refused (EINVAL).
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets/1/send", #"{"payload":"x","setsockopt":{"unicast_hops":7,"ttl":9}}"#).status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/c6/sockets").raw.contains(#""ttl":9,"unicast_hops":7"#))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":5001,"unicast_hops":7}"#).json?["pointer"], .string("/unicast_hops"))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":5001,"ttl":0}"#).status, 422)
        // IPV6_TCLASS: the IPv6 packets' traffic class (IP_TOS is the IPv4 ones'), kept and listed; AF_INET6 only.
        let marked = call("POST", "/v1/stacks/c6/sockets/1/send", #"{"payload":"x","setsockopt":{"tclass":72,"tos":40}}"#)
        guard case .string(let out)? = first(marked.json?["results"])?["emitted"].flatMap(first)?["hex"] else { return XCTFail(marked.raw) }
        XCTAssertEqual(String(out.dropFirst(28).prefix(3)), "648", "version 6, traffic class 0x48 (then the flow label)")
        XCTAssertTrue(call("GET", "/v1/stacks/c6/sockets").raw.contains(#""tos":40,"tclass":72"#))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":5001,"tclass":72}"#).json?["pointer"], .string("/tclass"))
        // IPV6_MTU_DISCOVER: kept and listed, a datagram over the MTU answered EMSGSIZE with `do`;
        // AF_INET6 UDP sockets only.
        XCTAssertEqual(first(call("POST", "/v1/stacks/c6/sockets/1/send", #"{"length":1500,"setsockopt":{"ipv6_pmtudisc":"do"}}"#).json?["results"])?["errno"], .string("EMSGSIZE"))
        XCTAssertTrue(call("GET", "/v1/stacks/c6/sockets").raw.contains(#""ipv6_pmtudisc":"do""#))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":5001,"ipv6_pmtudisc":"do"}"#).json?["pointer"], .string("/ipv6_pmtudisc"))
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets", #"{"protocol":"tcp","address":"::","port":5002,"ipv6_pmtudisc":"probe"}"#).json?["pointer"], .string("/ipv6_pmtudisc"))
        XCTAssertEqual(call("POST", "/v1/stacks/c6/sockets", #"{"protocol":"udp","address":"::","port":5003,"ipv6_pmtudisc":"sometimes"}"#).status, 422)
    }

    func testSocketsReceiveAndAreRead() throws {
        let b = call("POST", "/v1/stacks/r/sockets", #"{"protocol":"udp","port":53,"rcvbuf":1500}"#)
        XCTAssertEqual(b.status, 201)
        XCTAssertEqual(b.json?["id"], .int(1))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"port":53}"#).status, 409)
        let pkt = #"{"device":"eth0","ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":53},"payload_hex":"beef"}"#
        // SO_RCVBUF 1500 is doubled: 3000; 704 bytes each, the sixth finds 3520 queued.
        let r = call("POST", "/v1/stacks/r/packets", #"{"packets":[\#(pkt),\#(pkt),\#(pkt),\#(pkt),\#(pkt),\#(pkt)]}"#)
        guard case .array(let results) = r.json?["results"] else { return XCTFail(r.raw) }
        XCTAssertEqual(results.map { $0["outcome"] }, Array(repeating: .string("delivered"), count: 5) + [.string("dropped")])
        XCTAssertEqual(results[5]["drop_reason"], .string("SOCKET_RCVBUFF"))
        let list = call("GET", "/v1/stacks/r/sockets").raw
        XCTAssertTrue(list.contains(#""rcvbuf_effective":3000,"rmem_alloc":3520,"queued":5,"drops":1"#), list)
        let got = call("POST", "/v1/stacks/r/sockets/1/recv", #"{"max":2}"#)
        XCTAssertEqual(got.json?["datagrams"]?.rendered().components(separatedBy: #""payload_hex":"beef""#).count, 3, got.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets/9/recv").status, 404)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/sockets/1").status, 204)
        XCTAssertEqual(call("GET", "/v1/stacks/r/sockets").raw, "{\"items\":[]}\n")
    }

    /// IP_TRANSPARENT as a socket's option (what `tproxy` needs): kept and listed; a non-boolean is refused.
    func testTransparentSocketOption() throws {
        let b = call("POST", "/v1/stacks/r/sockets", #"{"protocol":"tcp","port":50080,"transparent":true}"#)
        XCTAssertEqual(b.status, 201, b.raw)
        XCTAssertTrue(call("GET", "/v1/stacks/r/sockets").raw.contains(#""transparent":true"#))
        XCTAssertEqual(call("POST", "/v1/stacks/r/sockets", #"{"port":50081,"transparent":1}"#).status, 400)
    }

    func testMetricsInPrometheusText() throws {
        XCTAssertEqual(call("POST", "/v1/stacks/r/packets?sync=true", #"{"packets":[\#(Self.udp)]}"#).status, 200)
        let m = call("GET", "/metrics").raw
        let lines = m.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("packetstack_packet_outcomes_total") || $0.hasPrefix("packetstack_trace") && !$0.contains("_bucket") && !$0.contains("_sum") }, [
            "packetstack_trace_queue_rows 0",
            "packetstack_trace_queue_bytes 0",
            "packetstack_traces_enqueued_total 1",
            "packetstack_traces_committed_total 1",
            "packetstack_traces_failed_total 0",
            "packetstack_traces_dropped_total 0",
            "packetstack_traces_retention_deleted_total 0",
            "packetstack_trace_batch_commit_seconds_count 1",
            #"packetstack_packet_outcomes_total{stack="r",outcome="dropped",drop_reason="IP_INNOROUTES"} 1"#,
        ])
        XCTAssertTrue(lines.contains(#"packetstack_trace_batch_commit_seconds_bucket{le="+Inf"} 1"#), m)
        XCTAssertTrue(m.hasPrefix("# HELP packetstack_stacks Stacks loaded.\n# TYPE packetstack_stacks gauge\npacketstack_stacks 1\n"), m)
        XCTAssertTrue(m.contains("# TYPE packetstack_device_rx_packets_total counter\npacketstack_device_rx_packets_total{stack=\"r\",device=\"eth0\"} 1\npacketstack_device_rx_packets_total{stack=\"r\",device=\"eth1\"} 0\n"), m)
        XCTAssertTrue(m.contains("packetstack_snmp_total{stack=\"r\",group=\"Ip\",name=\"InReceives\"} 1\n"), m)
        XCTAssertTrue(m.contains("packetstack_softnet_processed_total{stack=\"r\",cpu=\"0\"} 1\n"), m)
    }

    func testRateInjectionSoftnetStatAndClock() throws {
        let pkt = #"{"device":"eth0","ipv4":{"src":"198.18.0.9"},"icmp":{"type":0}}"#
        let r = call("POST", "/v1/stacks/r/packets", #"{"rate_pps":1000000,"start_ns":5000,"packets":[\#(pkt),\#(pkt),\#(pkt)]}"#)
        guard case .array(let results) = r.json?["results"] else { return XCTFail(r.raw) }
        XCTAssertEqual(results.map { $0["start_ns"] }, [.int(5000), .int(6000), .int(7000)])
        let text = app.respond(to: HTTPRequest(method: "GET", target: "/v1/stacks/r/softnet_stat"))
        XCTAssertEqual(String(decoding: text.body, as: UTF8.self),
                       "00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n"
                       + "00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000\n")
        let c = call("POST", "/v1/stacks/r/clock", #"{"advance_ns":1000000}"#)
        guard case .int(let now) = c.json?["clock_ns"] else { return XCTFail(c.raw) }
        XCTAssertEqual(now, 1_007_780)   // the last packet's processing (ping_rcv finds no socket), then 1 ms
        XCTAssertEqual(call("POST", "/v1/stacks/r/clock", #"{"advance_ns":1,"to_ns":2}"#).status, 400)
        let stats = call("GET", "/v1/stacks/r/stats")
        XCTAssertEqual(stats.json?["softnet"]?.rendered().hasPrefix(#"[{"cpu":0,"processed":3,"dropped":0,"time_squeeze":0"#), true, stats.raw)
        XCTAssertEqual(stats.json?["devices"]?["eth0"]?["rx_packets"], .int(3))
        XCTAssertEqual(stats.json?["snmp"]?["Icmp"]?["InMsgs"], .int(3))
    }
}

/// IPv6 through the API: addresses, routes and neighbours in the stack document, packets from
/// `ipv6`/`icmpv6` layers, the FIB and neighbour listings, /proc/net/snmp6 counters, and all of
/// it again after a restart.
final class IPv6APITests: AppTestCase {
    static let stack = #"{"name":"v6","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24","2001:db8::2/64"]},{"name":"eth1","mac":"02:00:00:00:01:01","addresses":["2001:db8:1::1/64"]}],"routes":[{"dst":"::/0","via":"2001:db8:1::2","dev":"eth1"}],"neighbours":[{"address":"2001:db8::1","mac":"02:00:00:00:00:01","dev":"eth0"}],"sysctls":{"net.ipv6.conf.all.forwarding":1}}"#
    static let echo = #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv6":{"src":"2001:db8::1"},"icmpv6":{"id":7,"seq":1},"payload_hex":"6869"}]}"#

    func testIPv6StackDocumentPacketsAndListings() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let doc = call("GET", "/v1/stacks/v6").raw
        XCTAssertTrue(doc.contains(#""addresses":["198.18.0.2/24","2001:db8::2/64"]"#), doc)
        XCTAssertTrue(doc.contains(#""routes":[{"dst":"::/0","via":"2001:db8:1::2","dev":"eth1","metric":1024}]"#), doc)
        for round in 0..<2 {
            if round == 1 { try reopen() }   // the second round runs on the stack rebuilt from the store
            let r = call("POST", "/v1/stacks/v6/packets", Self.echo)
            XCTAssertEqual(r.json?["results"]?.rendered().contains(#""outcome":"consumed""#), true, r.raw)
            guard case .array(let results) = r.json?["results"] ?? .null, case .array(let emitted) = results.first?["emitted"] ?? .null,
                  case .string(let hex) = emitted.first?["hex"] ?? .null else { return XCTFail(r.raw) }
            guard case .ipv6(let ip, [], .icmpv6(let m)) = try FrameRepr.parse(try Hex.decode(hex)).network else { return XCTFail(hex) }
            XCTAssertEqual([ip.src.description, ip.dst.description], ["2001:db8::2", "2001:db8::1"])
            XCTAssertEqual(m, ICMPv6Repr(type: 129, code: 0, restOfHeader: 0x0007_0001, data: [0x68, 0x69]))
        }
        let routes = call("GET", "/v1/stacks/v6/routes").raw
        for row in [#"{"dst":"::/0","type":"unicast","via":"2001:db8:1::2","dev":"eth1","metric":1024,"proto":"static","table":"main"}"#,
                    #"{"dst":"2001:db8::/64","type":"unicast","dev":"eth0","metric":256,"proto":"kernel","table":"main"}"#,
                    #"{"dst":"fe80::ff:fe00:2/128","type":"local","dev":"eth0","metric":0,"proto":"kernel","table":"local"}"#,
                    #"{"dst":"2001:db8:1::/128","type":"local","dev":"eth1","metric":0,"proto":"kernel","table":"local"}"#] {
            XCTAssertTrue(routes.contains(row), routes)
        }
        XCTAssertEqual(call("POST", "/v1/stacks/v6/routes", #"{"dst":"2001:db8:5::/64","via":"2001:db8:1::2","dev":"eth1"}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/v6/routes", #"{"dst":"2001:db8:5::1/64","dev":"eth1"}"#).status, 422)
        XCTAssertEqual(call("DELETE", "/v1/stacks/v6/routes?dst=2001:db8:5::/64").status, 204)
        XCTAssertEqual(call("POST", "/v1/stacks/v6/neighbours", #"{"address":"2001:db8:1::2","mac":"02:00:00:00:01:02","dev":"eth1"}"#).status, 201)
        let neigh = call("GET", "/v1/stacks/v6/neighbours").raw
        XCTAssertTrue(neigh.contains(#"{"address":"2001:db8:1::2","dev":"eth1","mac":"02:00:00:00:01:02","state":"PERMANENT","queued":0}"#), neigh)
        let stats = call("GET", "/v1/stacks/v6/stats").raw
        XCTAssertTrue(stats.contains(#""Icmp6InType128":1"#) && stats.contains(#""Icmp6OutType129":1"#), stats)
        // An AF_INET6 socket on [::]:5353 takes the datagram, read back with its IPv6 source.
        let sock = call("POST", "/v1/stacks/v6/sockets", #"{"protocol":"udp","address":"::","port":5353}"#)
        XCTAssertEqual(sock.status, 201, sock.raw)
        XCTAssertTrue(sock.raw.contains(#""address":"::","v6only":false,"port":5353"#), sock.raw)
        let dgram = call("POST", "/v1/stacks/v6/packets", #"{"packets":[{"device":"eth0","ipv6":{"src":"2001:db8::1"},"udp":{"sport":9,"dport":5353},"payload_hex":"6869"}]}"#)
        XCTAssertTrue(dgram.raw.contains(#""outcome":"delivered""#), dgram.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/v6/sockets", #"{"address":"198.18.0.2","port":1,"v6only":true}"#).status, 422)
        // Bad IPv6 input is refused with the place of the error.
        let bad = call("POST", "/v1/stacks/v6/packets", #"{"packets":[{"device":"eth0","ipv6":{"src":"2001:db8::zz"},"icmpv6":{}}]}"#)
        XCTAssertEqual(bad.status, 422)
        XCTAssertEqual(bad.json?["pointer"], .string("/packets/0/ipv6/src"), bad.raw)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"off","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["2001:db8::2/64"]}],"sysctls":{"net.ipv6.conf.all.disable_ipv6":1}}"#).status, 422)
    }
}
