import Foundation
import HTTPServer
import JSON
import Kernel
import Wire

// Sending from a socket.
extension App {
    /// `POST .../sockets/{socket}/send`: `count` datagrams to `to`:`port` (optionally `rate_pps`
    /// apart from `start_ns`), each a non-blocking `sendto`; `setsockopt` options apply first and
    /// stay with the socket. Answers like an injection: each datagram's trace.
    func sendOnSocket(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let sync = try q.bool("sync")
        let traceParam = q.string("trace")
        try q.finish()
        let id = try socketID(idText)
        let e = try entry(name)
        let mode: TraceMode
        if let traceParam {
            guard let m = TraceMode(traceParam) else { throw Problem.badRequest("invalid-query", TraceMode.help) }
            mode = m
        } else {
            mode = TraceMode(e.stack.config.traceMode) ?? .full
        }
        let body = try parseJSONBody(req)
        var dst = IPv4Address.any, port = 0, payload: [UInt8] = [], count = 1
        var rate: Int?, startNs: Int?, opts: StackDocument.SocketOptions?, rcvbuf: Int?
        try decoding {
            var r = try FieldReader(body)
            let to = try r.requiredString("to")
            guard let a = try? IPv4Address(parsing: to) else { throw Problem.unprocessable("to must be an IPv4 address (AF_INET sockets send so far)", pointer: "/to") }
            dst = a
            guard let p = try r.int("port", in: 1...65535) else { throw JSONShapeError(path: "/port", message: "is required") }
            port = p
            let text = try r.string("payload"), hex = try r.string("payload_hex"), b64 = try r.string("payload_base64")
            let length = try r.int("length", in: 0...65535)
            guard [text != nil, hex != nil, b64 != nil, length != nil].filter({ $0 }).count <= 1 else {
                throw Problem.unprocessable("give at most one of payload, payload_hex, payload_base64 and length", pointer: "/payload")
            }
            if let text { payload = Array(text.utf8) }
            if let hex {
                guard let b = try? Hex.decode(hex) else { throw Problem.unprocessable("payload_hex is not hex", pointer: "/payload_hex") }
                payload = b
            }
            if let b64 {
                guard let d = Data(base64Encoded: b64) else { throw Problem.unprocessable("payload_base64 is not base64", pointer: "/payload_base64") }
                payload = Array(d)
            }
            if let length { payload = [UInt8](repeating: 0, count: length) }
            count = try r.int("count", in: 1...limits.maxPacketsPerRequest) ?? 1
            rate = try r.int("rate_pps", in: 1...1_000_000_000)
            startNs = try r.int("start_ns", in: 0...Int(Stack.clockLimitNs))
            if let o = try r.raw("setsockopt") {
                var w = try FieldReader(o, path: "/setsockopt")
                rcvbuf = try w.int("rcvbuf", in: 256...(1 << 30))
                opts = try StackDocument.decodeSocketOptions(&w, path: "/setsockopt")
                try w.finish()
            }
            try r.finish()
        }
        guard running.enter(max: limits.maxConcurrentInjections) else {
            var p = Problem(status: 429, slug: "too-many-injections", detail: "\(limits.maxConcurrentInjections) injections are running (--max-injections); try again")
            p.headers = [("retry-after", "1")]
            throw p
        }
        defer { running.leave() }
        if let o = opts {
            try registry.change(e) { (s: Stack, c: inout StackConfig) throws(Problem) in
                guard let cfg = s.setsockopt(socket: id, rcvbuf: rcvbuf, sndbuf: o.sndbuf, tos: o.tos, priority: o.priority, pmtudisc: o.pmtudisc),
                      let k = c.sockets.firstIndex(where: { $0.id == id }) else { throw Problem.notFound("no socket \(id)") }
                c.sockets[k] = cfg
            }
        }
        let results: [PacketResult] = try e.withStack { (s: Stack) throws(Problem) -> [PacketResult] in
            guard let sk = s.socket(id) else { throw Problem.notFound("no socket \(id)") }
            guard sk.config.proto == .udp, sk.config.address6 == nil else {
                throw Problem.unprocessable("only AF_INET UDP sockets send yet (socket \(id) is \(sk.config.address6 == nil ? "" : "AF_INET6 ")\(sk.config.proto.rawValue))", pointer: "/to")
            }
            try Self.checkClock(s, startNs: startNs)
            let most = switch mode {
            case .none: 0
            case .sample(let n): (count + n - 1) / n
            default: count
            }
            guard e.storedTraces + most <= limits.maxTracesPerStack else {
                throw Problem(status: 422, slug: "trace-quota", detail: "stack \(name) holds \(e.storedTraces) traces and this send adds up to \(most); at most \(limits.maxTracesPerStack) per stack (--max-traces): DELETE /v1/stacks/\(name)/traces first")
            }
            e.storedTraces += most
            let tracing = s.tracing
            if mode == .none { s.tracing = false }
            defer { s.tracing = tracing }
            let base = startNs.map { UInt64($0) } ?? s.clockNs
            let results = s.send((0..<count).map { i in
                Send(socket: id, dst: dst, port: UInt16(port), payload: payload, atNs: base + (rate.map { UInt64(i) * 1_000_000_000 / UInt64($0) } ?? 0))
            })
            for r in results { e.outcomes[StackEntry.OutcomeKey(outcome: r.outcome, dropReason: r.dropReason), default: 0] += 1 }
            let kept = results.enumerated().reduce(0) { $0 + (mode.keep($1.offset, $1.element) == nil ? 0 : 1) }
            e.storedTraces -= most - kept
            return results
        }
        return try storeTraces(results, mode: mode, entry: e, sync: sync)
    }
}
