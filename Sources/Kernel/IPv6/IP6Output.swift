import Wire

/// Where a locally generated IPv6 packet goes: device, next hop, a source for it, and the
/// length of the route's prefix (which scales the ICMPv6 rate limit).
struct Route6 {
    var dev: Int
    var nexthop: IPv6Address
    var src: IPv6Address?
    var prefixLength: Int
}

// net/ipv6/ip6_output.c, route.c (output) and ndisc's multicast mapping.
extension Stack {
    /// `ip6_route_output`: the FIB6 entry for `dst` (scoped to `oif` when given), its next hop
    /// and the source address selection would pick. Multicast without a device takes the local
    /// table's `multicast ff00::/8` route of the first device, as a socket without
    /// IPV6_MULTICAST_IF does (recorded: scripts/record_udp6_connect.sh).
    /// `src`: the flow's source when it has one (a bound socket, a packet routed again), which
    /// `from` rules select on; `mark` the skb's (sockets carry no SO_MARK in the model).
    /// `strict`: `oif` is a socket's bound device (RT6_LOOKUP_F_IFACE), whose routes alone count.
    func routeOutput6(_ dst: IPv6Address, oif: Int? = nil, strict: Bool = false, src: IPv6Address? = nil, mark: UInt32 = 0) -> Route6? {
        if dst.isMulticast {
            guard let dev = oif ?? (devices.isEmpty ? nil : 0) else { return nil }
            return Route6(dev: dev, nexthop: dst, src: fib6.sourceAddress(for: dst, dev: dev), prefixLength: 8)
        }
        let from = src.flatMap { $0.isUnspecified ? nil : $0 }
        guard let r = fib6.lookup(dst, dev: oif, strict: strict, src: from, mark: mark), r.type == .unicast || r.type == .local else { return nil }
        // One of our addresses leaves by lo (ip6_rt_copy_init: a local route's device is the
        // loopback), from that address itself (RFC 6724 rule 1: the same address).
        if r.type == .local { return Route6(dev: lo, nexthop: dst, src: dst, prefixLength: 128) }
        // rt6_find_cached_rt: a redirect's first hop for this destination.
        let redirected = rt6Redirects.isEmpty ? nil : rt6Redirects[dst]
        return Route6(dev: r.dev, nexthop: redirected ?? r.gateway ?? dst, src: fib6.sourceAddress(for: dst, dev: r.dev), prefixLength: r.prefix.prefixLength)
    }

    /// The device a socket's IPv6 datagram must leave by (flowi6_oif, as udpv6_sendmsg and
    /// ping_v6_sendmsg set it): the scope id for a destination that needs one (link-local, or
    /// multicast of link or interface scope), else IPV6_MULTICAST_IF for multicast. -1: a scope
    /// naming no device, which no route has (ENETUNREACH; recorded: scripts/record_scope6.sh).
    /// Then the socket's SO_BINDTODEVICE device, which `sk.oif` makes strict.
    func socketOif6(_ dst: IPv6Address, scope: Int?, sk: Sock) -> Int?? {
        if let scope, dst.isLinkLocal || (dst.isMulticast && dst.multicastScope <= 2) {
            return devices.indices.contains(scope) ? .some(scope) : .none
        }
        if let dev = sk.oif { return .some(dev) }
        if dst.isMulticast, let name = sk.config.multicastIf6 { return .some(deviceNames.firstIndex(of: name)) }
        return .some(nil)
    }

    /// The error of an output lookup with no usable route (ip6_dst_lookup_tail): an unreachable
    /// route's EHOSTUNREACH, or the null route's ENETUNREACH, which alone counts Ip6OutNoRoutes
    /// (recorded: scripts/record_policy6.sh).
    func ip6_route_error(_ dst: IPv6Address, src: IPv6Address?) -> String {
        if fib6.lookup(dst, src: src.flatMap { $0.isUnspecified ? nil : $0 })?.type == .unreachable { return "EHOSTUNREACH" }
        snmp.ip6.OutNoRoutes += 1
        return "ENETUNREACH"
    }

    /// `ip6_make_flowlabel` with auto_flowlabels on: a hash of the flow, folded to 20 bits. This
    /// kernel has no flowlabel_state_ranged (its labels use all 20 bits: recorded TCP labels
    /// 0x68198 and 0x381a8, Tests/TCTests/Cases/tcp6_*). The kernel's hash key is random at boot;
    /// the model's comes from the stack's seed.
    func ip6_make_flowlabel(src: IPv6Address, dst: IPv6Address, proto: UInt8, ports: UInt32 = 0) -> UInt32 {
        let h = UInt32(truncatingIfNeeded: SipHash.hash3(src.folded32, dst.folded32, ports ^ UInt32(proto), key: (ipIdents.key.1, ipIdents.key.0)))
        return (h ^ h >> 12) & 0xf_ffff
    }

    /// `ip6_local_out`: a packet the stack built (ICMPv6, RST, neighbour discovery) through
    /// LOCAL_OUT, then `ip6_output`. `attachConntrack`: the cause's connection as related.
    /// `kernelSock`: the kernel's own socket sends it (icmpv6_send's, TCP's reset socket), a full one.
    func ip6_local_out(_ bytes: [UInt8], route: Route6, cause: SkBuff, csumPartialOffset: Int? = nil, attachConntrack: Bool = false,
                       kernelSock: Bool = false) {
        let out = generatedSkb(bytes, dev: route.dev, cause: cause, protocolType: EtherType.ipv6, transportHeader: 54,
                               csumPartialOffset: csumPartialOffset, attachConntrack: attachConntrack)
        out.nhoff = 20
        out.skOwner = kernelSock ? .fullSock : .none
        _ = ip6_local_out(out, route: route)
    }

    /// `ip6_local_out` of an skb already built (a socket's datagram, or one the stack made).
    /// Answers the error a drop on the way gives the sender (XmitError).
    @discardableResult
    func ip6_local_out(_ out: SkBuff, route: Route6) -> XmitError? {
        let outer = xmitError
        xmitError = nil
        defer { xmitError = outer }
        ip6_local_out_(out, route: route)
        return xmitError
    }

    private func ip6_local_out_(_ out: SkBuff, route: Route6) {
        enter(.ip6_local_out, out)
        snmp.ip6.OutRequests += 1
        let before = IPv6Address(array: out.data, at: 14 + 24)
        guard nf_local_out(out, dev: route.dev) else { return }
        var route = route
        let dst = IPv6Address(array: out.data, at: 14 + 24)
        if out.rerouteWanted || (!dst.isMulticast && dst != before) {
            // ip6_route_me_harder: the packet's own source and mark.
            let src = IPv6Address(array: out.data, at: 14 + 8)
            guard let r = routeOutput6(dst, oif: dst.isLinkLocal ? route.dev : nil, src: src, mark: out.mark) else {
                finish(out, drop(.NETFILTER_DROP, "ip6_route_me_harder: no route to \(dst)"))
                return
            }
            route = r
        }
        let end = ip6_output(out, dev: route.dev, nexthop: route.nexthop, outcome: .transmitted)
        if case .stolen = end {} else { finish(out, end) }
    }

    /// `ip6_output` → `ip6_finish_output`: POSTROUTING, then the neighbour. A packet the stack
    /// built that exceeds the MTU is fragmented (`ip6_fragment`); forwarded ones were checked
    /// against the MTU in `ip6_forward` (routers never fragment).
    func ip6_output(_ skb: SkBuff, dev: Int, nexthop: IPv6Address, outcome: Outcome) -> PathEnd {
        enter(.ip6_output, skb)
        if let end = netfilterVerdict(nf_hook(.postrouting, skb, inDev: outcome == .forwarded ? skb.dev : nil, outDev: dev), at: "postrouting") {
            if case .drop = end { xmitError = .eperm }
            return end
        }
        if synproxyHooked(skb), let end = synproxy_hook(skb) { return end }
        if let end = nf_confirm(skb) { return end }
        enter(.ip6_finish_output, skb)
        // A datagram conntrack reassembled leaves in pieces no larger than it came in (frag_max_size);
        // what the stack sends follows a path MTU learnt for its destination unless its socket
        // says the device's (ip6_skb_dst_mtu: IPV6_PMTUDISC_PROBE and above).
        var mtu = mtu6[dev]
        if outcome != .forwarded, !rt6Exceptions.isEmpty, !(skb.sock?.config.pmtudisc6.usesDeviceMTU ?? false) { mtu = ip6_dst_mtu(IPv6Address(array: skb.data, at: skb.networkHeader + 24), dev: dev, now: clockNs) }
        if skb.fragMaxSize > 0 { mtu = min(mtu, skb.fragMaxSize) }
        // A GRO-merged skb leaves as its segments (validate_xmit_skb in dev_queue_xmit).
        if skb.len - skb.networkHeader > mtu && skb.gsoSize == 0 && (outcome != .forwarded || skb.fragMaxSize > 0) {
            return ip6_fragment(skb, dev: dev, nexthop: nexthop, mtu: mtu, outcome: outcome)
        }
        return neigh6_output(skb, dev: dev, nexthop: nexthop, outcome: outcome)
    }

    /// `ip6_finish_output2` → `neigh_output`: multicast maps to its 33:33 group MAC; unicast needs
    /// the neighbour's MAC, and waits for neighbour discovery otherwise. Sending to a neighbour
    /// whose reachability has not been confirmed lately (STALE, or REACHABLE past its time) goes on
    /// with the MAC it has and starts NUD: DELAY, then unicast probes (`neigh_event_send`).
    func neigh6_output(_ skb: SkBuff, dev: Int, nexthop: IPv6Address, outcome: Outcome) -> PathEnd {
        enter(.neigh_output, skb)
        // lo is IFF_NOARP: its neighbours take its own (zero) address.
        if devices[dev].isLoopback { return dev_queue_xmit(skb, dev: dev, dstMAC: devices[dev].mac, outcome: outcome) }
        if nexthop.isMulticast {
            if outcome != .forwarded { mc_loop(skb, dev: dev) }
            snmp.ip6.OutMcastPkts += 1
            // ip6_finish_output2: interface-local multicast never leaves by a real device.
            if nexthop.multicastScope <= 1 { return drop(.NOT_SPECIFIED, "interface-local multicast \(nexthop) does not leave the host (only lo carries it)") }
            return dev_queue_xmit(skb, dev: dev, dstMAC: nexthop.multicastMAC, outcome: outcome)
        }
        if let e = neighbours6.lookup(nexthop, dev: dev), let mac = e.mac {
            if e.needsProbing(nowNs: clockNs) { neigh_event_send(\.neighbours6, nexthop, dev: dev, timer: .ndiscTimer(device: dev, address: nexthop.raw)) }
            return dev_queue_xmit(skb, dev: dev, dstMAC: mac, outcome: outcome)
        }
        return neigh_resolve(\.neighbours6, skb, nexthop, dev: dev, queue: "neighbour queue", request: "neighbour solicitation",
                             timer: .ndiscTimer(device: dev, address: nexthop.raw), retransNs: ndRetransNs[dev]) { ndisc_solicit(nexthop, dev: dev, cause: skb) }
    }

    /// `ip6_fragment`: the unfragmentable part (fixed header, hop-by-hop, routing) repeated in
    /// every fragment, then a fragment header, then payload in multiples of 8 bytes.
    func ip6_fragment(_ skb: SkBuff, dev: Int, nexthop: IPv6Address, mtu: Int, outcome: Outcome) -> PathEnd {
        enter(.ip6_fragment, skb)
        let nh = skb.networkHeader, b = skb.data
        // ip6_find_1stfragopt: past hop-by-hop and routing (and destination options before routing).
        var off = nh + 40, prevNext = nh + 6
        var next = b[nh + 6]
        while next == IPProtocol.hopByHop || next == IPProtocol.routing || next == IPProtocol.destinationOptions, off + 8 <= skb.len {
            if next == IPProtocol.destinationOptions {
                let after = b[off]
                guard after == IPProtocol.routing else { break }
            }
            prevNext = off; next = b[off]; off += (Int(b[off + 1]) + 1) * 8
        }
        let unfrag = Array(b[nh..<off]), payload = Array(b[off..<skb.len])
        let per = (mtu - unfrag.count - 8) & ~7
        guard per >= 8 else {
            snmp.ip6.FragFails += 1
            return drop(.PKT_TOO_BIG, "MTU \(mtu) leaves no room for a fragment")
        }
        let ident = UInt32(truncatingIfNeeded: random.next())
        var pos = 0
        while pos < payload.count {
            let n = min(per, payload.count - pos)
            var frag = unfrag + [next, 0, 0, 0, 0, 0, 0, 0] + payload[pos..<(pos + n)]
            frag[prevNext - nh] = IPProtocol.fragment
            frag.setBE16(4, UInt16(frag.count - 40))
            frag.setBE16(unfrag.count + 2, UInt16(pos) | (pos + n < payload.count ? 1 : 0))
            frag.setBE32(unfrag.count + 4, ident)
            let f = fragmentSkb(frag, of: skb)
            snmp.ip6.FragCreates += 1
            let end = neigh6_output(f, dev: dev, nexthop: nexthop, outcome: outcome)
            if case .drop = end { finish(f, end) }
            pos += n
        }
        snmp.ip6.FragOKs += 1
        sock_wfree(skb)
        return sentEnd(skb, outcome)
    }
}
