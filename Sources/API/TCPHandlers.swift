import Foundation
import HTTPServer
import JSON
import Kernel
import Wire

// TCP socket calls: connect, accept, send, recv, close, and `ss -tan`.
extension App {
    func registerTCPRoutes() {
        router.add("POST", "/v1/stacks/{stack}/sockets/{socket}/connect") { [unowned self] req, p throws(Problem) in
            try connectSocket(req, p["stack"]!, p["socket"]!)
        }
        router.add("POST", "/v1/stacks/{stack}/sockets/{socket}/accept") { [unowned self] req, p throws(Problem) in
            try acceptSocket(req, p["stack"]!, p["socket"]!)
        }
        router.add("POST", "/v1/stacks/{stack}/sockets/{socket}/close") { [unowned self] req, p throws(Problem) in
            try closeTCP(req, p["stack"]!, try socketID(p["socket"]!))
        }
        router.add("GET", "/v1/stacks/{stack}/ss") { [unowned self] req, p throws(Problem) in try showSS(req, p["stack"]!) }
    }

    /// `{"to": "198.18.0.2", "port": 5000}` on a TCP socket made with `"listen": false`, or on a UDP
    /// socket (no packet: the socket is connected, `{"socket": ...}`, or `{"errno": ...}`).
    func connectSocket(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        let id = try socketID(idText)
        let body = try parseJSONBody(req)
        let proto = try entry(name).withStack { s in s.socket(id)?.config.proto }
        if proto == .udp || proto?.isPing == true { return try connectUDP(name, id, body, ping: proto?.isPing == true) }
        let (to, port, scope) = try connectTarget(body, ping: false)
        if scope != nil { throw Problem.unprocessable("not supported yet: a scope id on a TCP connect (bind the socket to the device: bindtodevice)", pointer: "/to") }
        switch to {
        case .v4(let a): return try runTCPCall(req, name, id, .connect(socket: id, to: a, port: port))
        case .v6(let a): return try runTCPCall(req, name, id, .connect6(socket: id, to: a, port: port))
        }
    }

    /// `{"to": ADDRESS, "port": N}`, the peer of a connect: an IPv4 or IPv6 address, the latter
    /// with an optional scope id (`fe80::9%eth0`, a device name or ifindex: its sin6_scope_id); a
    /// ping socket's port is optional and unused.
    private func connectTarget(_ body: JSONValue, ping: Bool) throws(Problem) -> (SockAddr, UInt16, String?) {
        try decoding {
            var r = try FieldReader(body)
            let text = try r.requiredString("to")
            guard let port = try r.int("port", in: ping ? 0...65535 : 1...65535) ?? (ping ? 0 : nil) else { throw JSONShapeError(path: "/port", message: "is required") }
            try r.finish()
            if let a = try? IPv4Address(parsing: text) { return (.v4(a), UInt16(port), nil) }
            let parts = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let a = try? IPv6Address(parsing: parts[0]), parts.count == 1 || !parts[1].isEmpty else {
                throw Problem.unprocessable("to is not an IPv4 or IPv6 address (with an optional %DEVICE scope)", pointer: "/to")
            }
            return (.v6(a), UInt16(port), parts.count == 2 ? parts[1] : nil)
        }
    }

    /// `connect` on a UDP socket, kept with the stack (the socket's configuration has its peer and
    /// the address connect bound it to). An AF_INET6 socket takes an IPv6 or v4-mapped peer, and
    /// an IPv4 one as AF_INET's sockaddr_in (as the v4-mapped one).
    private func connectUDP(_ name: String, _ id: Int, _ body: JSONValue, ping: Bool) throws(Problem) -> HTTPResponse {
        let (to, port, scope) = try connectTarget(body, ping: ping)
        let e = try entry(name)
        let answer: JSONValue = try registry.change(e) { (s: Stack, c: inout StackConfig) throws(Problem) -> JSONValue in
            // A scope names a device; one the stack lacks is an ifindex no device has.
            let dev = scope.map { sc in s.devices.firstIndex { $0.name == sc || String($0.ifindex) == sc } ?? -1 }
            let err = switch to {
            case .v4(let a): s.ip4_datagram_connect(socket: id, to: a, port: port)
            case .v6(let a): s.ip6_datagram_connect(socket: id, to6: a, port: port, scope: dev)
            }
            if let err {
                if err.hasPrefix("not supported yet") { throw Problem.unprocessable(err, pointer: "") }
                return .object([("errno", .string(err))])
            }
            guard let sk = s.socket(id), let k = c.sockets.firstIndex(where: { $0.id == id }) else { throw Problem.notFound("no socket \(id)") }
            c.sockets[k] = sk.config
            return .object([("socket", socketJSON(sk))])
        }
        return jsonResponse(200, answer)
    }

    /// A TCP send: `{"payload"|"payload_hex"|"payload_base64"|"length"}`.
    func tcpSend(_ req: HTTPRequest, _ name: String, _ id: Int) throws(Problem) -> HTTPResponse {
        let body = try parseJSONBody(req)
        let bytes: [UInt8] = try decoding {
            var r = try FieldReader(body)
            let b = try decodePayload(&r, path: "") ?? []
            try r.finish()
            return b
        }
        return try runTCPCall(req, name, id, .send(socket: id, bytes: bytes))
    }

    /// `close` (also what DELETE does to a TCP socket): the FIN or RST goes, the stored socket goes.
    func closeTCP(_ req: HTTPRequest, _ name: String, _ id: Int, answer: Bool = true) throws(Problem) -> HTTPResponse {
        let response = try runTCPCall(req, name, id, .close(socket: id))
        try registry.change(try entry(name)) { (_: Stack, c: inout StackConfig) throws(Problem) in c.sockets.removeAll { $0.id == id } }
        return answer ? response : HTTPResponse(status: 204)
    }

    /// One call in one run, its segments followed across links (so a connect's handshake
    /// completes in this request), answered as an injection is, with the socket afterwards.
    private func runTCPCall(_ req: HTTPRequest, _ name: String, _ id: Int, _ call: TCPCall) throws(Problem) -> HTTPResponse {
        let (e, mode, sync) = try runOptions(req, name)
        try enterRunning()
        defer { running.leave() }
        let results = try runTraced(e, mode: mode, packets: 1, check: { (s: Stack) throws(Problem) in
            guard let sk = s.socket(id) else { throw Problem.notFound("no socket \(id)") }
            guard sk.config.proto == .tcp else { throw Problem.unprocessable("socket \(id) is UDP", pointer: "") }
        }) { s in s.tcpCalls([call]) }
        let hops = followLinks(results, from: name)
        let after: JSONValue = e.withStack { s in s.socket(id).map(socketJSON) ?? .null }
        return try storeTraces(results, hops: hops, mode: mode, entry: e, sync: sync, extra: [("socket", after)])
    }

    /// `accept`: `{"socket": id}` of the oldest connection waiting, or `{"errno": "EAGAIN"}`.
    func acceptSocket(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let id = try socketID(idText)
        let got: Int? = try entry(name).withStack { (s: Stack) throws(Problem) -> Int? in
            guard let sk = s.socket(id) else { throw Problem.notFound("no socket \(id)") }
            guard sk.listening else { throw Problem.unprocessable("socket \(id) is not listening (EINVAL)", pointer: "") }
            return s.tcpAccept(listener: id)
        }
        return jsonResponse(200, .object(got.map { [("socket", .int($0))] } ?? [("errno", .string("EAGAIN"))]))
    }

    /// A TCP read: up to `max` bytes, `eof` once the peer's FIN is read, `errno` after a reset.
    func tcpRecv(_ s: Stack, _ id: Int, max: Int) -> JSONValue? {
        guard let got = s.tcpRecv(socket: id, max: max) else { return nil }
        var o = JSONObject()
        o.set("data_hex", Hex.encode(got.data))
        o.set("length", got.data.count)
        o.set("eof", got.eof)
        if let e = got.error { o.set("errno", e) } else if got.data.isEmpty && !got.eof { o.set("errno", "EAGAIN") }
        return o.value
    }

    /// `ss -tan`: JSON rows, or (`?format=text`) the text ss prints.
    func showSS(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let format = q.string("format") ?? "json"
        try q.finish()
        guard format == "json" || format == "text" else { throw Problem.badRequest("invalid-query", "format must be json or text") }
        let rows = try entry(name).withStack { s in s.ssTCP }
        if format == "text" { return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: SSText.render(rows)) }
        return jsonResponse(200, .object([("items", .array(rows.map { r in
            .object([("state", .string(r.state)), ("recv_q", .int(r.recvQ)), ("send_q", .int(r.sendQ)), ("local", .string(r.local)), ("peer", .string(r.peer))])
        }))]))
    }
}

/// ss's table (misc/ss.c's columns): each column as wide as its header or widest cell,
/// addresses right-aligned with their colon, the rest left-aligned.
enum SSText {
    static func render(_ rows: [SSRow]) -> String {
        func split(_ a: String) -> (String, String) {
            guard let i = a.lastIndex(of: ":") else { return (a, "") }
            return (String(a[...i]), String(a[a.index(after: i)...]))
        }
        let cells: [[String]] = rows.map { r in
            let l = split(r.local), p = split(r.peer)
            return [r.state, String(r.recvQ), String(r.sendQ), l.0, l.1, p.0, p.1, ""]
        }
        let headers = ["State", "Recv-Q", "Send-Q", "Local Address:", "Port", "Peer Address:", "Port", "Process"]
        let right: Set<Int> = [3, 5]
        let delimiter = ["", " ", " ", " ", "", " ", "", ""]
        let widths = headers.indices.map { c in cells.reduce(headers[c].count) { max($0, $1[c].count) } }
        func line(_ fields: [String], pad: Bool) -> String {
            var out = ""
            for (c, f) in fields.enumerated() {
                out += delimiter[c]
                let fill = String(repeating: " ", count: max(0, widths[c] - f.count))
                if c == fields.count - 1 && !pad { out += f } else { out += right.contains(c) ? fill + f : f + fill }
            }
            return out + "\n"
        }
        return line(headers, pad: false) + cells.map { line($0, pad: true) }.joined()
    }
}
