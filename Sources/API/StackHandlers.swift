import HTTPServer
import JSON
import Kernel

// POST/GET/DELETE /v1/stacks[/{stack}] and GET /v1/stacks/{stack}/stats
extension App {
    func stackJSON(_ e: StackEntry) -> JSONValue {
        guard case .object(var fields) = StackDocument.encode(e.config) else { return .null }
        fields.append(("created_at", .string(e.record.createdAt)))
        return .object(fields)
    }

    func createStack(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let config = try StackDocument.decode(try parseJSONBody(req))
        let e = try registry.create(config)
        return jsonResponse(201, stackJSON(e), headers: [HTTPHeader("location", "/v1/stacks/\(config.name)")])
    }

    func listStacks(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let limit = try q.int("limit", in: 1...1000, default: 100)
        let after = try q.cursor()
        try q.finish()
        let page = registry.all().filter { $0.record.id > after }
        let items = page.prefix(limit)
        var o = JSONObject()
        o.set("items", .array(items.map(stackJSON)))
        o.set("next_cursor", page.count > limit ? .string(encodeCursor(items.last!.record.id)) : .null)
        return jsonResponse(200, o.value)
    }

    func getStack(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        return jsonResponse(200, stackJSON(try entry(name)))
    }

    func deleteStack(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        try registry.delete(name)
        return HTTPResponse(status: 204)
    }

    func stats(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let body: JSONValue = e.withStack { s in
            var devs = JSONObject()
            for d in s.devices {
                guard case .object(var o) = counters(d.stats) else { continue }
                // /sys/class/net/DEV/queues/tx-0/byte_queue_limits.
                if let b = d.byteQueueLimits { o.append(("byte_queue_limits", .object([("limit", .int(b.limit)), ("inflight", .int(b.inflight))]))) }
                // A veth's XDP counters as `ethtool -S` names them (the model sums its queues into queue 0).
                if d.config.veth {
                    let x = d.xdpStats
                    o.append(("ethtool", .object([
                        ("rx_queue_0_xdp_packets", .int(x.rx_xdp_packets)), ("rx_queue_0_xdp_bytes", .int(x.rx_xdp_bytes)),
                        ("rx_queue_0_drops", .int(x.rx_drops)), ("rx_queue_0_xdp_redirect", .int(x.rx_xdp_redirect)),
                        ("rx_queue_0_xdp_drops", .int(x.rx_xdp_drops)), ("rx_queue_0_xdp_tx", .int(x.rx_xdp_tx)),
                        ("rx_queue_0_xdp_tx_errors", .int(x.rx_xdp_tx_errors)), ("tx_queue_0_xdp_xmit", .int(x.tx_xdp_xmit)),
                        ("tx_queue_0_xdp_xmit_errors", .int(x.tx_xdp_xmit_errors)),
                    ])))
                }
                devs.set(d.name, .object(o))
            }
            let snmp: JSONValue = .object([("Ip", counters(s.snmp.ip)), ("Udp", counters(s.snmp.udp)),
                                           ("Tcp", counters(s.snmp.tcp)), ("TcpExt", counters(s.snmp.tcpExt)), ("Icmp", counters(s.snmp.icmp)),
                                           ("IcmpMsg", .object(s.snmp.icmp.icmpMsg.map { ($0.name, .int($0.value)) }))])
            let softnet: JSONValue = .array(s.softnetStats.map { c in
                .object([("cpu", .int(c.cpu)), ("processed", .int(c.processed)), ("dropped", .int(c.dropped)),
                         ("time_squeeze", .int(c.timeSqueeze)), ("received_rps", .int(c.receivedRPS)),
                         ("flow_limit_count", .int(c.flowLimitCount)), ("backlog_len", .int(c.backlogLength))])
            })
            // /proc/net/stat/synproxy's columns per CPU (entries is always 0 in the kernel).
            let synproxy: JSONValue = .array(s.synproxyStats.enumerated().map { cpu, st in
                .object([("cpu", .int(cpu)), ("entries", .int(0)), ("syn_received", .int(st.syn_received)), ("cookie_invalid", .int(st.cookie_invalid)),
                         ("cookie_valid", .int(st.cookie_valid)), ("cookie_retrans", .int(st.cookie_retrans)), ("conn_reopened", .int(st.conn_reopened))])
            })
            return .object([("stack", .string(s.config.name)), ("clock_ns", .int(Int(s.clockNs))), ("devices", devs.value),
                            ("snmp", snmp), ("snmp6", .object(s.snmp.snmp6.map { ($0.name, .int($0.value)) })), ("softnet", softnet), ("synproxy", synproxy),
                            ("ip_frag", .object([("queues", .int(s.fragmentQueueCount)), ("memory", .int(s.fragmentMemory))]))])
        }
        return jsonResponse(200, body)
    }

    /// A counters struct as JSON, by its field names (the kernel's counter names).
    private func counters(_ value: Any) -> JSONValue {
        .object(counterFields(value).map { ($0.name, .int($0.value)) })
    }
}

/// The Int fields of a counters struct, in declaration order; their names are the kernel's
/// counter names, so the stats JSON and the metrics page need no second list of them.
func counterFields(_ value: Any) -> [(name: String, value: Int)] {
    Mirror(reflecting: value).children.compactMap { c in
        guard let label = c.label, let n = c.value as? Int else { return nil }
        return (label, n)
    }
}
