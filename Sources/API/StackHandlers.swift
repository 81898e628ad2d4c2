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
        return jsonResponse(201, stackJSON(e), headers: [("location", "/v1/stacks/\(config.name)")])
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
                guard let b = d.byteQueueLimits, case .object(var o) = counters(d.stats) else { devs.set(d.name, counters(d.stats)); continue }
                // /sys/class/net/DEV/queues/tx-0/byte_queue_limits.
                o.append(("byte_queue_limits", .object([("limit", .int(b.limit)), ("inflight", .int(b.inflight))])))
                devs.set(d.name, .object(o))
            }
            let snmp: JSONValue = .object([("Ip", counters(s.snmp.ip)), ("Udp", counters(s.snmp.udp)),
                                           ("Tcp", counters(s.snmp.tcp)), ("Icmp", counters(s.snmp.icmp))])
            let softnet: JSONValue = .array(s.softnetStats.map { c in
                .object([("cpu", .int(c.cpu)), ("processed", .int(c.processed)), ("dropped", .int(c.dropped)),
                         ("time_squeeze", .int(c.timeSqueeze)), ("received_rps", .int(c.receivedRPS)),
                         ("flow_limit_count", .int(c.flowLimitCount)), ("backlog_len", .int(c.backlogLength))])
            })
            return .object([("stack", .string(s.config.name)), ("clock_ns", .int(Int(s.clockNs))), ("devices", devs.value),
                            ("snmp", snmp), ("snmp6", .object(s.snmp.snmp6.map { ($0.name, .int($0.value)) })), ("softnet", softnet),
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
