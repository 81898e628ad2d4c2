import Wire

// net/ipv6/ndisc.c: neighbour discovery (RFC 4861): solicitations and advertisements, NUD, router
// advertisements taken, redirects sent (and taken: Redirect6.swift). No duplicate address detection, router solicitations or
// MLD reports are sent: addresses are configured `nodad` (see the README).
extension Stack {
    /// `ndisc_rcv`: hop limit 255 and code 0, then by type.
    func ndisc_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.ndisc_rcv, skb)
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data
        // ndisc_suppress_frag_ndisc: a message that came reassembled from fragments is refused.
        if skb.fragMaxSize > 0 { return drop(.IPV6_NDISC_FRAG, "neighbour discovery reassembled from fragments") }
        if b[nh + 7] != 255 { return drop(.IPV6_NDISC_HOP_LIMIT, "neighbour discovery with hop limit \(b[nh + 7]), not 255") }
        if b[th + 1] != 0 { return drop(.IPV6_NDISC_BAD_CODE, "neighbour discovery with code \(b[th + 1])") }
        switch b[th] {
        case ICMPv6Repr.neighbourSolicitation: return ndisc_recv_ns(skb)
        case ICMPv6Repr.neighbourAdvertisement: return ndisc_recv_na(skb)
        case ICMPv6Repr.routerSolicitation:
            return ipForward6 ? drop(.NOT_SPECIFIED, "router solicitation: answering them is not modelled yet")
                : drop(.NOT_SPECIFIED, "router solicitation ignored: not a router (net.ipv6.conf.all.forwarding is 0)")
        case ICMPv6Repr.routerAdvertisement:
            return ndisc_router_discovery(skb)
        default:
            return ndisc_redirect_rcv(skb)
        }
    }

    /// The ND message and its options, or how the packet ends when they do not parse (too short
    /// for its type's fixed part: RS 8 bytes, RA 16, NS and NA 24, redirect 40).
    func ndMessage(_ skb: SkBuff) -> Result<NDPRepr, NDError> {
        let th = skb.transportHeader, b = skb.data
        let minimum = [ICMPv6Repr.routerSolicitation: 8, ICMPv6Repr.routerAdvertisement: 16, ICMPv6Repr.redirect: 40][b[th]] ?? 24
        guard skb.len - th >= minimum else { return .failure(NDError(reason: .PKT_TOO_SMALL, why: "\(skb.len - th) bytes cannot hold the message")) }
        let m = ICMPv6Repr(type: b[th], code: b[th + 1], restOfHeader: b.be32(th + 4), data: Array(b[(th + 8)..<skb.len]))
        do throws(WireError) {
            guard let nd = try NDPRepr.parse(m) else { return .failure(NDError(reason: .NOT_SPECIFIED, why: "not a neighbour discovery message")) }
            return .success(nd)
        } catch {
            return .failure(NDError(reason: .IPV6_NDISC_BAD_OPTIONS, why: "options do not parse (\(error))"))
        }
    }
    struct NDError: Error { var reason: DropReason; var why: String }

    /// The link-layer address option of a message: nil when absent, .failure when not 6 bytes.
    private func lladdr(_ options: [NDPOption], source: Bool) -> Result<MACAddress?, NDError> {
        for o in options {
            switch o {
            case .sourceLinkLayer(let m) where source: return .success(m)
            case .targetLinkLayer(let m) where !source: return .success(m)
            case .other(let t, _) where t == (source ? 1 : 2): return .failure(NDError(reason: .NOT_SPECIFIED, why: "invalid link-layer address length"))
            default: continue
            }
        }
        return .success(nil)
    }

    /// `ndisc_recv_ns`: a solicitation for one of our addresses on this device (or, when
    /// forwarding, a subnet-router anycast address) updates the sender's entry (STALE) and is
    /// answered with a solicited advertisement.
    private func ndisc_recv_ns(_ skb: SkBuff) -> PathEnd {
        let nh = skb.networkHeader, b = skb.data
        let saddr = IPv6Address(array: b, at: nh + 8), daddr = IPv6Address(array: b, at: nh + 24)
        let nd: NDPRepr
        switch ndMessage(skb) { case .success(let m): nd = m; case .failure(let e): return drop(e.reason, "NS: \(e.why)") }
        guard case .neighbourSolicitation(let target, let options) = nd else { return drop(.NOT_SPECIFIED, "NS: not a solicitation") }
        if target.isMulticast { return drop(.NOT_SPECIFIED, "NS: multicast target address") }
        let dad = saddr.isUnspecified
        if dad && !(daddr.raw >> 24 == (0xff02_0000_0000_0000_0000_0001_ff00_0000 as UInt128) >> 24) {
            return drop(.NOT_SPECIFIED, "NS: bad DAD packet (wrong destination)")
        }
        let mac: MACAddress?
        switch lladdr(options, source: true) { case .success(let m): mac = m; case .failure(let e): return drop(e.reason, "NS: \(e.why)") }
        if dad && mac != nil { return drop(.NOT_SPECIFIED, "NS: bad DAD packet (link-layer address option)") }
        let inc = daddr.isMulticast
        let ours = fib6.isAssigned(target, dev: skb.dev)
        let anycast = !ours && fib6.local.contains { $0.prefix.address == target && $0.dev == skb.dev }
        guard ours || anycast else { return drop(.IPV6_NDISC_NS_OTHERHOST, "NS: \(target) is not an address of \(devices[skb.dev].name)") }
        if dad {
            ndisc_send_na(dev: skb.dev, to: .allNodes, target: target, solicited: false, override: ours, withOption: true, cause: skb)
            return consume("NS for duplicate address detection answered")
        }
        // __neigh_lookup creates the entry unless the solicitation was multicast without an address.
        if !inc || mac != nil {
            if let mac {
                neigh_connect(neighbours6.resolve(saddr, dev: skb.dev, mac: mac, state: .stale, nowNs: clockNs), dev: skb.dev, mac: mac, by: skb)
            } else if neighbours6.lookup(saddr, dev: skb.dev) == nil {
                neighbours6.insert(NeighbourEntry(address: saddr, dev: skb.dev, mac: nil, state: .incomplete, probes: 0))
            }
            ndisc_send_na(dev: skb.dev, to: saddr, target: target, solicited: true, override: ours && inc, withOption: inc, cause: skb)
            return consume("NS for \(target) answered")
        }
        return drop(.NOT_SPECIFIED, "NS: multicast solicitation without a source link-layer address")
    }

    /// `ndisc_recv_na`: an advertisement for a neighbour we have an entry for updates it
    /// (REACHABLE when solicited, else STALE) and sends what waited; others are dropped.
    private func ndisc_recv_na(_ skb: SkBuff) -> PathEnd {
        let nh = skb.networkHeader
        let daddr = IPv6Address(array: skb.data, at: nh + 24)
        let nd: NDPRepr
        switch ndMessage(skb) { case .success(let m): nd = m; case .failure(let e): return drop(e.reason, "NA: \(e.why)") }
        guard case .neighbourAdvertisement(_, let solicited, let override, let target, let options) = nd else { return drop(.NOT_SPECIFIED, "NA: not an advertisement") }
        if target.isMulticast { return drop(.NOT_SPECIFIED, "NA: target address is multicast") }
        if daddr.isMulticast && solicited { return drop(.NOT_SPECIFIED, "NA: solicited NA is multicasted") }
        let mac: MACAddress?
        switch lladdr(options, source: false) { case .success(let m): mac = m; case .failure(let e): return drop(e.reason, "NA: \(e.why)") }
        if fib6.isAssigned(target, dev: skb.dev) { return drop(.NOT_SPECIFIED, "NA: someone advertised our address \(target)") }
        guard let e = neighbours6.lookup(target, dev: skb.dev) else { return drop(.NOT_SPECIFIED, "NA: no neighbour entry for \(target)") }
        if e.state == .permanent { return consume("NA for \(target) (a permanent entry stays)") }
        if e.state == .failed { return drop(.NOT_SPECIFIED, "NA for \(target), whose entry is FAILED (not resolving): ignored") }
        if let mac {
            // Another MAC without the override flag only makes a REACHABLE entry STALE at its old one (weak override).
            neigh_connect(neighbours6.resolve(target, dev: skb.dev, mac: mac, state: solicited ? .reachable : .stale, how: override ? .override : .weak, nowNs: clockNs),
                          dev: skb.dev, mac: mac, by: skb)
        } else if solicited, e.mac != nil {
            neighbours6.update(.init(dev: skb.dev, addr: target)) { $0.state = .reachable }
        }
        // A solicited advertisement confirms reachability for a random half to one and a half of
        // base_reachable_time, 15 to 45 s by default (neigh_rand_reach_time).
        if solicited { neigh_confirm(\.neighbours6, target, dev: skb.dev, baseMs: ndBaseReachableMs[skb.dev]) }
        return consume("NA for \(target)")
    }

    /// `ndisc_router_discovery`: from a link-local router, taken when `accept_ra` says so (1 while
    /// not forwarding, 2 always): a router lifetime adds (0 removes) the default route via it, its
    /// link-layer address is learned, each prefix with the on-link flag becomes a route and, with
    /// the autonomous flag and `autoconf`, a /64 gets an address from the device's EUI-64 interface
    /// identifier (SLAAC, without DAD); each until its lifetime runs out.
    private func ndisc_router_discovery(_ skb: SkBuff) -> PathEnd {
        let nh = skb.networkHeader
        let src = IPv6Address(array: skb.data, at: nh + 8)
        guard src.isLinkLocal else { return drop(.NOT_SPECIFIED, "RA: source address \(src) is not link-local") }
        let nd: NDPRepr
        switch ndMessage(skb) { case .success(let m): nd = m; case .failure(let e): return drop(e.reason, "RA: \(e.why)") }
        guard case .routerAdvertisement(let curHopLimit, _, let lifetime, let reachableTime, let retransTimer, let options) = nd else {
            return drop(.NOT_SPECIFIED, "RA: not an advertisement")
        }
        let acceptRA = sysctl(.accept_ra)
        guard ipForward6 ? acceptRA == 2 : acceptRA != 0 else {
            return drop(.NOT_SPECIFIED, "RA ignored: net.ipv6.conf.all.accept_ra is \(acceptRA)\(ipForward6 ? " and forwarding is on (2 would take it)" : "")")
        }
        let dev = skb.dev, now = clockNs
        var taught: [String] = []
        func expiry(_ seconds: UInt32) -> UInt64 { seconds == .max ? .max : now &+ UInt64(seconds) * 1_000_000_000 }
        // The default route via this router (rt6_add_dflt_router / its removal at lifetime 0).
        ra.routes.removeAll { $0.entry.gateway == src && $0.entry.dev == dev && $0.entry.prefix.prefixLength == 0 }
        if lifetime > 0 {
            ra.routes.append(.init(entry: FIB6Entry(prefix: IPv6CIDR(address: .any, prefixLength: 0), type: .unicast, gateway: src, dev: dev, metric: 1024, proto: .ra),
                                   expiresNs: expiry(UInt32(lifetime))))
            taught.append("default route via \(src) for \(lifetime) s")
        }
        // The hop limit it advertises (accept_ra_min_hop_limit 1), and an MTU option within 1280
        // and the device's own (accept_ra_mtu): the link's IPv6 values from now on.
        if curHopLimit > 0 {
            hopLimit6[dev] = curHopLimit
            taught.append("hop limit \(curHopLimit)")
        }
        for case .mtu(let m) in options where m >= 1280 && Int(m) <= devices[dev].config.mtu {
            mtu6[dev] = Int(m)
            taught.append("MTU \(m)")
        }
        // Its retrans timer and reachable time (ms; 0 leaves them), in whole jiffies (4 ms at HZ
        // 250) of at least HZ/100 and HZ/10: the link's neighbour discovery from now on.
        if retransTimer > 0 {
            ndRetransNs[dev] = max(UInt64(retransTimer) * 250 / 1000, 2) * 4_000_000
            taught.append("retrans timer \(ndRetransNs[dev] / 1_000_000) ms")
        }
        if reachableTime > 0 {
            ndBaseReachableMs[dev] = max(UInt64(reachableTime) * 250 / 1000, 25) * 4
            taught.append("reachable time \(ndBaseReachableMs[dev]) ms")
        }
        if case .success(let m?) = lladdr(options, source: true) {
            neigh_connect(neighbours6.resolve(src, dev: dev, mac: m, state: .stale, nowNs: clockNs), dev: dev, mac: m, by: skb)
        }
        for case .prefixInformation(let len, let onLink, let autonomous, let valid, _, let prefix) in options {
            let p = IPv6CIDR(address: prefix, prefixLength: Int(min(len, 128)))
            guard !prefix.isLinkLocal, !prefix.isMulticast else { continue }
            if onLink {
                ra.routes.removeAll { $0.entry.prefix == IPv6CIDR(address: p.network, prefixLength: p.prefixLength) && $0.entry.dev == dev && $0.entry.gateway == nil }
                if valid > 0 {
                    // addrconf_prefix_route: proto kernel, as for a connected prefix (only the default route is proto ra).
                    ra.routes.append(.init(entry: FIB6Entry(prefix: IPv6CIDR(address: p.network, prefixLength: p.prefixLength), type: .unicast, gateway: nil,
                                                            dev: dev, metric: 256, proto: .kernel), expiresNs: expiry(valid)))
                    taught.append("on-link \(p.network)/\(p.prefixLength)")
                }
            }
            if autonomous, sysctl(.autoconf6) != 0, len == 64 {
                let addr = IPv6Address(raw: p.network.raw | (FIB6.linkLocal(devices[dev].mac).raw & 0xffff_ffff_ffff_ffff))
                ra.addresses.removeAll { $0.cidr.address == addr && $0.dev == dev }
                if valid > 0 {
                    ra.addresses.append(.init(cidr: IPv6CIDR(address: addr, prefixLength: 64), dev: dev, expiresNs: expiry(valid)))
                    taught.append("address \(addr)/64")
                }
            }
        }
        rebuildFIB6()
        if let next = (ra.routes.map(\.expiresNs) + ra.addresses.map(\.expiresNs)).filter({ $0 != .max }).min() { schedule(next, .raExpire) }
        return consume("RA from \(src): " + (taught.isEmpty ? "nothing learned" : taught.joined(separator: ", ")))
    }

    /// `ndisc_send_na`: from the target address (hop limit 255, flow label 0), router flag when
    /// forwarding, with the target link-layer address when asked for.
    private func ndisc_send_na(dev: Int, to daddr: IPv6Address, target: IPv6Address, solicited: Bool, override: Bool, withOption: Bool, cause: SkBuff) {
        enter(.ndisc_send_na, cause)
        let src = fib6.isAssigned(target, dev: dev) ? target : fib6.sourceAddress(for: daddr, dev: dev)
        guard let src else { return }
        let na = NDPRepr.neighbourAdvertisement(router: ipForward6, solicited: solicited, override: override, target: target,
                                                options: withOption ? [.targetLinkLayer(devices[dev].mac)] : [])
        ndisc_send_skb(na.icmp, src: src, dst: daddr, dev: dev, cause: cause)
    }

    /// `ndisc_solicit`: a multicast solicitation to the target's solicited-node group, from the
    /// waiting packet's source when it is ours; a NUD probe goes to the target itself.
    func ndisc_solicit(_ target: IPv6Address, dev: Int, cause: SkBuff?, unicast: Bool = false) {
        let waitingSrc = cause.map { IPv6Address(array: $0.data, at: $0.networkHeader + 8) }
        let src = waitingSrc.flatMap { fib6.isAssigned($0, dev: dev) ? $0 : nil } ?? fib6.sourceAddress(for: target, dev: dev)
        guard let src else { return }
        let ns = NDPRepr.neighbourSolicitation(target: target, options: [.sourceLinkLayer(devices[dev].mac)])
        if let cause { enter(.ndisc_solicit, cause) }
        ndisc_send_skb(ns.icmp, src: src, dst: unicast ? target : target.solicitedNode, dev: dev, cause: cause)
    }

    /// `ndisc_send_redirect`: from our link-local address to the packet's source (a neighbour, one
    /// redirect a second per source): the better first hop (`target`: the destination itself, or a
    /// link-local router), its link-layer address when known, and as much of the packet as fits in
    /// 1,280 bytes (the redirected header option).
    func ndisc_send_redirect(_ skb: SkBuff, target: IPv6Address) {
        let nh = skb.networkHeader, b = skb.data, dev = skb.dev
        let src = IPv6Address(array: b, at: nh + 8), dst = IPv6Address(array: b, at: nh + 24)
        guard let ll = fib6.addresses[dev].first(where: { $0.address.isLinkLocal })?.address else { return }
        guard target == dst || target.isLinkLocal else { return }   // "target address is not link-local unicast"
        guard let back = fib6.lookup(src, dev: dev), back.gateway == nil, back.dev == dev else { return }   // "destination is not a neighbour"
        guard xrlimAllow(&redirect6Peers[RedirectPeer(address: src, source: true)], timeoutNs: 1_000_000_000) else { return }
        guard let n = neighbours6.lookup(target, dev: dev) else { return }   // "no neigh for target address"
        var options: [NDPOption] = []
        if let mac = n.mac, n.state.isValid { options.append(.targetLinkLayer(mac)) }
        let optlen = options.reduce(0) { $0 + $1.bufferLength }
        let rdLen = min(1280 - 40 - 40 - optlen, skb.len - nh + 8) & ~7
        if rdLen > 8 { options.append(.other(type: 4, data: [UInt8](repeating: 0, count: 6) + Array(b[nh..<(nh + rdLen - 8)]))) }
        ndisc_send_skb(NDPRepr.redirect(target: target, destination: dst, options: options).icmp, src: ll, dst: src, dev: dev, cause: skb)
    }

    /// `inet_peer_xrlim_allow`: a token bucket of `timeoutNs` per message, six deep; a new peer starts full.
    func xrlimAllow(_ state: inout (tokens: UInt64, last: UInt64)?, timeoutNs: UInt64) -> Bool {
        let now = clockNs
        var (tokens, last) = state ?? (0, now &- 60_000_000_000)
        tokens = min(tokens &+ (now &- last), 6 * timeoutNs)
        last = now
        let ok = tokens >= timeoutNs
        if ok { tokens -= timeoutNs }
        state = (tokens, last)
        return ok
    }

    /// `ndisc_send_skb`: hop limit 255, flow label 0, through LOCAL_OUT on the given device.
    private func ndisc_send_skb(_ m: ICMPv6Repr, src: IPv6Address, dst: IPv6Address, dev: Int, cause: SkBuff?) {
        let ip = IPv6Repr(src: src, dst: dst, nextHeader: IPProtocol.icmpv6, hopLimit: 255, payloadLength: m.bufferLength)
        var bytes = [UInt8](repeating: 0, count: 14 + 40 + m.bufferLength)
        ip.emit(into: &bytes, at: 14)
        m.emit(into: &bytes, at: 54, pseudo: ip.pseudoHeader)
        snmp.icmp6.OutMsgs += 1
        snmp.icmp6.OutType[Int(m.type), default: 0] += 1
        let route = Route6(dev: dev, nexthop: dst, src: src, prefixLength: 128)
        // (From ndisc_sk, a full socket: `meta cgroup` matches, as recorded.)
        if let cause {
            ip6_local_out(bytes, route: route, cause: cause, kernelSock: true)
        } else {
            // A retransmission from the timer.
            let out = timerSkb(bytes, dev: dev, protocolType: EtherType.ipv6, transportHeader: 54)
            out.nhoff = 20; out.skOwner = .fullSock
            ip6_local_out(out, route: route)
        }
    }

    /// Neighbour discovery's `neigh_timer_handler`: solicitations to the solicited-node group while
    /// resolving, to the neighbour itself while probing, `retrans_time` apart (as the link's router
    /// advertisements set it).
    func ndisc_timer_handler(device dev: Int, address a: IPv6Address) {
        neigh_timer(\.neighbours6, a, dev: dev, retransNs: ndRetransNs[dev], timer: .ndiscTimer(device: dev, address: a.raw)) { mac in
            ndisc_solicit(a, dev: dev, cause: nil, unicast: mac != nil)
        }
    }
}
