import HTTPServer
import JSON
import Kernel
import Wire

// Routes, neighbours, sockets, softnet_stat and the clock of a stack.
extension App {
    func registerResourceRoutes() {
        router.add("GET", "/v1/stacks/{stack}/routes") { [unowned self] req, p throws(Problem) in try listRoutes(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/routes") { [unowned self] req, p throws(Problem) in try addRoute(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/routes") { [unowned self] req, p throws(Problem) in try deleteRoute(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/neighbours") { [unowned self] req, p throws(Problem) in try listNeighbours(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/neighbours") { [unowned self] req, p throws(Problem) in try addNeighbour(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/sockets") { [unowned self] req, p throws(Problem) in try listSockets(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/sockets") { [unowned self] req, p throws(Problem) in try bindSocket(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/sockets/{socket}") { [unowned self] req, p throws(Problem) in
            try closeSocket(req, p["stack"]!, p["socket"]!)
        }
        router.add("POST", "/v1/stacks/{stack}/sockets/{socket}/recv") { [unowned self] req, p throws(Problem) in
            try recv(req, p["stack"]!, p["socket"]!)
        }
        router.add("GET", "/v1/stacks/{stack}/softnet_stat") { [unowned self] req, p throws(Problem) in try softnet(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/clock") { [unowned self] req, p throws(Problem) in try advanceClock(req, p["stack"]!) }
    }

    // MARK: routes

    func listRoutes(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let rows: [JSONValue] = e.withStack { s in
            func row(_ prefix: String, _ type: RouteType, _ gateway: String?, _ dev: Int, _ metric: Int, _ proto: RouteProto, table: String? = nil) -> JSONValue {
                var o = JSONObject()
                o.set("dst", prefix)
                o.set("type", type.rawValue)
                if let gateway { o.set("via", gateway) }
                o.set("dev", dev == FIBEntry.loopback ? "lo" : s.devices[dev].name)
                o.set("metric", metric)
                o.set("proto", proto.rawValue)
                o.set("table", table ?? (type == .local || type == .broadcast ? "local" : "main"))
                return o.value
            }
            return (s.fib.local + s.fib.main).map { row($0.prefix.description, $0.type, $0.gateway?.description, $0.dev, $0.metric, $0.proto) }
                + s.fib.tables.keys.sorted().flatMap { t in s.fib.tables[t]!.map {
                    row($0.prefix.description, $0.type, $0.gateway?.description, $0.dev, $0.metric, $0.proto, table: StackDocument.tableName(t)) } }
                + (s.fib6.local + s.fib6.main).map { row($0.prefix.description, $0.type, $0.gateway?.description, $0.dev, $0.metric, $0.proto) }
                + s.fib6.tables.keys.sorted().flatMap { t in s.fib6.tables[t]!.map {
                    row($0.prefix.description, $0.type, $0.gateway?.description, $0.dev, $0.metric, $0.proto, table: StackDocument.tableName(t)) } }
        }
        return jsonResponse(200, .object([("items", .array(rows))]))
    }

    func addRoute(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let body = try parseJSONBody(req)
        let route = try decoding { try StackDocument.decodeRoute(body, path: "") }
        try registry.change(e) { (s, c) throws(Problem) in
            switch route {
            case .v4(let r): try App.addStatic(r, to: &c.routes, what: "\(r.dst) with metric \(r.metric)" + (r.table == FIB.main ? "" : " in table \(r.table)"),
                                               same: { $0.dst == r.dst && $0.metric == r.metric && $0.table == r.table }, key: "routes", apply: s.setRoutes)
            case .v6(let r): try App.addStatic(r, to: &c.routes6, what: "\(r.dst) with metric \(r.metric)" + (r.table == FIB.main ? "" : " in table \(r.table)"),
                                               same: { $0.dst == r.dst && $0.metric == r.metric && $0.table == r.table }, key: "routes6", apply: s.setRoutes6)
            }
        }
        return jsonResponse(201, StackDocument.encodeRoute(route))
    }

    func deleteRoute(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        guard let dstText = q.string("dst") else { throw Problem.badRequest("invalid-query", "dst is required, e.g. ?dst=10.0.0.0/8") }
        let v6 = dstText.contains(":")
        let metric = try q.int("metric", in: 0...Int(UInt32.max), default: v6 ? 1024 : 0)
        let tableText = q.string("table")
        try q.finish()
        let table: Int
        do { table = try StackDocument.decodeTable(tableText.map { .string($0) }, path: "") } catch {
            throw Problem.badRequest("invalid-query", "table must be a number, main or default")
        }
        let e = try entry(name)
        if v6 {
            guard let dst = try? IPv6CIDR(parsing: dstText) else { throw Problem.badRequest("invalid-query", "dst \(dstText) is not a prefix") }
            try registry.change(e) { (s, c) throws(Problem) in
                try App.removeStatic(from: &c.routes6, where: { $0.dst == dst && $0.metric == metric && $0.table == table },
                                     what: "\(dst) with metric \(metric)" + (table == FIB.main ? "" : " in table \(table)"), apply: s.setRoutes6)
            }
            return HTTPResponse(status: 204)
        }
        let dst: IPv4CIDR
        do { dst = dstText == "default" ? IPv4CIDR(address: .any, prefixLength: 0) : try IPv4CIDR(parsing: dstText) } catch {
            throw Problem.badRequest("invalid-query", "dst \(dstText) is not a prefix")
        }
        try registry.change(e) { (s, c) throws(Problem) in
            try App.removeStatic(from: &c.routes, where: { $0.dst == dst && $0.metric == metric && $0.table == table },
                                 what: "\(dst) with metric \(metric)" + (table == FIB.main ? "" : " in table \(table)"), apply: s.setRoutes)
        }
        return HTTPResponse(status: 204)
    }

    /// A static route added to the stored list and the stack's FIB (either family): 409 when one
    /// to that prefix with that metric exists, 422 with the place of what the FIB refuses.
    static func addStatic<R>(_ r: R, to list: inout [R], what: String, same: (R) -> Bool, key: String, apply: ([R]) throws(ConfigError) -> Void) throws(Problem) {
        if list.contains(where: same) {
            throw Problem(status: 409, slug: "conflict", detail: "a route to \(what) exists (RTNETLINK: File exists)")
        }
        let routes = list + [r]
        do throws(ConfigError) { try apply(routes) } catch {
            throw Problem.unprocessable(error.message, pointer: error.path.replacingOccurrences(of: "/\(key)/\(routes.count - 1)", with: ""))
        }
        list = routes
    }

    static func removeStatic<R>(from list: inout [R], where match: (R) -> Bool, what: String, apply: ([R]) throws(ConfigError) -> Void) throws(Problem) {
        guard let i = list.firstIndex(where: match) else { throw Problem.notFound("no static route to \(what)") }
        var routes = list
        routes.remove(at: i)
        do throws(ConfigError) { try apply(routes) } catch { throw Problem.unprocessable(error.message, pointer: error.path) }
        list = routes
    }

    // MARK: neighbours

    func listNeighbours(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let rows: [JSONValue] = try entry(name).withStack { s in
            s.neighbourEntries.map { n in
                neighbourRow(n.address.description, s.devices[n.dev].name, n.mac, n.state, n.queueLength)
            } + s.neighbour6Entries.map { n in
                neighbourRow(n.address.description, s.devices[n.dev].name, n.mac, n.state, n.queueLength)
            }
        }
        return jsonResponse(200, .object([("items", .array(rows))]))
    }

    func addNeighbour(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let body = try parseJSONBody(req)
        let n = try decoding { try StackDocument.decodeNeighbour(body, path: "") }
        try registry.change(e) { (s, c) throws(Problem) in
            switch n {
            case .v4(let n):
                guard s.addNeighbour(n) else { throw Problem.unprocessable("no device named \(n.dev)", pointer: "/dev") }
                c.neighbours.removeAll { $0.address == n.address && $0.dev == n.dev }
                c.neighbours.append(n)
            case .v6(let n):
                guard s.addNeighbour6(n) else { throw Problem.unprocessable("no device named \(n.dev), or IPv6 is disabled", pointer: "/dev") }
                c.neighbours6.removeAll { $0.address == n.address && $0.dev == n.dev }
                c.neighbours6.append(n)
            }
        }
        guard case .object(var o) = StackDocument.encodeNeighbour(n) else { return HTTPResponse(status: 500) }
        o.append(("state", .string("PERMANENT")))
        return jsonResponse(201, .object(o))
    }

    private func neighbourRow(_ address: String, _ dev: String, _ mac: MACAddress?, _ state: NUDState, _ queued: Int) -> JSONValue {
        var o = JSONObject()
        o.set("address", address)
        o.set("dev", dev)
        o.set("mac", mac.map { .string($0.description) } ?? .null)
        o.set("state", state.rawValue)
        o.set("queued", queued)
        return o.value
    }

    // MARK: sockets

    func socketJSON(_ k: Sock) -> JSONValue {
        guard case .object(var f) = StackDocument.encodeSocketConfig(k.config) else { return .null }
        f.append(("rcvbuf_effective", .int(k.rcvbuf)))
        f.append(("rmem_alloc", .int(k.rmemAlloc)))
        f.append(("queued", .int(k.queue.count)))
        f.append(("drops", .int(k.drops)))
        f.append(("sndbuf_effective", .int(k.sndbuf)))
        f.append(("wmem_alloc", .int(k.wmemAlloc)))
        f.append(("sent", .int(k.sent)))
        f.append(("send_errors", .object(k.sendErrors.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })))
        if k.config.connected { f.append(("state", .string("ESTAB"))) }
        if let e = k.pendingError, k.config.proto != .tcp { f.append(("errno", .string(e))) }
        if k.config.proto == .tcp {
            f.append(("syn_received", .int(k.synReceived)))
            if let c = k.tcp {
                f.append(("state", .string(c.state.rawValue)))
                f.append(("local", .string(c.localText)))
                f.append(("peer", .string(c.remoteText)))
                f.append(("recv_q", .int(c.recvQ)))
                f.append(("send_q", .int(c.sendQ)))
                if let e = c.error ?? c.pendingError { f.append(("errno", .string(e))) }
            } else {
                f.append(("state", .string(k.listening ? "LISTEN" : "UNCONN")))
            }
        }
        return .object(f)
    }

    func listSockets(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let rows: [JSONValue] = try entry(name).withStack { s in s.allSockets.map(socketJSON) }
        return jsonResponse(200, .object([("items", .array(rows))]))
    }

    func bindSocket(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let body = try parseJSONBody(req)
        let json: JSONValue = try registry.change(e) { (s, c) throws(Problem) in
            var (cfg, calls) = try decoding { try StackDocument.decodeSocketAndCalls(body, path: "", id: s.nextSocketID) }
            // A scope id may be an ifindex.
            if let d = cfg.bindDevice, let n = Int(d), let dev = s.devices.first(where: { $0.ifindex == n }) { cfg.bindDevice = dev.name }
            // Not an address of the stack: the request, not the stack's state, is at fault (422);
            // an address and port taken is a conflict (409).
            if let why = s.bindAddressError(cfg) { throw Problem.unprocessable(why, pointer: "/address") }
            if cfg.isPing, let why = s.ping_init_sock() { throw Problem.unprocessable(why, pointer: "/protocol") }
            if let m = cfg.multicastIf6, !s.devices.contains(where: { $0.name == m }) { throw Problem.unprocessable("ENODEV: no device \(m)", pointer: "/ipv6_multicast_if") }
            if let d = cfg.bindDevice, !s.devices.contains(where: { $0.name == d }) {
                throw Problem.unprocessable("ENODEV: no device \(d)", pointer: body["bindtodevice"] != nil ? "/bindtodevice" : "/address")
            }
            if let why = s.bind(cfg) { throw Problem(status: 409, slug: "conflict", detail: why) }
            // Group calls once it is bound; one refused leaves no socket behind.
            do throws(Problem) { try Self.groupCalls(s, socket: cfg.id, calls) } catch { _ = s.closeSocket(cfg.id); throw error }
            // A ping socket's identifier as ping_get_port chose it, so a restart binds the same.
            c.sockets.append(s.socket(cfg.id)!.config)
            return socketJSON(s.socket(cfg.id)!)
        }
        return jsonResponse(201, json)
    }

    func socketID(_ text: String) throws(Problem) -> Int {
        guard let id = Int(text), id > 0 else { throw Problem.notFound("no socket \(text)") }
        return id
    }

    func closeSocket(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        let id = try socketID(idText)
        let tcp: Bool = try entry(name).withStack { s in s.socket(id)?.config.proto == .tcp }
        if tcp { return try closeTCP(req, name, id, answer: false) }
        try Query(req.query).finish()
        try registry.change(try entry(name)) { (s, c) throws(Problem) in
            guard s.closeSocket(id) else { throw Problem.notFound("no socket \(id)") }
            c.sockets.removeAll { $0.id == id }
        }
        return HTTPResponse(status: 204)
    }

    /// Reads (dequeues) datagrams as a process on `cpu` would; RFS learns that CPU.
    func recv(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let id = try socketID(idText)
        var max = 64, cpu = 0, maxGiven = false
        if !req.body.isEmpty {
            let body = try parseJSONBody(req)
            try decoding {
                var r = try FieldReader(body)
                let m = try r.int("max", in: 1...100_000)
                maxGiven = m != nil
                max = m ?? 64
                cpu = try r.int("cpu", in: 0...63) ?? 0
                try r.finish()
            }
        }
        let e = try entry(name)
        // A TCP socket reads a byte stream: max is bytes (64 KiB unless given).
        let stream: JSONValue? = try e.withStack { (s: Stack) throws(Problem) -> JSONValue? in
            guard s.socket(id)?.config.proto == .tcp else { return nil }
            guard let v = tcpRecv(s, id, max: maxGiven ? max : 65_536) else { throw Problem.unprocessable("socket \(id) is not connected (ENOTCONN)", pointer: "") }
            return v
        }
        if let stream { return jsonResponse(200, stream) }
        // A pending error (an ICMP error's sk_err) fails the call before anything queued, once.
        var failed: String? = nil
        let got: [Datagram]? = try e.withStack { (s: Stack) throws(Problem) -> [Datagram]? in
            guard cpu < s.config.cpus else { throw Problem.unprocessable("the stack has \(s.config.cpus) CPUs (0...\(s.config.cpus - 1))", pointer: "/cpu") }
            if let err = s.sock_error(socket: id) { failed = err; return [] }
            return s.recv(socket: id, max: max, cpu: cpu)
        }
        guard let got else { throw Problem.notFound("no socket \(id)") }
        if let failed { return jsonResponse(200, .object([("datagrams", .array([])), ("errno", .string(failed))])) }
        let items: [JSONValue] = got.map { d in
            .object([("src", .string(d.src.description)), ("sport", .int(Int(d.srcPort))), ("dst", .string(d.dst.description)),
                     ("payload_hex", .string(Hex.encode(d.payload))), ("time_ns", .int(Int(d.timeNs)))])
        }
        return jsonResponse(200, .object([("datagrams", .array(items))]))
    }

    // MARK: softnet_stat and clock

    func softnet(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let text = try entry(name).withStack { s in s.softnetStats.map(\.procLine).joined(separator: "\n") + "\n" }
        return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: text)
    }

    func advanceClock(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let body = try parseJSONBody(req)
        var by: Int? = nil, to: Int? = nil
        try decoding {
            var r = try FieldReader(body)
            by = try r.int("advance_ns", in: 0...Int(Stack.clockLimitNs))
            to = try r.int("to_ns", in: 0...Int(Stack.clockLimitNs))
            try r.finish()
        }
        guard (by == nil) != (to == nil) else { throw Problem.badRequest("invalid-field", "give exactly one of advance_ns and to_ns") }
        let (now, frames): (Int, [EmittedFrame]) = try entry(name).withStack { (s: Stack) throws(Problem) -> (Int, [EmittedFrame]) in
            // Both terms are at most about 2^62, so the sum cannot overflow.
            let target = to.map { UInt64($0) } ?? s.clockNs + UInt64(by!)
            guard target <= Stack.clockLimitNs else {
                throw Problem.unprocessable("the clock would pass its limit of \(Stack.clockLimitNs) ns (it is at \(s.clockNs) ns)",
                                            pointer: by != nil ? "/advance_ns" : "/to_ns")
            }
            let sent = s.advance(toNs: target)
            return (Int(s.clockNs), sent)
        }
        // What the timers sent goes on across links, as an injection's frames do.
        let hops = frames.isEmpty ? [] : followLinks([.timerFrames(frames, at: UInt64(now))], from: name)[0]
        var o = JSONObject()
        o.set("clock_ns", now)
        o.set("emitted", .array(frames.map { f in
            .object([("device", .string(f.device)), ("time_ns", .int(Int(f.timeNs))), ("hex", .string(Hex.encode(f.frame)))])
        }))
        o.set("hops", .array(hops.map { h in
            .object([("stack", .string(h.stack)), ("device", .string(h.result.device)), ("outcome", .string(h.result.outcome.rawValue)),
                     ("drop_reason", h.result.dropReason.map { .string($0.rawValue) } ?? .null)])
        }))
        return jsonResponse(200, o.value)
    }
}
