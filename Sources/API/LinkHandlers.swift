import HTTPServer
import JSON
import Kernel
import Store

/// Where a packet went on after a link: the stack it arrived in, and what that stack did with it.
struct Hop { var stack: String; var result: PacketResult }

// Links between stacks: POST/GET /v1/links, DELETE /v1/links/{link}, and frames crossing them.
extension App {
    func registerLinkRoutes() {
        router.add("POST", "/v1/links") { [unowned self] req, _ throws(Problem) in try createLink(req) }
        router.add("GET", "/v1/links") { [unowned self] req, _ throws(Problem) in try listLinks(req) }
        router.add("DELETE", "/v1/links/{link}") { [unowned self] req, p throws(Problem) in try deleteLink(req, p["link"]!) }
    }

    /// `{"a": {"stack", "dev"}, "b": {...}, "delay_ns", "rate_mbps", "loss_pct", "reorder_pct", "seed"}`.
    func createLink(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let body = try parseJSONBody(req)
        let l: LinkRecord = try decoding {
            var r = try FieldReader(body)
            func end(_ k: String) throws -> (String, String) {
                guard let v = try r.raw(k) else { throw JSONShapeError(path: "/\(k)", message: "is required") }
                var e = try FieldReader(v, path: "/\(k)")
                let s = try e.requiredString("stack"), d = try e.requiredString("dev")
                try e.finish()
                return (s, d)
            }
            let a = try end("a"), b = try end("b")
            let delay = try r.int("delay_ns", in: 0...1_000_000_000_000) ?? 0
            let rate = try r.int("rate_mbps", in: 0...10_000_000) ?? 0
            func percent(_ k: String) throws -> Int64 {
                guard let v = try r.raw(k) else { return 0 }
                let p: Double
                switch v {
                case .int(let i): p = Double(i)
                case .double(let d): p = d
                default: throw JSONShapeError(path: "/\(k)", message: "expected a number, got \(v.typeName)")
                }
                guard (0...100).contains(p) else { throw Problem.unprocessable("\(k) must be 0...100", pointer: "/\(k)") }
                return Int64((p * 10_000).rounded())
            }
            let loss = try percent("loss_pct"), reorder = try percent("reorder_pct")
            let seed = try r.int("seed", in: 0...Int(Int64.max)) ?? 0
            try r.finish()
            return LinkRecord(aStack: a.0, aDev: a.1, bStack: b.0, bDev: b.1, delayNs: Int64(delay), rateMbps: Int64(rate), lossPPM: loss, reorderPPM: reorder, seed: Int64(seed))
        }
        let stored = try registry.addLink(l)
        return jsonResponse(201, Self.linkJSON(stored), headers: [HTTPHeader("location", "/v1/links/\(stored.id)")])
    }

    func listLinks(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        return jsonResponse(200, .object([("items", .array(registry.allLinks().map(Self.linkJSON)))]))
    }

    func deleteLink(_ req: HTTPRequest, _ idText: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        guard let id = Int64(idText), id > 0 else { throw Problem.notFound("no link \(idText)") }
        try registry.removeLink(id: id)
        return HTTPResponse(status: 204)
    }

    static func linkJSON(_ l: LinkRecord) -> JSONValue {
        var o = JSONObject()
        o.set("id", Int(l.id))
        o.set("a", .object([("stack", .string(l.aStack)), ("dev", .string(l.aDev))]))
        o.set("b", .object([("stack", .string(l.bStack)), ("dev", .string(l.bDev))]))
        o.set("delay_ns", Int(l.delayNs))
        o.set("rate_mbps", Int(l.rateMbps))
        o.set("loss_pct", .double(Double(l.lossPPM) / 10_000))
        o.set("reorder_pct", .double(Double(l.reorderPPM) / 10_000))
        o.set("seed", Int(l.seed))
        o.set("created_at", l.createdAt)
        return o.value
    }

    /// Frames that left on a linked device arrive at the far end after the sender's wire time
    /// (its `speed`), their turn on the link at its own rate if it has one, and the link's delay,
    /// unless the link loses them: injected into that stack,
    /// whose own frames on links go on in turn, up to 8 links from the first. Each stack keeps its
    /// own clock, so a frame due in a stack's past arrives at its present. Answers each first
    /// packet's hops, in the order they happened.
    func followLinks(_ results: [PacketResult], from name: String) -> [[Hop]] {
        var hops = [[Hop]](repeating: [], count: results.count)
        guard !registry.allLinks().isEmpty else { return hops }
        var frontier: [(origin: Int, stack: String, result: PacketResult)] = results.enumerated().map { ($0.offset, name, $0.element) }
        // Each end's device looked up once per request (speed of a sender, index of a receiver).
        var ends: [String: (speed: Int, index: Int)] = [:]
        func end(_ stack: String, _ dev: String) -> (speed: Int, index: Int)? {
            if let e = ends[stack + "/" + dev] { return e }
            guard let e = registry.get(stack), let d = e.withStack({ s in s.device(named: dev).map { ($0.config.speedMbps, $0.index) } }) else { return nil }
            ends[stack + "/" + dev] = d
            return d
        }
        for _ in 0..<8 {
            var arrivals: [String: [(origin: Int, injection: Injection)]] = [:]
            // In the order they left, so a rated link serves them first come, first served.
            let leaving = frontier.flatMap { o in o.result.emitted.map { (o.origin, o.stack, $0) } }.sorted { $0.2.timeNs < $1.2.timeNs }
            for (origin, stack, f) in leaving {
                guard let far = registry.crossLink(from: stack, dev: f.device), !far.lost,
                      let sender = end(stack, f.device), let receiver = end(far.stack, far.dev) else { continue }
                let wire = NetDevice.wireNs(f.frame.count, mbps: sender.speed)
                let dev = receiver.index
                let through = registry.linkSerialize(far.link, from: stack, dev: f.device, readyAt: f.timeNs &+ wire, frameLen: f.frame.count)
                // netem's reorder: a drawn frame goes without the delay, ahead of those waiting it out.
                let at = min(through &+ (far.reordered ? 0 : UInt64(far.link.delayNs)), Stack.clockLimitNs)
                arrivals[far.stack, default: []].append((origin, Injection(device: dev, frame: f.frame, atNs: at, csumPartial: f.csumPartial)))
            }
            if arrivals.isEmpty { break }
            frontier = []
            for (peerName, list) in arrivals.sorted(by: { $0.key < $1.key }) {
                guard let peer = registry.get(peerName) else { continue }
                let rs: [PacketResult] = peer.withStack { s in
                    guard !peer.deleted else { return [] }
                    let out = s.inject(list.map(\.injection))
                    for r in out { peer.outcomes[StackEntry.OutcomeKey(outcome: r.outcome, dropReason: r.dropReason), default: 0] += 1 }
                    return out
                }
                for (k, r) in rs.enumerated() {
                    hops[list[k].origin].append(Hop(stack: peerName, result: r))
                    frontier.append((list[k].origin, peerName, r))
                }
            }
        }
        // By arrival time (a round's stacks are visited by name; the sort is stable).
        return hops.map { list in list.enumerated().sorted { ($0.element.result.startNs, $0.offset) < ($1.element.result.startNs, $1.offset) }.map(\.element) }
    }
}
