import Wire

// net/ipv6/ndisc.c (ndisc_redirect_rcv) and route.c (ip6_redirect_no_header, rt6_do_redirect): a
// redirect a host receives teaches it a better first hop for one destination. As recorded
// (scripts/record_redirect6.sh): only from a link-local source; without a redirected header the
// route through the sender is looked up on the receiving device and the redirect taken; with one,
// the socket that sent the quoted packet takes it (a UDP socket bound to no device matches no route
// then, so nothing changes; no socket: Icmp6InErrors).
extension Stack {
    /// `ndisc_redirect_rcv`, after ndisc_rcv's hop limit and code checks.
    func ndisc_redirect_rcv(_ skb: SkBuff) -> PathEnd {
        let src = IPv6Address(array: skb.data, at: skb.networkHeader + 8)
        guard src.isLinkLocal else { return drop(.NOT_SPECIFIED, "redirect from \(src): the source address is not link-local") }
        let nd: NDPRepr
        switch ndMessage(skb) {
        case .failure(let e): return drop(e.reason, "redirect: \(e.why)")
        case .success(let m): nd = m
        }
        guard case .redirect(let target, let dest, let options) = nd else { return drop(.NOT_SPECIFIED, "not a redirect") }
        // The redirected header option (type 4): the error path, for the socket that sent it.
        // pskb_pull to it: icmpv6_notify reads the quoted packet 8 bytes past the transport
        // header, which the option's own 8 bytes (type, length, reserved) make it.
        var offset = skb.transportHeader + 40
        for o in options {
            if case .other(4, _) = o {
                skb.transportHeader = offset
                return icmpv6_notify(skb, type: ICMPv6Repr.redirect, code: 0, info: 0)
            }
            offset += o.bufferLength
        }
        return drop(.NOT_SPECIFIED, ip6_redirect_no_header(skb, from: src, target: target, dest: dest, options: options))
    }

    /// `ip6_redirect_no_header` → `__ip6_route_redirect`: the route to `dest` must leave this device
    /// through the redirect's sender (or through a first hop an earlier redirect gave); then
    /// `rt6_do_redirect`. Answers what happened, for the trace.
    func ip6_redirect_no_header(_ skb: SkBuff, from src: IPv6Address, target: IPv6Address, dest: IPv6Address, options: [NDPOption]) -> String {
        guard let r = fib6.lookup(dest, dev: skb.dev), r.type == .unicast, r.dev == skb.dev,
              (rt6Redirects[dest] ?? r.gateway) == src else {
            return "redirect for \(dest) from \(src), which is not its first hop on \(devices[skb.dev].name): ignored"
        }
        return rt6_do_redirect(skb, target: target, dest: dest, options: options)
    }

    /// `rt6_do_redirect`: a unicast destination, a link-local target (or the destination itself:
    /// it is on-link), a host that takes redirects (not forwarding, accept_redirects); the target
    /// becomes STALE with the link-layer address the message gives, and the destination's first
    /// hop (a route exception, shown by `ip -6 route get`; the kernel's garbage collector would drop
    /// it after net.ipv6.route.gc_timeout unused, which is not modelled).
    func rt6_do_redirect(_ skb: SkBuff, target: IPv6Address, dest: IPv6Address, options: [NDPOption]) -> String {
        if dest.isMulticast { return "redirect for the multicast address \(dest): ignored" }
        let onLink = dest == target
        guard onLink || (target.isLinkLocal && !target.isMulticast) else { return "redirect target \(target) is not link-local unicast: ignored" }
        guard !ipForward6, sysctl(.accept_redirects6) == 1 else {
            return "redirect for \(dest) ignored (" + (ipForward6 ? "forwarding" : "accept_redirects 0") + ")"
        }
        var mac: MACAddress?
        for case .targetLinkLayer(let m) in options { mac = m }
        // ndisc_update (NEIGH_UPDATE_F_OVERRIDE): what waited for the target goes now.
        if let mac { neigh_connect(neighbours6.resolve(target, dev: skb.dev, mac: mac, state: .stale, nowNs: clockNs), dev: skb.dev, mac: mac, by: skb) }
        rt6Redirects[dest] = target
        return "route to \(dest) via \(onLink ? "itself (on-link)" : "\(target)") (redirected)" + (mac.map { "; \(target) is \($0), STALE" } ?? "")
    }
}
