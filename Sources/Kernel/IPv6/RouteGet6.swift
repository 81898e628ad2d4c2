import Wire

/// What `ip -6 route get` answers for a destination (`inet6_rtm_getroute`, `rt6_fill_node`).
public struct Route6GetResult: Sendable, Equatable {
    /// unicast, local or multicast; local and multicast routes are in the local table.
    public var type: String
    public var gateway: IPv6Address?
    public var dev: String
    /// The route's origin as ip prints it (nil: none printed, a static route's `boot`, or an exception's clone).
    public var proto: String?
    public var prefsrc: IPv6Address?
    public var metric: Int
    /// A path MTU exception: whole seconds left, and its MTU.
    public var expiresSec: Int?
    public var mtu: Int?
}

extension Stack {
    /// `inet6_rtm_getroute` without a device: the route what the stack sends to `dst` takes
    /// (`ip6_route_output`): one of its own addresses is a local route through lo, a multicast
    /// group the first device's multicast route, else the main table's longest prefix, shown with
    /// its path MTU exception when it has one (recorded: scripts/record_route6_get.sh). Nil: no
    /// route ("Network is unreachable").
    public func ip6_route_get(_ dst: IPv6Address) -> Route6GetResult? {
        if fib6.isLocal(dst) {
            return Route6GetResult(type: "local", gateway: nil, dev: "lo", proto: "kernel", prefsrc: dst, metric: 0)
        }
        if dst.isMulticast {
            guard let r = routeOutput6(dst) else { return nil }
            return Route6GetResult(type: "multicast", gateway: nil, dev: devices[r.dev].name, proto: "kernel", prefsrc: r.src, metric: 256)
        }
        guard let e = fib6.lookup(dst), e.type == .unicast else { return nil }
        var out = Route6GetResult(type: "unicast", gateway: rt6Redirects[dst].map { $0 == dst ? nil : $0 } ?? e.gateway, dev: devices[e.dev].name, proto: e.proto == .static ? nil : e.proto.rawValue,
                                  prefsrc: fib6.sourceAddress(for: dst, dev: e.dev), metric: e.metric)
        let now = lastWorkNs
        if let x = rt6Exceptions[dst], x.expires > now {
            out.proto = nil
            out.expiresSec = Int((x.expires - now) / 1_000_000_000)
            out.mtu = x.mtu
        }
        return out
    }
}
