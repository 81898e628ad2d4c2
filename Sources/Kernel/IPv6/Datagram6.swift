import Wire

// net/ipv6/datagram.c
extension Stack {
    /// `ip6_datagram_connect` on an AF_INET6 UDP or ping socket (no packet goes), as the kernel
    /// answered (scripts/record_udp6_connect.sh, scripts/record_ping_err.sh). A v4-mapped peer is
    /// an IPv4 connect (ENETUNREACH for a V6ONLY socket, one bound to an IPv6 address, or an
    /// ICMPv6 ping socket), and a socket on `::` takes the v4-mapped source; an IPv6 peer is
    /// refused to a socket bound to a v4-mapped address (EAFNOSUPPORT); a link-local or
    /// link-scope multicast peer needs a device: its `scope` (a device index; -1 names none),
    /// which binds the socket to it (EINVAL when bound to another), else the one it is bound to,
    /// else EINVAL (recorded: scripts/record_bindtodevice.sh); then a route (ENETUNREACH; a
    /// wider multicast group has the multicast route), and a socket on `::` takes the route's
    /// source address as its own; a peer `::` is ::1.
    /// An AF_INET socket given an IPv6 peer: EAFNOSUPPORT. Answers the errno, or nil.
    public func ip6_datagram_connect(socket id: Int, to6: IPv6Address, port: UInt16, scope: Int? = nil) -> String? {
        guard let sk = sockets.byID[id], sk.config.proto != .tcp else { return "EBADF" }
        guard let bound = sk.config.address6 else { return "EAFNOSUPPORT" }
        if to6.isV4Mapped {
            guard !sk.config.v6only, sk.config.proto == .udp, bound.isUnspecified || bound.isV4Mapped else { return "ENETUNREACH" }
            let to = to6.embeddedV4
            guard let route = routeOutput(to, oif: sk.oif) else { return "ENETUNREACH" }
            if bound.isUnspecified { sk.config.address6 = .mapped(route.src) }
            sockets.connect(sk, to: to, port: port)
            return nil
        }
        guard !bound.isV4Mapped else { return "EAFNOSUPPORT" }
        if to6.isLinkLocal || (to6.isMulticast && to6.multicastScope <= 2) {
            if let scope {
                guard devices.indices.contains(scope) else { return "ENETUNREACH" }
                if let dev = sk.oif, dev != scope { return "EINVAL" }   // sk_dev_equal_l3scope
                sk.config.bindDevice = devices[scope].name
                sockets.setBoundDevice(sk, scope)
            }
            guard sk.oif != nil else { return "EINVAL" }
        }
        // "Connect to self if not specified": `::` is ::1.
        let to6 = to6.isUnspecified ? IPv6Address.loopback : to6
        guard let route = routeOutput6(to6, oif: sk.oif, strict: sk.oif != nil, src: bound) else { return ip6_route_error(to6, src: bound) }
        if bound.isUnspecified {
            guard let src = route.src else { return "EADDRNOTAVAIL" }
            sk.config.address6 = src
        }
        sockets.connect(sk, to6: to6, port: port)
        return nil
    }
}
