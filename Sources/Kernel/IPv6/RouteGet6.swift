import Wire

/// What `ip -6 route get` answers for a destination (`inet6_rtm_getroute`, `rt6_fill_node`).
public struct Route6GetResult: Sendable, Equatable {
    /// unicast, local, multicast or unreachable; local and multicast routes are in the local table.
    public var type: String
    public var gateway: IPv6Address?
    public var dev: String
    /// The route's origin as ip prints it (nil: none printed, a static route's `boot`, or an exception's clone).
    public var proto: String?
    public var prefsrc: IPv6Address?
    public var metric: Int
    /// The table the route is in (main is not printed).
    public var table: Int
    /// A path MTU exception: whole seconds left, and its MTU.
    public var expiresSec: Int?
    public var mtu: Int?
}

extension Stack {
    /// `inet6_rtm_getroute`. Without `iif`, the route what the stack sends to `dst` takes
    /// (`ip6_route_output`): one of its own addresses is a local route through lo, a multicast
    /// group the first device's multicast route, else what the tables answer under the policy
    /// rules (`from` the flow's source, `mark` its mark), shown with its path MTU exception when
    /// it has one (recorded: scripts/record_route6_get.sh). With `iif`, as `ip6_route_input`
    /// routes a packet from `from` that came in there: no source picked, and forwarding off does
    /// not matter to the lookup (recorded: scripts/record_policy6.sh). Nil: no route ("Network is
    /// unreachable"); type "unreachable": an unreachable route ("No route to host").
    public func ip6_route_get(_ dst: IPv6Address, from: IPv6Address? = nil, iif: Int? = nil, mark: UInt32 = 0) -> Route6GetResult? {
        if dst.isMulticast && iif == nil {
            guard let r = routeOutput6(dst) else { return nil }
            return Route6GetResult(type: "multicast", gateway: nil, dev: devices[r.dev].name, proto: "kernel", prefsrc: r.src, metric: 256, table: FIB.local)
        }
        let src = from.flatMap { $0.isUnspecified ? nil : $0 }
        guard let e = fib6.lookup(dst, dev: iif, src: src, mark: mark, iif: iif ?? FIBEntry.loopback) else { return nil }
        switch e.type {
        case .local: return Route6GetResult(type: "local", gateway: nil, dev: "lo", proto: "kernel", prefsrc: iif == nil ? dst : nil, metric: 0, table: FIB.local)
        case .unreachable: return Route6GetResult(type: "unreachable", gateway: nil, dev: "lo", proto: nil, prefsrc: nil, metric: e.metric, table: e.table)
        default: break
        }
        var out = Route6GetResult(type: "unicast", gateway: rt6Redirects[dst].map { $0 == dst ? nil : $0 } ?? e.gateway, dev: devices[e.dev].name,
                                  proto: e.proto == .static ? nil : e.proto.rawValue,
                                  prefsrc: iif == nil ? fib6.sourceAddress(for: dst, dev: e.dev) : nil, metric: e.metric, table: e.table)
        let now = lastWorkNs
        if iif == nil, let x = rt6Exceptions[dst], x.expires > now {
            out.proto = nil
            out.expiresSec = Int((x.expires - now) / 1_000_000_000)
            out.mtu = x.mtu
        }
        return out
    }
}
