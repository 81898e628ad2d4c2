import Wire

// net/ipv4/route.c: what ICMP errors teach the routes of locally generated packets.
/// A route exception (`struct fib_nh_exception`) for one destination: the path MTU a
/// fragmentation-needed error taught (0: none) and the gateway a redirect gave (0: none), until
/// it expires (one time for both, as the kernel keeps it).
public struct RouteException: Sendable, Equatable, Codable {
    public var mtu: Int
    public var expires: UInt64
    /// Below ip_rt_min_pmtu: the MTU is the minimum and DF is no longer set (RTAX_LOCK).
    public var locked: Bool
    public var gateway: UInt32 = 0
}

extension Stack {
    /// net.ipv4.route.min_pmtu (512 + 20 + 20 by default) and mtu_expires (10 minutes), in ns.
    var ip_rt_min_pmtu: Int { sysctl(.ip_rt_min_pmtu) }
    var ip_rt_mtu_expires: UInt64 { UInt64(sysctl(.ip_rt_mtu_expires)) * 1_000_000_000 }

    /// When the stack's last work ended (a CPU's clock runs past the event that started it): the
    /// "now" a route lookup from outside sees.
    var lastWorkNs: UInt64 { (0..<clocks.count).reduce(clockNs) { max($0, clocks[$1]) } }

    /// `ipv4_mtu` of the route to `dst` by device `dev`: its MTU, or a path MTU learnt for `dst`
    /// that has not expired. Forwarded packets use the device's (ip_forward_use_pmtu is 0).
    func ipv4_mtu(_ dst: IPv4Address, dev: Int, now: UInt64) -> Int {
        let mtu = devices[dev].config.mtu
        return pmtuException(dst, now: now).map { min(mtu, $0.mtu) } ?? mtu
    }

    /// The route exception for `dst`, while it lasts (most stacks have none: no lookup then).
    func routeException(_ dst: IPv4Address, now: UInt64) -> RouteException? {
        guard !routeExceptions.isEmpty, let e = routeExceptions[dst.raw], e.expires > now else { return nil }
        return e
    }

    /// The path MTU learnt for `dst`, while it lasts.
    func pmtuException(_ dst: IPv4Address, now: UInt64) -> RouteException? {
        guard let e = routeException(dst, now: now), e.mtu > 0 else { return nil }
        return e
    }

    /// `__ip_rt_update_pmtu` (from ipv4_sk_update_pmtu / inet_csk_update_pmtu): a smaller MTU for
    /// `dst` than the route has becomes its exception for ip_rt_mtu_expires; one under
    /// ip_rt_min_pmtu is raised to it and locked; the same MTU is refreshed only in the second half
    /// of its life.
    func __ip_rt_update_pmtu(_ dst: IPv4Address, mtu reported: Int, now: UInt64) {
        guard let route = routeOutput(dst) else { return }
        let old = ipv4_mtu(dst, dev: route.dev, now: now)
        guard old >= reported else { return }
        var mtu = reported, locked = false
        if mtu < ip_rt_min_pmtu { locked = true; mtu = min(old, ip_rt_min_pmtu) }
        if let e = pmtuException(dst, now: now), e.mtu == mtu, !locked, now < e.expires - ip_rt_mtu_expires / 2 { return }
        update_or_create_fnhe(dst, pmtu: (mtu, locked), expires: now &+ ip_rt_mtu_expires, now: now)
    }

    /// `update_or_create_fnhe`: the destination's exception gets the gateway or the path MTU given
    /// and keeps the other (an expired one keeps nothing); its expiry is the newest one.
    func update_or_create_fnhe(_ dst: IPv4Address, gateway: IPv4Address? = nil, pmtu: (mtu: Int, locked: Bool)? = nil, expires: UInt64, now: UInt64) {
        var e = routeException(dst, now: now) ?? RouteException(mtu: 0, expires: 0, locked: false)
        if let gateway { e.gateway = gateway.raw }
        if let pmtu { e.mtu = pmtu.mtu; e.locked = pmtu.locked }
        e.expires = expires
        routeExceptions[dst.raw] = e
    }
}
