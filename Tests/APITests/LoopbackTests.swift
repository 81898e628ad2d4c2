import Foundation
import HTTPServer
import JSON
import Wire
import XCTest

/// What a stack sends to itself goes out by lo and back in, as scripts/record_loopback.sh
/// recorded on Linux 6.18 (Cases/nft_trace_lo.txt: the `nft monitor trace` lines of those packets;
/// the host's own IPv6 autoconfiguration lines left out). Sends a: 127.0.0.1, b: our address, c: a
/// closed port on 127.0.0.1 (its port unreachable loops back too), d: ::1, e: our IPv6 address,
/// f: 127.1.2.3 (lo's 127/8), g: a socket connected to the closed port, twice.
final class LoopbackTests: AppTestCase {
    /// NFTraceViewTests' normalisation (trace ids by order of first appearance), here without the
    /// ids at all when asked (the kernel's hash the skb's address, which it reuses, so two packets
    /// of a connection can share one), and on every line the IP ids and flow labels the kernel drew
    /// and the IP header an ICMP error quotes (its id and checksum with it).
    static func normalised(_ text: String, ids keepIDs: Bool = true) -> [String] {
        NFTraceViewTests.normalised(text).map { line in
            var l = line
            if !keepIDs, let r = l.range(of: #"^trace id #[0-9]+"#, options: .regularExpression) { l.replaceSubrange(r, with: "trace id _") }
            for pattern in [#" ip id [0-9]+ "#, #" ip6 flowlabel [0-9]+ "#, #" @th,64,96 0x[0-9a-f]+ "#] {
                if let r = l.range(of: pattern, options: .regularExpression) { l.replaceSubrange(r, with: " " + l[r].split(separator: " ").dropLast().joined(separator: " ") + " _ ") }
            }
            return l
        }
    }

    /// The recordings' table: a counter in each hook, nftrace set in output.
    static let countingRuleset = """
        table inet t {
          chain pre { type filter hook prerouting priority 0; policy accept; counter; }
          chain in { type filter hook input priority 0; policy accept; counter; }
          chain out { type filter hook output priority 0; policy accept; meta nftrace set 1; counter; }
          chain post { type filter hook postrouting priority 0; policy accept; counter; }
        }
        """

    /// lo is ARPHRD_LOOPBACK: `meta iiftype|oiftype loopback` match what goes through it (recorded
    /// in a namespace on Linux 6.18 with this ruleset: a datagram to 127.0.0.1's closed port 9 and
    /// its port unreachable, 2 packets and 86 bytes each way; the ether rules and an output
    /// packet's iifgroup match nothing). `meta cgroup` reads a full socket's class: the sender's
    /// and the kernel's ICMP socket's on the way out; lo's xmit orphans the skb, so none on the way in.
    func testLoIsALoopbackDevice() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"kb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":["198.18.0.1/24"]}]}"#).status, 201)
        let rules = """
            table inet t {
            \tchain o {
            \t\ttype filter hook output priority filter; policy accept;
            \t\tmeta oiftype loopback counter packets 2 bytes 86
            \t\tmeta oiftype ether counter packets 0 bytes 0
            \t\tiifgroup "default" counter packets 0 bytes 0
            \t\toifgroup "default" counter packets 2 bytes 86
            \t\tmeta cgroup 0 counter packets 2 bytes 86
            \t\tmeta l4proto icmp meta cgroup 0 counter packets 1 bytes 57
            \t}

            \tchain i {
            \t\ttype filter hook input priority filter; policy accept;
            \t\tmeta iiftype loopback counter packets 2 bytes 86
            \t\tmeta iiftype ether counter packets 0 bytes 0
            \t\tiifgroup "default" counter packets 2 bytes 86
            \t\tmeta cgroup 0 counter packets 0 bytes 0
            \t}
            }

            """
        let put = call("PUT", "/v1/stacks/kb/ruleset", rules.replacingOccurrences(of: #" counter packets [0-9]+ bytes [0-9]+"#, with: " counter", options: .regularExpression), type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"udp","port":5000}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/1/send", #"{"to":"127.0.0.1","port":9,"payload":"x"}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/kb/ruleset").raw, rules)
    }

    /// nft's reject answers from no socket with a reset (nf_send_reset) and from the ICMP socket
    /// with an unreachable (icmp_send): `meta cgroup` matches the second only (recorded in a
    /// namespace on Linux 6.18 with this ruleset: a connect to 127.0.0.1:9999 refused, a datagram
    /// to 127.0.0.1:9998).
    func testRejectsAnswerFromTheirSockets() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"kb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":["198.18.0.1/24"]}],"sockets":[{"protocol":"tcp","port":40000,"listen":false},{"protocol":"udp","port":5000}]}"#).status, 201)
        let rules = """
            table inet t {
            \tchain o {
            \t\ttype filter hook output priority filter; policy accept;
            \t\ttcp flags rst meta cgroup 0 counter packets 0 bytes 0
            \t\ttcp flags rst counter packets 1 bytes 40
            \t\tmeta l4proto icmp meta cgroup 0 counter packets 1 bytes 57
            \t\tmeta l4proto icmp counter packets 1 bytes 57
            \t}

            \tchain i {
            \t\ttype filter hook input priority filter; policy accept;
            \t\ttcp dport 9999 reject with tcp reset
            \t\tudp dport 9998 reject
            \t}
            }

            """
        let put = call("PUT", "/v1/stacks/kb/ruleset", rules.replacingOccurrences(of: #" counter packets [0-9]+ bytes [0-9]+"#, with: " counter", options: .regularExpression), type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/1/connect", #"{"to":"127.0.0.1","port":9999}"#).json?["socket"]?["errno"], .string("ECONNREFUSED"))
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/send", #"{"to":"127.0.0.1","port":9998,"payload":"x"}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/kb/ruleset").raw, rules)
    }

    func testSendsToOurOwnAddressesLoopThroughLo() throws {
        let stack = #"{"name":"kb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":["198.18.0.1/24","2001:db8::1/64"]}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/kb/ruleset", Self.countingRuleset, type: "text/plain").status, 200)
        // r1, r2, r6 receive; s and s6 send; c is connected (the recording's ephemeral port).
        for body in [#""address":"127.0.0.1","port":9000"#, #""port":9001"#, #""address":"::","port":9003"#,
                     #""port":5000"#, #""address":"::","port":5006"#, #""port":36680"#] {
            XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"udp",\#(body)}"#).status, 201)
        }
        var answers: [String] = []
        func send(_ socket: Int, _ body: String) {
            let r = call("POST", "/v1/stacks/kb/sockets/\(socket)/send", body)
            XCTAssertEqual(r.status, 200, r.raw)
            guard case .array(let results) = r.json?["results"] ?? .null, let first = results.first else { return XCTFail(r.raw) }
            let fields: [JSONValue?] = [first["device"], first["outcome"], first["drop_reason"], first["errno"], first["outq"]]
            answers.append(fields.map { v -> String in
                switch v ?? .null { case .string(let s): s; case .int(let n): "\(n)"; default: "-" }
            }.joined(separator: " "))
        }
        send(4, #"{"to":"127.0.0.1","port":9000,"payload":"a"}"#)
        send(4, #"{"to":"198.18.0.1","port":9001,"payload":"bb"}"#)
        send(4, #"{"to":"127.0.0.1","port":9002,"payload":"ccc"}"#)
        send(5, #"{"to":"::1","port":9003,"payload":"dddd"}"#)
        send(5, #"{"to":"2001:db8::1","port":9003,"payload":"eeeee"}"#)
        send(4, #"{"to":"127.1.2.3","port":9001,"payload":"ffffff"}"#)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/6/connect", #"{"to":"127.0.0.1","port":9002}"#).status, 200)
        send(6, #"{"payload":"g"}"#)
        send(6, #"{"payload":"g"}"#)
        // A socket bound to 127.0.0.1 cannot send elsewhere (recorded: EINVAL).
        send(1, #"{"to":"198.18.0.9","port":9,"payload":"x"}"#)
        // lo gave each datagram's charge back at once (outq 0).
        XCTAssertEqual(answers, ["lo delivered - - 0", "lo delivered - - 0", "lo dropped NO_SOCKET - 0", "lo delivered - - 0", "lo delivered - - 0",
                                 "lo delivered - - 0", "lo dropped NO_SOCKET - 0", "lo failed - ECONNREFUSED 0", "vb failed - EINVAL 0"])
        func received(_ socket: Int) -> [String] {
            guard case .array(let items) = call("POST", "/v1/stacks/kb/sockets/\(socket)/recv", "{}").json?["datagrams"] ?? .null else { return [] }
            return items.map { d in
                guard case .string(let src) = d["src"] ?? .null, case .int(let port) = d["sport"] ?? .null, case .string(let hex) = d["payload_hex"] ?? .null else { return "?" }
                return "\(src):\(port) \(hex)"
            }
        }
        XCTAssertEqual(received(1), ["127.0.0.1:5000 61"])
        XCTAssertEqual(received(2), ["198.18.0.1:5000 6262", "127.0.0.1:5000 666666666666"])
        XCTAssertEqual(received(3), ["::1:5006 64646464", "2001:db8::1:5006 6565656565"])
        // The packets' nft trace lines, the looped halves under ids of their own.
        let text = (1...8).map { call("GET", "/v1/traces/\($0)?format=nft&traced=true").raw }.joined()
        let kernel = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("nft_trace_lo.txt"), encoding: .utf8)
        XCTAssertEqual(Self.normalised(text).count, 117, text)
        XCTAssertEqual(Self.normalised(text), Self.normalised(kernel))
        // The stages: out through lo's ndo_start_xmit, into this CPU's backlog, up to the socket.
        guard case .array(let stages) = call("GET", "/v1/traces/1").json?["stages"] ?? .null else { return XCTFail() }
        XCTAssertEqual(stages.compactMap { if case .string(let f) = $0["function"] ?? .null { f } else { nil } }, [
            "udp_sendmsg", "ip_make_skb", "udp_send_skb", "ip_local_out", "nf_hook_slow", "ip_output", "nf_hook_slow", "ip_finish_output",
            "neigh_output", "dev_queue_xmit", "dev_hard_start_xmit", "loopback_xmit", "__netif_rx", "enqueue_to_backlog",
            "process_backlog", "__netif_receive_skb_core", "ip_rcv", "nf_hook_slow", "ip_rcv_finish", "ip_local_deliver", "nf_hook_slow",
            "ip_local_deliver_finish", "udp_rcv", "udp_queue_rcv_skb"])
        // What a capture on lo sees (tcpdump shows it once): zero MACs, the UDP checksum
        // CHECKSUM_PARTIAL left it, the pseudo-header sum (fe1c for 127.0.0.1 to itself, 9 bytes;
        // recorded), in the trace's emitted frames and the lo capture.
        guard case .array(let emitted) = call("GET", "/v1/traces/1").json?["emitted"] ?? .null, let lo = emitted.first,
              case .string(let hex) = lo["hex"] ?? .null else { return XCTFail("no frame on lo") }
        XCTAssertEqual([lo["device"], .string(String(hex.prefix(28))), .string(String(hex.suffix(18)))],
                       [.string("lo"), .string("000000000000000000000000" + "0800"), .string("138823280009fe1c61")])
        let capture = app.respond(to: HTTPRequest(method: "GET", target: "/v1/stacks/kb/devices/lo/wire"))
        XCTAssertEqual(try PCAP.read(capture.body).map { Hex.encode($0.frame) }.first, hex)
        XCTAssertEqual(try PCAP.read(capture.body).count, 9)
        XCTAssertEqual(call("POST", "/v1/links", #"{"a":{"stack":"kb","dev":"lo"},"b":{"stack":"kb","dev":"vb"}}"#).json?["pointer"], .string("/a/dev"))
        // lo is every stack's own: no configured device takes its name.
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"x","devices":[{"name":"lo","mac":"02:00:00:00:00:05"}]}"#).json?["detail"], .string("lo is the loopback device every stack has"))
        // lo counts each packet once on each side, without its MAC header (ip -s link show lo).
        let stats = call("GET", "/v1/stacks/kb/stats").json?["devices"]?["lo"]
        XCTAssertEqual([stats?["rx_packets"], stats?["rx_bytes"], stats?["tx_packets"], stats?["tx_bytes"]], [.int(9), .int(374), .int(9), .int(374)])
        let snmp = call("GET", "/v1/stacks/kb/stats").json?["snmp"]
        let recorded: [(String, String, Int)] = [("Ip", "InReceives", 7), ("Ip", "InDelivers", 7), ("Ip", "OutRequests", 7), ("Ip", "OutDiscards", 1),
                                                ("Icmp", "InDestUnreachs", 2), ("Icmp", "OutDestUnreachs", 2), ("Udp", "InDatagrams", 3),
                                                ("Udp", "NoPorts", 2), ("Udp", "OutDatagrams", 5)]
        XCTAssertEqual(recorded.map { "\($0.0)\($0.1) \(snmp?[$0.0]?[$0.1] ?? .null)" }, recorded.map { "\($0.0)\($0.1) \(JSONValue.int($0.2))" })
        let snmp6 = call("GET", "/v1/stacks/kb/stats").json?["snmp6"]
        XCTAssertEqual([snmp6?["Udp6InDatagrams"], snmp6?["Udp6OutDatagrams"], snmp6?["Ip6InDelivers"]], [.int(2), .int(2), .int(2)])
    }
}

extension LoopbackTests {
    /// A TCP connection a stack makes to itself, as scripts/record_tcp_loopback.sh recorded it
    /// (Cases/nft_trace_tcp_lo.txt): 127.0.0.1:40000 to a listener on 127.0.0.1:8080, "hello",
    /// the client closes, then the server (the calls 200 ms apart, as the recording slept); then
    /// a connect to the closed port 8081 is refused by the RST that comes back through lo.
    func testATCPConnectionToOurselvesRunsOverLo() throws {
        try tcpOverLo(host: "127.0.0.1", any: nil, kernel: "nft_trace_tcp_lo.txt", loBytes: 589)
    }

    /// The same over ::1 (`IPV6=1 scripts/record_tcp_loopback.sh`: windows 65476 and 65464, the
    /// MSS lo's MTU less 60; lo 11 packets, 809 bytes).
    func testATCPConnectionToOurselvesRunsOverLoOverIPv6() throws {
        try tcpOverLo(host: "::1", any: "::", kernel: "nft_trace_tcp6_lo.txt", loBytes: 809)
    }

    func tcpOverLo(host: String, any: String?, kernel file: String, loBytes: Int) throws {
        // This machine's tcp_rmem (window scale 10), as the recording's namespace had it.
        let stack = #"{"name":"kb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":["198.18.0.1/24"]}],"sysctls":{"net.ipv4.tcp_rmem":"4096 131072 33554432"}}"#
        XCTAssertEqual(call("POST", "/v1/stacks", stack).status, 201)
        XCTAssertEqual(call("PUT", "/v1/stacks/kb/ruleset", Self.countingRuleset, type: "text/plain").status, 200)
        let address = any.map { #","address":"\#($0)""# } ?? ""
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"tcp","address":"\#(host)","port":8080}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"tcp","port":40000,"listen":false\#(address)}"#).status, 201)
        func wait() { XCTAssertEqual(call("POST", "/v1/stacks/kb/clock", #"{"advance_ns":200000000}"#).status, 200) }
        let c = call("POST", "/v1/stacks/kb/sockets/2/connect", #"{"to":"\#(host)","port":8080}"#)
        XCTAssertEqual(c.json?["socket"]?["state"], .string("ESTAB"), c.raw)
        let a = call("POST", "/v1/stacks/kb/sockets/1/accept", "")
        guard case .int(let child)? = a.json?["socket"] else { return XCTFail(a.raw) }
        wait()
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/send", #"{"payload":"hello"}"#).status, 200)
        wait()
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/\(child)/recv", "{}").json?["data_hex"], .string("68656c6c6f"))
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/close", "").status, 200)
        wait()
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/\(child)/close", "").status, 200)
        wait()
        guard case .int(let c2)? = call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"tcp","port":40001,"listen":false\#(address)}"#).json?["id"] else { return XCTFail() }
        let refused = call("POST", "/v1/stacks/kb/sockets/\(c2)/connect", #"{"to":"\#(host)","port":8081}"#)
        XCTAssertEqual(refused.json?["socket"]?["errno"], .string("ECONNREFUSED"), String(refused.raw.suffix(600)))
        wait()
        let ss = call("GET", "/v1/stacks/kb/ss").raw
        let (local, peer) = any == nil ? ("127.0.0.1:40000", "127.0.0.1:8080") : ("[::1]:40000", "[::1]:8080")
        XCTAssertTrue(ss.contains(#"{"state":"TIME-WAIT","recv_q":0,"send_q":0,"local":"\#(local)","peer":"\#(peer)"}"#), ss)
        guard case .array(let traces) = call("GET", "/v1/traces?stack=kb&limit=100").json?["items"] ?? .null else { return XCTFail() }
        let text = traces.compactMap { t -> String? in
            guard case .int(let id) = t["trace_id"] ?? .null else { return nil }
            return call("GET", "/v1/traces/\(id)?format=nft&traced=true").raw
        }.joined()
        let kernel = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent(file), encoding: .utf8)
        XCTAssertEqual(Self.normalised(text, ids: false).count, 143)
        XCTAssertEqual(Self.normalised(text, ids: false), Self.normalised(kernel, ids: false))
        let stats = call("GET", "/v1/stacks/kb/stats").json
        let lo = stats?["devices"]?["lo"]
        XCTAssertEqual([lo?["rx_packets"], lo?["rx_bytes"], lo?["tx_packets"], lo?["tx_bytes"]], [.int(11), .int(loBytes), .int(11), .int(loBytes)])
        // (The IPv6 recording's Ip6 counters count the host's own autoconfiguration too.)
        let ip: [(String, String, Int)] = any == nil ? [("Ip", "InReceives", 11), ("Ip", "InDelivers", 11), ("Ip", "OutRequests", 11)] : []
        let recorded: [(String, String, Int)] = ip + [("Tcp", "ActiveOpens", 2), ("Tcp", "PassiveOpens", 1), ("Tcp", "AttemptFails", 1),
                                                ("Tcp", "InSegs", 11), ("Tcp", "OutSegs", 11), ("Tcp", "OutRsts", 1), ("TcpExt", "DelayedACKs", 1)]
        let snmp = stats?["snmp"]
        XCTAssertEqual(recorded.map { "\($0.0)\($0.1) \(snmp?[$0.0]?[$0.1] ?? .null)" }, recorded.map { "\($0.0)\($0.1) \(JSONValue.int($0.2))" })
    }
}

extension LoopbackTests {
    /// nft's `redirect` in the output hook sends what the stack sends to a remote DNS server to its
    /// own resolver on 127.0.0.1:5353, through lo, as scripts/record_output_redirect.sh recorded it:
    /// the server reads the query from 198.18.0.1:5000, the client the answer from 198.18.0.9:53
    /// (conntrack undoes the redirect), one conntrack entry, lo 2 packets and 67 bytes.
    func testOutputRedirectReachesALocalServerThroughLo() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"kb","devices":[{"name":"vb","mac":"02:00:00:00:00:02","addresses":["198.18.0.1/24"]}],"neighbours":[{"address":"198.18.0.9","mac":"02:00:00:00:00:09","dev":"vb"}]}"#).status, 201)
        let ruleset = """
        table ip t {
          chain out { type filter hook output priority -200; policy accept; meta nftrace set 1; }
          chain nat_out { type nat hook output priority -100; policy accept; udp dport 53 counter redirect to :5353; }
          chain pre { type filter hook prerouting priority 0; policy accept; counter; }
          chain in { type filter hook input priority 0; policy accept; counter; }
          chain post { type filter hook postrouting priority 0; policy accept; counter; }
        }
        """
        XCTAssertEqual(call("PUT", "/v1/stacks/kb/ruleset", ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"udp","address":"127.0.0.1","port":5353}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"udp","port":5000}"#).status, 201)
        func read(_ socket: Int) -> String {
            guard case .array(let d) = call("POST", "/v1/stacks/kb/sockets/\(socket)/recv", "{}").json?["datagrams"] ?? .null, let first = d.first,
                  case .string(let src) = first["src"] ?? .null, case .int(let port) = first["sport"] ?? .null, case .string(let hex) = first["payload_hex"] ?? .null else { return "nothing" }
            return "\(hex) from \(src):\(port)"
        }
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/send", #"{"to":"198.18.0.9","port":53,"payload":"query"}"#).status, 200)
        XCTAssertEqual(read(1), "7175657279 from 198.18.0.1:5000")
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/1/send", #"{"to":"198.18.0.1","port":5000,"payload":"answer"}"#).status, 200)
        XCTAssertEqual(read(2), "616e73776572 from 198.18.0.9:53")
        let text = (1...2).map { call("GET", "/v1/traces/\($0)?format=nft&traced=true").raw }.joined()
        let kernel = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("nft_trace_redirect_lo.txt"), encoding: .utf8)
        XCTAssertEqual(Self.normalised(text), Self.normalised(kernel))
        let ct = call("GET", "/v1/stacks/kb/conntrack").raw
        XCTAssertTrue(ct.contains("src=198.18.0.1 dst=198.18.0.9 sport=5000 dport=53 src=127.0.0.1 dst=198.18.0.1 sport=5353 dport=5000"), ct)
        let stats = call("GET", "/v1/stacks/kb/stats").json
        XCTAssertEqual([stats?["devices"]?["lo"]?["rx_packets"], stats?["devices"]?["lo"]?["rx_bytes"]], [.int(2), .int(67)])
        XCTAssertEqual(["InReceives", "InDelivers", "OutRequests"].map { stats?["snmp"]?["Ip"]?[$0] }, [.int(2), .int(2), .int(2)])
        XCTAssertEqual(["InDatagrams", "OutDatagrams"].map { stats?["snmp"]?["Udp"]?[$0] }, [.int(2), .int(2)])
    }
}
