import Wire

// net/ipv4/datagram.c
extension Stack {
    /// `ip4_datagram_connect` on a UDP or ping socket: no packet goes; the route to the peer must
    /// exist (ENETUNREACH), a broadcast route needs SO_BROADCAST (EACCES), a socket bound to
    /// 0.0.0.0 takes the route's source address as its own, and the peer is kept (a ping socket
    /// ignores the port). Answers the errno, or nil with the socket's configuration changed
    /// (recorded: scripts/record_udp_connect_broadcast.sh, scripts/record_ping_err.sh).
    public func ip4_datagram_connect(socket id: Int, to: IPv4Address, port: UInt16) -> String? {
        guard let sk = sockets.byID[id], sk.config.proto != .tcp else { return "EBADF" }
        if sk.config.address6 != nil { return ip6_datagram_connect(socket: id, to6: .mapped(to), port: port) }
        let bcast = routeOutputBroadcast(to, oif: sk.oif)
        if bcast != nil, !sk.config.broadcast { return "EACCES" }
        guard let route = bcast ?? routeOutput(to, oif: sk.oif) else { return "ENETUNREACH" }
        if sk.config.address == .any { sk.config.address = route.src }
        sockets.connect(sk, to: to, port: port)
        return nil
    }
}
