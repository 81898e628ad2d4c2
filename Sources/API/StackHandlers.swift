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
                let st = d.stats
                devs.set(d.name, .object([
                    ("rx_packets", .int(st.rx_packets)), ("rx_bytes", .int(st.rx_bytes)), ("rx_dropped", .int(st.rx_dropped)),
                    ("rx_length_errors", .int(st.rx_length_errors)), ("rx_otherhost_dropped", .int(st.rx_otherhost_dropped)),
                    ("rx_nohandler", .int(st.rx_nohandler)),
                ]))
            }
            let ip = s.snmp.ip, udp = s.snmp.udp, tcp = s.snmp.tcp, icmp = s.snmp.icmp
            let snmp: JSONValue = .object([
                ("Ip", .object([("InReceives", .int(ip.InReceives)), ("InHdrErrors", .int(ip.InHdrErrors)), ("InAddrErrors", .int(ip.InAddrErrors)),
                                ("InUnknownProtos", .int(ip.InUnknownProtos)), ("InDiscards", .int(ip.InDiscards)), ("InDelivers", .int(ip.InDelivers)),
                                ("InTruncatedPkts", .int(ip.InTruncatedPkts)), ("InCsumErrors", .int(ip.InCsumErrors)),
                                ("ReasmReqds", .int(ip.ReasmReqds)), ("ReasmOKs", .int(ip.ReasmOKs)), ("ReasmFails", .int(ip.ReasmFails)),
                                ("ForwDatagrams", .int(ip.ForwDatagrams))])),
                ("Udp", .object([("InDatagrams", .int(udp.InDatagrams)), ("NoPorts", .int(udp.NoPorts)), ("InErrors", .int(udp.InErrors)),
                                 ("RcvbufErrors", .int(udp.RcvbufErrors)), ("InCsumErrors", .int(udp.InCsumErrors)), ("IgnoredMulti", .int(udp.IgnoredMulti))])),
                ("Tcp", .object([("InSegs", .int(tcp.InSegs)), ("InErrs", .int(tcp.InErrs)), ("InCsumErrors", .int(tcp.InCsumErrors)), ("OutRsts", .int(tcp.OutRsts))])),
                ("Icmp", .object([("InMsgs", .int(icmp.InMsgs)), ("InErrors", .int(icmp.InErrors)), ("InCsumErrors", .int(icmp.InCsumErrors)), ("InEchos", .int(icmp.InEchos))])),
            ])
            return .object([("stack", .string(s.config.name)), ("clock_ns", .int(Int(s.clockNs))), ("devices", devs.value), ("snmp", snmp)])
        }
        return jsonResponse(200, body)
    }
}
