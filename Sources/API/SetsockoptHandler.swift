import HTTPServer
import JSON
import Kernel
import Wire

// setsockopt on a UDP or ping socket: on its own (`POST .../sockets/{id}/setsockopt`) or with
// a send (its `setsockopt` member), the same options either way.
extension App {
    func registerSetsockoptRoute() {
        router.add("POST", "/v1/stacks/{stack}/sockets/{socket}/setsockopt") { [unowned self] req, p throws(Problem) in
            try setSocketOptions(req, p["stack"]!, p["socket"]!)
        }
    }

    /// `{"rcvbuf": N, ...options, "ip_add_membership": {...}}`: answered with the socket afterwards.
    func setSocketOptions(_ req: HTTPRequest, _ name: String, _ idText: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let id = try socketID(idText)
        let body = try parseJSONBody(req)
        let (rcvbuf, options) = try decoding {
            var r = try FieldReader(body)
            let rcvbuf = try r.int("rcvbuf", in: 256...(1 << 30))
            let o = try StackDocument.decodeSocketOptions(&r, path: "")
            try r.finish()
            return (rcvbuf, o)
        }
        let json: JSONValue = try registry.change(try entry(name)) { (s: Stack, c: inout StackConfig) throws(Problem) -> JSONValue in
            guard let sk = s.socket(id) else { throw Problem.notFound("no socket \(id)") }
            guard sk.config.proto != .tcp else { throw Problem.unprocessable("not supported yet: setsockopt on a TCP socket (give its options when binding it)", pointer: "") }
            try Self.checkSetsockopt(s, sk, options, path: "")
            try Self.setsockopt(s, &c, socket: id, rcvbuf: rcvbuf, options)
            return .object([("socket", socketJSON(sk))])
        }
        return jsonResponse(200, json)
    }

    /// What setsockopt refuses before anything is set: IPv6-level options on an AF_INET socket
    /// (ENOPROTOOPT), IPV6_MULTICAST_IF or SO_BINDTODEVICE naming no device (ENODEV).
    static func checkSetsockopt(_ s: Stack, _ sk: Sock, _ o: StackDocument.SocketOptions, path: String) throws(Problem) {
        if let k = o.ipv6Only.first, sk.config.address6 == nil {
            throw Problem.unprocessable("\(k) is for IPv6 (AF_INET6) sockets (ENOPROTOOPT on an AF_INET one)", pointer: path + "/" + k)
        }
        if let m = o.multicastIf6, !m.isEmpty, !s.devices.contains(where: { $0.name == m }) {
            throw Problem.unprocessable("ENODEV: no device \(m)", pointer: path + "/ipv6_multicast_if")
        }
        if let d = o.bindToDevice, !d.isEmpty, !s.devices.contains(where: { $0.name == d }) {
            throw Problem.unprocessable("ENODEV: no device \(d)", pointer: path + "/bindtodevice")
        }
    }

    /// The group calls, then the options, kept in the stack's document.
    static func setsockopt(_ s: Stack, _ c: inout StackConfig, socket id: Int, rcvbuf: Int?, _ o: StackDocument.SocketOptions) throws(Problem) {
        try groupCalls(s, socket: id, o.groupOps)
        guard let cfg = s.setsockopt(socket: id, rcvbuf: rcvbuf, sndbuf: o.sndbuf, tos: o.tos, tclass: o.tclass, priority: o.priority, pmtudisc: o.pmtudisc, pmtudisc6: o.pmtudisc6,
                                     udpSegment: o.udpSegment, recverr: o.recverr, recverr6: o.recverr6, hops: o.hops, broadcast: o.broadcast,
                                     multicastIf6: o.multicastIf6, multicastLoop: o.multicastLoop, multicastLoop6: o.multicastLoop6, bindDevice: o.bindToDevice),
              let k = c.sockets.firstIndex(where: { $0.id == id }) else { throw Problem.notFound("no socket \(id)") }
        c.sockets[k] = cfg
    }

    // IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP.
    /// The group calls on socket `id`, in order; the first errno refuses the request (422 at its
    /// pointer). All are checked against the socket as it is before any is made.
    static func groupCalls(_ s: Stack, socket id: Int, _ ops: [StackDocument.GroupOp]) throws(Problem) {
        for dryRun in [true, false] {
            for op in ops {
                var dev: Int? = nil
                if let name = op.interface {
                    guard let d = s.devices.firstIndex(where: { $0.name == name }) else { throw Problem.unprocessable("ENODEV: no device \(name)", pointer: op.pointer + "/interface") }
                    dev = d
                }
                let err: String? = switch op.group {
                case .v4(let g): op.join ? s.ip_mc_join_group(socket: id, group: g, address: op.address, device: dev, dryRun: dryRun)
                                         : s.ip_mc_leave_group(socket: id, group: g, address: op.address, device: dev, dryRun: dryRun)
                case .v6(let g): op.join ? s.ipv6_sock_mc_join(socket: id, group: g, device: dev, dryRun: dryRun)
                                         : s.ipv6_sock_mc_drop(socket: id, group: g, device: dev, dryRun: dryRun)
                }
                if let err { throw Problem.unprocessable("\(err): \(op.key) \(op.group)" + (op.interface.map { " on \($0)" } ?? ""), pointer: op.pointer) }
            }
        }
    }
}
