import Wire

// net/ipv4/route.c: a redirect's new gateway becomes a route exception.
extension Stack {
    /// net.ipv4.route.gc_timeout (300 s): how long a redirected route lasts.
    static let ip_rt_gc_timeout: UInt64 = 300_000_000_000

    /// `__ip_do_redirect` (from ipv4_sk_redirect, do_redirect, ipv4_redirect) for the route to the
    /// quoted packet's destination: a net or host redirect from the route's gateway, naming another
    /// gateway, is taken when redirects are accepted (accept_redirects; a router takes them only
    /// when it is set explicitly, as enabling forwarding clears it) and the new gateway is a unicast
    /// address (shared_media), or on-link and, with secure_redirects, a default gateway. Then, if
    /// the new gateway's MAC is known, the route goes through it for ip_rt_gc_timeout; if not, it
    /// is resolved (an ARP request) and the route stays as it is.
    func __ip_do_redirect(_ skb: SkBuff, daddr: IPv4Address, code: UInt8, gateway: UInt32) -> String {
        let oldGw = IPv4Address(raw: skb.data.be32(skb.networkHeader + 12)), newGw = IPv4Address(raw: gateway)
        guard code & 7 <= 3 else { return "redirect code \(code): ignored" }
        let now = clocks[skb.cpu]
        guard let r = fib.lookup(daddr), r.type == .unicast, let fibGw = r.gateway else { return "the route to \(daddr) has no gateway: redirect ignored" }
        let gw = routeException(daddr, now: now).flatMap { $0.gateway == 0 ? nil : IPv4Address(raw: $0.gateway) } ?? fibGw
        guard gw == oldGw else { return "the route to \(daddr) is via \(gw), not the redirect's sender \(oldGw): ignored" }
        let accept = sysctl(.ip_forward) == 1 ? (config.sysctls[Sysctl.accept_redirects.name] ?? 0) : sysctl(.accept_redirects)
        let reject = "redirect to \(newGw) for \(daddr) refused"
        guard newGw != oldGw, accept == 1, !newGw.isMulticast, newGw.raw != 0xffff_ffff, newGw.raw >> 24 != 0 else {
            return reject + (accept == 1 ? "" : " (accept_redirects 0)")
        }
        if sysctl(.shared_media) == 1 {
            guard inet_addr_type(newGw) == .unicast else { return reject + " (not a unicast address)" }
        } else {
            let onLink = devices[r.dev].config.addresses.contains { $0.contains(newGw) && $0.contains(oldGw) }
            guard onLink else { return reject + " (not on-link)" }
            if sysctl(.secure_redirects) == 1, !fib.main.contains(where: { $0.prefix.prefixLength == 0 && $0.gateway == newGw && $0.dev == r.dev }) {
                return reject + " (secure_redirects: not a default gateway)"
            }
        }
        if let n = neighbours.lookup(newGw, dev: r.dev), n.state.isValid {
            update_or_create_fnhe(daddr, gateway: newGw, expires: now &+ Stack.ip_rt_gc_timeout, now: now)
            return "route to \(daddr) via \(newGw) for 300 s (redirected)"
        }
        if neighbours.startResolving(newGw, dev: r.dev) {
            arp_solicit(newGw, dev: r.dev, cause: skb)
            schedule(timerWheelExpiry(afterNs: NeighbourTable<IPv4Address>.retransNs, from: now), .neighTimer(device: r.dev, address: newGw.raw))
        }
        return "the MAC of \(newGw) is not known: resolving it; the route to \(daddr) stays via \(oldGw)"
    }

    /// `inet_addr_type` in the local table: our address, a broadcast address, or unicast.
    func inet_addr_type(_ a: IPv4Address) -> RouteType {
        if a.raw == 0 || a.raw == 0xffff_ffff { return .broadcast }
        return fib.localType(a) ?? .unicast
    }
}
