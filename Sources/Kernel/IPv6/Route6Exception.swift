import Wire

// net/ipv6/route.c: what packet-too-big messages teach the routes of locally generated packets.
extension Stack {
    /// net.ipv6.route.mtu_expires (600 s by default), in ns.
    var ip6_rt_mtu_expires: UInt64 { UInt64(sysctl(.ip6_rt_mtu_expires)) * 1_000_000_000 }

    /// The MTU of the route to `dst` by device `dev` for what the stack sends: the device's IPv6
    /// MTU, or a smaller path MTU learnt for `dst` that has not expired. Forwarded packets use the
    /// device's (ip6_dst_mtu_maybe_forward).
    func ip6_dst_mtu(_ dst: IPv6Address, dev: Int, now: UInt64) -> Int {
        guard !rt6Exceptions.isEmpty, let e = rt6Exceptions[dst], e.expires > now else { return mtu6[dev] }
        return min(mtu6[dev], e.mtu)
    }

    /// `__ip6_rt_update_pmtu` (from ip6_update_pmtu / ip6_sk_update_pmtu): an MTU under the IPv6
    /// minimum (1280) is ignored, as is one not below the route's; a smaller one becomes the
    /// destination's exception (`rt6_do_update_pmtu`) for ip6_rt_mtu_expires, as
    /// `ip -6 route get` shows it ("expires 599sec mtu 1280"). Answers what happened, for the trace.
    @discardableResult
    func __ip6_rt_update_pmtu(_ dst: IPv6Address, mtu: Int, now: UInt64) -> String {
        guard mtu >= 1280 else { return "MTU \(mtu) is below the IPv6 minimum 1280: ignored" }
        guard let route = routeOutput6(dst, oif: nil) else { return "no route to \(dst): no path MTU to learn" }
        let old = ip6_dst_mtu(dst, dev: route.dev, now: now)
        guard mtu < old else { return "MTU \(mtu) is not below the route's \(old): ignored" }
        rt6Exceptions[dst] = RouteException(mtu: mtu, expires: now &+ ip6_rt_mtu_expires, locked: false)
        return "path MTU \(mtu) to \(dst) learnt for \(sysctl(.ip6_rt_mtu_expires)) s"
    }
}
