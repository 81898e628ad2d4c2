import Wire

// net/ipv4/ip_input.c and the input half of net/ipv4/route.c.
extension Stack {
    /// `ip_rcv` / `ip_rcv_core`: the header checks, in the kernel's order, with its drop reasons and MIB counters.
    func ip_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.ip_rcv, skb)
        if skb.pktType == .otherhost {
            devices[skb.dev].stats.rx_otherhost_dropped += 1
            return drop(.OTHERHOST, "destination MAC is not ours (PACKET_OTHERHOST)")
        }
        snmp.ip.InReceives += 1
        let nh = skb.networkHeader
        let avail = skb.len - nh
        guard avail >= 20 else { return inhdrError(.IP_INHDR, "\(avail) bytes cannot hold an IPv4 header") }
        let b = skb.data
        let version = b[nh] >> 4
        let ihl = Int(b[nh] & 0x0f)
        guard ihl >= 5, version == 4 else { return inhdrError(.IP_INHDR, "version \(version), IHL \(ihl)") }
        guard avail >= ihl * 4 else { return inhdrError(.IP_INHDR, "header length \(ihl * 4) exceeds the \(avail) bytes received") }
        guard Checksum.compute(b, from: nh, count: ihl * 4) == 0 else {
            snmp.ip.InCsumErrors += 1
            return inhdrError(.IP_CSUM, "header checksum does not verify")
        }
        let totLen = Int(b.be16(nh + 2))
        if avail < totLen {
            snmp.ip.InTruncatedPkts += 1
            return drop(.PKT_TOO_SMALL, "total length \(totLen) exceeds the \(avail) bytes received")
        } else if totLen < ihl * 4 {
            return inhdrError(.IP_INHDR, "total length \(totLen) is below the header length \(ihl * 4)")
        }
        // pskb_trim_rcsum: Ethernet padding goes.
        skb.len = nh + totLen
        skb.transportHeader = nh + ihl * 4
        // NF_HOOK(NF_INET_PRE_ROUTING, ..., ip_rcv_finish)
        if let end = netfilterVerdict(nf_hook(.prerouting, skb, inDev: skb.dev, outDev: nil), at: "prerouting") { return end }
        return ip_rcv_finish(skb)
    }

    private func inhdrError(_ r: DropReason, _ why: @autoclosure () -> String) -> PathEnd {
        snmp.ip.InHdrErrors += 1
        return drop(r, why())
    }

    /// `ip_rcv_finish` / `ip_route_input_slow`: martian checks, then the FIB decides local,
    /// broadcast, forward or error (`ip_error`).
    func ip_rcv_finish(_ skb: SkBuff) -> PathEnd {
        enter(.ip_rcv_finish, skb)
        let nh = skb.networkHeader
        let src = IPv4Address(raw: skb.data.be32(nh + 12))
        let dst = IPv4Address(raw: skb.data.be32(nh + 16))
        // Back from lo with its output route (RTCF_LOCAL: dst.input is ip_local_deliver).
        if keepsLoopRoute(skb, dst: UInt128(dst.raw)) {
            skb.broadcastRoute = dst.isMulticast || dst == .broadcast || fib.localType(dst) == .broadcast
            return ip_local_deliver(skb)
        }
        if dst.isMulticast {
            // Every IPv4 interface is in 224.0.0.1 (all-hosts); other groups need a socket's join.
            guard ip_check_mc(skb.dev, dst) else { return drop(.NOT_SPECIFIED, "multicast group \(dst) not joined on \(devices[skb.dev].name)") }
            skb.broadcastRoute = true
            if let end = ip_rcv_options(skb, local: true) { return end }
            return ip_local_deliver(skb)
        }
        if src.isMulticast || src == .broadcast { return drop(.IP_INVALID_SOURCE, "martian source \(src)") }
        if dst == .broadcast || (src == .any && dst == .any) {
            skb.broadcastRoute = true
            if let end = ip_rcv_options(skb, local: true) { return end }
            return ip_local_deliver(skb)
        }
        if src.isZeronet { return drop(.IP_INVALID_SOURCE, "martian source \(src)") }
        if dst.isZeronet { return drop(.IP_INVALID_DEST, "martian destination \(dst)") }
        if dst.isLoopback { return drop(.IP_INVALID_DEST, "martian destination \(dst)") }
        if src.isLoopback { return drop(.IP_INVALID_SOURCE, "martian source \(src)") }
        let forwarding = ipForward
        guard let route = fib.lookup(dst, src: src, mark: skb.mark, iif: skb.dev) else {
            // no_route → ip_error: ENETUNREACH with forwarding, EHOSTUNREACH without.
            if forwarding {
                snmp.ip.InNoRoutes += 1
                icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: 0)
                return drop(.IP_INNOROUTES, "no route to \(dst)")
            }
            snmp.ip.InAddrErrors += 1
            return drop(.IP_INADDRERRORS, "no route to \(dst) and forwarding is off")
        }
        switch route.type {
        case .local, .broadcast:
            if fib.isLocal(src) { return drop(.IP_LOCAL_SOURCE, "source \(src) is one of our addresses") }
            skb.broadcastRoute = route.type == .broadcast
            if let end = ip_rcv_options(skb, local: true) { return end }
            return ip_local_deliver(skb)
        case .unicast, .unreachable:
            guard forwarding else {
                snmp.ip.InAddrErrors += 1
                return drop(.IP_INADDRERRORS, "\(dst) is not local and net.ipv4.ip_forward is 0")
            }
            if fib.isLocal(src) { return drop(.IP_LOCAL_SOURCE, "source \(src) is one of our addresses") }
            if let end = ip_rcv_options(skb, local: false) { return end }
            return ip_forward(skb, route: route)
        }
    }

    /// `ip_local_deliver`: reassemble, then LOCAL_IN, then the protocol handler.
    func ip_local_deliver(_ skb: SkBuff) -> PathEnd {
        enter(.ip_local_deliver, skb)
        if skb.data.be16(skb.networkHeader + 6) & 0x3fff != 0 {
            switch ip_defrag(skb) {
            case .queued: return .stolen
            case .failed(let end): return end
            case .reassembled(let whole): return ip_local_deliver_hooked(whole)
            }
        }
        return ip_local_deliver_hooked(skb)
    }

    /// NF_HOOK(NF_INET_LOCAL_IN, ..., ip_local_deliver_finish), conntrack confirmed after it.
    private func ip_local_deliver_hooked(_ skb: SkBuff) -> PathEnd {
        if let end = nf_local_in(skb) { return end }
        return ip_local_deliver_finish(skb)
    }

    /// NF_HOOK(NF_INET_LOCAL_IN) for either family, its NAT, then `nf_conntrack_confirm`: how the
    /// path ends there, or nil to deliver.
    func nf_local_in(_ skb: SkBuff) -> PathEnd? {
        if let end = netfilterVerdict(nf_hook(.input, skb, inDev: skb.dev, outDev: nil), at: "input") { return end }
        if synproxyHooked(skb), let end = synproxy_hook(skb) { return end }
        return nf_confirm(skb)
    }

    /// `ip_local_deliver_finish` / `ip_protocol_deliver_rcu`: the inet_protos dispatch.
    func ip_local_deliver_finish(_ skb: SkBuff) -> PathEnd {
        enter(.ip_local_deliver_finish, skb)
        let proto = skb.data[skb.networkHeader + 9]
        let end: PathEnd
        switch proto {
        case IPProtocol.udp: end = udp_rcv(skb)
        case IPProtocol.tcp: end = tcp_v4_rcv(skb)
        case IPProtocol.icmp: end = icmp_rcv(skb)
        case IPProtocol.igmp: end = igmp_rcv(skb)
        default:
            snmp.ip.InUnknownProtos += 1
            if !isBroadcastRoute(skb) { icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: 2) }
            return drop(.IP_NOPROTO, "no handler for IP protocol \(proto)")
        }
        snmp.ip.InDelivers += 1
        return end
    }

    /// True when the route that brought the packet was broadcast or multicast (RTCF_BROADCAST/MULTICAST).
    @inline(__always) func isBroadcastRoute(_ skb: SkBuff) -> Bool { skb.broadcastRoute }
}

extension Stack {
    /// How a hook's verdict ends the path, or nil to go on.
    func netfilterVerdict(_ v: HookVerdict, at hook: String) -> PathEnd? {
        switch v {
        case .accept: return nil
        case .drop, .rejected: return drop(.NETFILTER_DROP, "dropped by the ruleset at \(hook)")
        case .stolen: return .stolen
        case .consumed: return consume("taken by the ruleset at \(hook) (NF_STOLEN)")
        }
    }
}
