import Foundation
import HTTPServer
import JSON
import Kernel
import Wire

// Sending from sockets: one flow per request on a socket's own route, or several flows whose
// calls interleave in time in one run.
extension App {
    func registerSendRoutes() {
        router.add("POST", "/v1/stacks/{stack}/sockets/{socket}/send") { [unowned self] req, p throws(Problem) in
            try sendOnSocket(req, p["stack"]!, p["socket"]!)
        }
        router.add("POST", "/v1/stacks/{stack}/sends") { [unowned self] req, p throws(Problem) in try sendFlows(req, p["stack"]!) }
    }

    /// One flow: `count` non-blocking `sendto` calls of one payload to `to`:`port`, `rate_pps`
    /// apart from `start_ns` (all at once without a rate), after its `setsockopt` options.
    struct Flow {
        var socket: Int
        var dst: IPv4Address, dst6: IPv6Address?, port: UInt16, payload: [UInt8], count: Int
        /// sin6_scope_id: `fe80::9%eth1` names the device (or its ifindex, `%3`).
        var scope: String? = nil
        var rate: Int?, startNs: Int?
        var options: StackDocument.SocketOptions?, rcvbuf: Int?
        /// No `to`: `send` on a connected socket, to its peer.
        var toPeer = false
        /// Where the flow is in the request body (for a problem's pointer).
        var path = ""
    }

    /// `POST .../sockets/{socket}/send`: one flow on that socket.
    func sendOnSocket(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        let id = try socketID(idText)
        let tcp: Bool = try entry(name).withStack { s in s.socket(id)?.config.proto == .tcp }
        if tcp { return try tcpSend(req, name, id) }
        let body = try parseJSONBody(req)
        let flow = try decoding { try decodeFlow(body, path: "", socket: id) }
        return try runFlows(req, name, [flow])
    }

    /// `POST .../sends` with `{"flows": [...]}`, each naming its `socket`: their calls merged by time.
    func sendFlows(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        let body = try parseJSONBody(req)
        let flows: [Flow] = try decoding {
            var r = try FieldReader(body)
            guard let list = try r.array("flows"), !list.isEmpty else { throw JSONShapeError(path: "/flows", message: "is required and not empty") }
            try r.finish()
            return try list.enumerated().map { i, f in try decodeFlow(f, path: "/flows/\(i)", socket: nil) }
        }
        return try runFlows(req, name, flows)
    }

    private func decodeFlow(_ v: JSONValue, path: String, socket: Int?) throws -> Flow {
        var r = try FieldReader(v, path: path)
        var id = socket ?? 0
        if socket == nil {
            guard let s = try r.int("socket", in: 1...Int(Int32.max)) else { throw JSONShapeError(path: path + "/socket", message: "is required") }
            id = s
        }
        let toGiven = try r.string("to")
        let to = toGiven ?? "0.0.0.0"
        var dst = IPv4Address.any, dst6: IPv6Address?
        var scope: String? = nil
        if to.contains(":") {
            let parts = to.split(separator: "%", maxSplits: 1).map(String.init)
            guard let a = try? IPv6Address(parsing: parts[0]), parts.count == 1 || !parts[1].isEmpty else {
                throw Problem.unprocessable("to is not an IPv6 address (with an optional %DEVICE scope)", pointer: path + "/to")
            }
            dst6 = a
            scope = parts.count == 2 ? parts[1] : nil
        } else {
            guard let a = try? IPv4Address(parsing: to) else { throw Problem.unprocessable("to is not an IPv4 or IPv6 address", pointer: path + "/to") }
            dst = a
        }
        let portGiven = try r.int("port", in: 1...65535)
        // `to` alone is a ping socket's sendto (its port is unused); UDP answers it with EINVAL, as udp_sendmsg does port 0.
        if toGiven == nil && portGiven != nil { throw JSONShapeError(path: path + "/to", message: "port goes with to (neither: a connected socket's peer)") }
        let payload = try decodePayload(&r, path: path) ?? []
        var f = Flow(socket: id, dst: dst, dst6: dst6, port: UInt16(portGiven ?? 0), payload: payload, count: try r.int("count", in: 1...limits.maxPacketsPerRequest) ?? 1)
        f.toPeer = toGiven == nil
        f.scope = scope
        f.path = path
        f.rate = try r.int("rate_pps", in: 1...1_000_000_000)
        f.startNs = try r.int("start_ns", in: 0...Int(Stack.clockLimitNs))
        if let o = try r.raw("setsockopt") {
            var w = try FieldReader(o, path: path + "/setsockopt")
            f.rcvbuf = try w.int("rcvbuf", in: 256...(1 << 30))
            f.options = try StackDocument.decodeSocketOptions(&w, path: path + "/setsockopt")
            try w.finish()
        }
        try r.finish()
        return f
    }

    /// The bytes of a send: at most one of `payload` (text), `payload_hex`, `payload_base64` and
    /// `length` (that many zero bytes); nil when none is given.
    func decodePayload(_ r: inout FieldReader, path: String) throws -> [UInt8]? {
        let text = try r.string("payload"), hex = try r.string("payload_hex"), b64 = try r.string("payload_base64")
        let length = try r.int("length", in: 0...65535)
        guard [text != nil, hex != nil, b64 != nil, length != nil].filter({ $0 }).count <= 1 else {
            throw Problem.unprocessable("give at most one of payload, payload_hex, payload_base64 and length", pointer: path + "/payload")
        }
        if let text { return Array(text.utf8) }
        if let hex {
            guard let b = try? Hex.decode(hex) else { throw Problem.unprocessable("payload_hex is not hex", pointer: path + "/payload_hex") }
            return b
        }
        if let b64 {
            guard let d = Data(base64Encoded: b64) else { throw Problem.unprocessable("payload_base64 is not base64", pointer: path + "/payload_base64") }
            return Array(d)
        }
        return length.map { [UInt8](repeating: 0, count: $0) }
    }

    /// Runs the flows' calls in one run, in time order (a flow's own order kept), and answers as
    /// an injection does: each datagram's trace.
    private func runFlows(_ req: HTTPRequest, _ name: String, _ given: [Flow]) throws(Problem) -> HTTPResponse {
        var flows = given
        let (e, mode, sync) = try runOptions(req, name)
        let total = flows.reduce(0) { $0 + $1.count }
        guard total <= limits.maxPacketsPerRequest else {
            throw Problem.unprocessable("at most \(limits.maxPacketsPerRequest) datagrams per request", pointer: "/flows")
        }
        try enterRunning()
        defer { running.leave() }
        // Sockets checked and options set (and stored) before anything is sent.
        try registry.change(e) { (s: Stack, c: inout StackConfig) throws(Problem) in
            for f in flows {
                guard let sk = s.socket(f.socket) else { throw Problem.notFound("no socket \(f.socket)") }
                guard sk.config.proto != .tcp else {
                    throw Problem.unprocessable("socket \(f.socket) is TCP: it sends with POST .../sockets/\(f.socket)/send", pointer: "/to")
                }
                try Self.checkClock(s, startNs: f.startNs)
                if let o = f.options { try Self.checkSetsockopt(s, sk, o, path: f.path + "/setsockopt") }
            }
            // `send` without an address: to the peer `connect` set (EDESTADDRREQ without one).
            for k in flows.indices where flows[k].toPeer {
                guard let sk = s.socket(flows[k].socket), sk.config.connected else {
                    throw Problem.unprocessable("EDESTADDRREQ: socket \(flows[k].socket) is not connected: give to and port", pointer: "/to")
                }
                if let p = sk.config.peer { flows[k].dst = p } else { flows[k].dst6 = sk.config.peer6 }
                flows[k].port = sk.config.peerPort
            }
            // lo would hand a UDP_SEGMENT datagram up whole (NETIF_F_GSO_UDP_L4), to udp_rcv_segment.
            for f in flows where s.loopsBack(f.dst6.map { .v6($0) } ?? .v4(f.dst)) {
                let segment = f.options?.udpSegment.map { $0 == 0 ? nil : $0 } ?? s.socket(f.socket)?.config.udpSegment
                guard segment != nil else { continue }
                throw Problem.unprocessable("not supported yet: UDP_SEGMENT to the stack's own address \(f.dst6.map { "\($0)" } ?? "\(f.dst)") (lo hands the whole GSO datagram up)", pointer: f.path + "/to")
            }
            for f in flows {
                guard let o = f.options else { continue }
                try Self.setsockopt(s, &c, socket: f.socket, rcvbuf: f.rcvbuf, o)
            }
        }
        let results = try runTraced(e, mode: mode, packets: total) { s in
            var sends: [Send] = []
            for f in flows {
                let base = f.startNs.map { UInt64($0) } ?? s.clockNs
                for i in 0..<f.count {
                    let at = base + (f.rate.map { UInt64(i) * 1_000_000_000 / UInt64($0) } ?? 0)
                    var send = f.dst6.map { Send(socket: f.socket, dst6: $0, port: f.port, payload: f.payload, atNs: at) }
                        ?? Send(socket: f.socket, dst: f.dst, port: f.port, payload: f.payload, atNs: at)
                    send.toPeer = f.toPeer
                    // A scope names a device; one the stack lacks is an ifindex no device has (ENETUNREACH).
                    if let sc = f.scope { send.scope = s.devices.firstIndex { $0.name == sc || String($0.ifindex) == sc } ?? -1 }
                    sends.append(send)
                }
            }
            // Stable by time: equal times keep the flows' order.
            let order = sends.indices.sorted { (sends[$0].atNs!, $0) < (sends[$1].atNs!, $1) }
            let ran = s.send(order.map { sends[$0] })
            var results = [PacketResult?](repeating: nil, count: ran.count)
            for (k, i) in order.enumerated() { results[i] = ran[k] }
            return results.map { $0! }
        }
        return try storeTraces(results, hops: followLinks(results, from: name), mode: mode, entry: e, sync: sync)
    }
}
