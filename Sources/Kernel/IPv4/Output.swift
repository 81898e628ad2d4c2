import Wire

// net/ipv4/ip_output.c and the transmit entry of net/core/dev.c.
extension Stack {
    /// `ip_route_output`: the FIB entry and next hop for a locally generated packet (`mark`: the
    /// flow's, which policy rules may select on). A local destination leaves by `lo`
    /// (RTN_LOCAL: dev_out is the loopback device), from the route's prefsrc or the destination.
    /// `oif` (a socket bound to a device): only a route through it, else the destination is
    /// taken to be on its link, "routing tables are wrong" (recorded: scripts/record_bindtodevice.sh).
    func routeOutput(_ dst: IPv4Address, mark: UInt32 = 0, oif: Int? = nil) -> (dev: Int, nexthop: IPv4Address, src: IPv4Address)? {
        guard let r = fib.lookup(dst, mark: mark, oif: oif), r.type == .unicast || r.type == .local else {
            guard let oif, dst != .any else { return nil }
            return (oif, dst, inet_select_addr(oif, dst))
        }
        if r.type == .local { return (fib.lo, dst, localRouteSource(r, dst)) }
        var gw = r.gateway
        // rt_bind_exception: a redirect's gateway for this destination, while it lasts.
        if gw != nil, !routeExceptions.isEmpty, let e = routeException(dst, now: clockNs), e.gateway != 0 { gw = IPv4Address(raw: e.gateway) }
        return (r.dev, gw ?? dst, inet_select_addr(r.dev, gw ?? dst))
    }

    /// `ip_route_output` to a broadcast address (RTN_BROADCAST): a subnet's broadcast address by
    /// its device (the local table's broadcast route), 255.255.255.255 by the device of the route
    /// it matches (the default one; none: no route). Nil for any other destination.
    func routeOutputBroadcast(_ dst: IPv4Address, oif: Int? = nil) -> (dev: Int, nexthop: IPv4Address, src: IPv4Address)? {
        let dev = dst == .broadcast ? oif ?? routeOutput(dst)?.dev : fib.localType(dst) == .broadcast ? fib.lookup(dst)?.dev : nil
        return dev.map { ($0, dst, inet_select_addr($0, dst)) }
    }

    /// The source a local route gives (fl4->saddr for RTN_LOCAL): lo's 127/8 route has prefsrc
    /// 127.0.0.1; the others, the destination itself.
    func localRouteSource(_ r: FIBEntry, _ dst: IPv4Address) -> IPv4Address {
        r.prefix == FIBEntry.loopbackNet && r.table == FIB.local ? IPv4Address(127, 0, 0, 1) : dst
    }

    /// `inet_select_addr`: the device's address on the network of `dst`, else its first one
    /// (0.0.0.0 for a device without any).
    func inet_select_addr(_ dev: Int, _ dst: IPv4Address) -> IPv4Address {
        let addresses = devices[dev].config.addresses
        return addresses.first { $0.contains(dst) }?.address ?? addresses.first?.address ?? .any
    }

    /// `ip_output` → `ip_finish_output`: fragment what exceeds the MTU, then resolve the next hop.
    func ip_output(_ skb: SkBuff, dev: Int, nexthop: IPv4Address, outcome: Outcome) -> PathEnd {
        enter(.ip_output, skb)
        // ip_mc_output: a group the host is in, or a broadcast, gets its copy first.
        if outcome != .forwarded {
            let dst = IPv4Address(raw: skb.data.be32(skb.networkHeader + 16))
            if dst.isMulticast || dst == .broadcast || fib.localType(dst) == .broadcast { mc_loop(skb, dev: dev) }
        }
        // NF_HOOK_COND(NF_INET_POST_ROUTING, ..., ip_finish_output), then conntrack confirms. The
        // hook's in device is skb->dev as it was: a forwarded packet's; none for what the stack sends.
        if let end = netfilterVerdict(nf_hook(.postrouting, skb, inDev: outcome == .forwarded ? skb.dev : nil, outDev: dev), at: "postrouting") {
            if case .drop = end { xmitError = .eperm }
            return end
        }
        if synproxyHooked(skb), let end = synproxy_hook(skb) { return end }
        if let end = nf_confirm(skb) { return end }
        enter(.ip_finish_output, skb)
        // ip_skb_dst_mtu: what the stack sends follows a learnt path MTU (not a probing socket's);
        // what it forwards, the device's.
        var mtu = devices[dev].config.mtu
        if outcome != .forwarded, !routeExceptions.isEmpty, skb.sock?.config.pmtudisc != .probe {
            mtu = ipv4_mtu(IPv4Address(raw: skb.data.be32(skb.networkHeader + 16)), dev: dev, now: clocks[skb.cpu])
        }
        // A reassembled datagram leaves in pieces no larger than it came in (ip_finish_output_gso/frag_max_size).
        if skb.fragMaxSize > 0 { mtu = min(mtu, skb.fragMaxSize) }
        if skb.gsoSize > 0 { return ip_finish_output_gso(skb, dev: dev, nexthop: nexthop, mtu: mtu, outcome: outcome) }
        if skb.len - skb.networkHeader > mtu {
            return ip_fragment(skb, dev: dev, nexthop: nexthop, mtu: mtu, outcome: outcome)
        }
        return neigh_output(skb, dev: dev, nexthop: nexthop, outcome: outcome)
    }

    /// `ip_finish_output_gso`: segments that fit the MTU go on whole (the device cuts them,
    /// `validate_xmit_skb`); otherwise segment here and fragment each segment.
    func ip_finish_output_gso(_ skb: SkBuff, dev: Int, nexthop: IPv4Address, mtu: Int, outcome: Outcome) -> PathEnd {
        if skb.gsoNetworkSegmentLength <= mtu { return neigh_output(skb, dev: dev, nexthop: nexthop, outcome: outcome) }
        var end: PathEnd = .stolen
        for seg in skb_gso_segment(skb) {
            seg.generated = true
            let e = seg.len - seg.networkHeader > mtu ? ip_fragment(seg, dev: dev, nexthop: nexthop, mtu: mtu, outcome: outcome)
                : neigh_output(seg, dev: dev, nexthop: nexthop, outcome: outcome)
            if case .drop = e { finish(seg, e); end = e }
        }
        if case .drop = end { return end }
        return sentEnd(skb, outcome)
    }

    /// `ip_fragment` / `ip_do_fragment`: split into MTU-sized fragments at multiples of 8 bytes.
    func ip_fragment(_ skb: SkBuff, dev: Int, nexthop: IPv4Address, mtu: Int, outcome: Outcome) -> PathEnd {
        enter(.ip_fragment, skb)
        let nh = skb.networkHeader
        let ihl = Int(skb.data[nh] & 0x0f) * 4
        if skb.data.be16(nh + 6) & IPv4Packet.flagDF != 0 {
            snmp.ip.FragFails += 1
            return drop(.PKT_TOO_BIG, "DF set and \(skb.len - nh) bytes exceed MTU \(mtu)")
        }
        let header = Array(skb.data[nh..<(nh + ihl)])
        let payload = Array(skb.data[(nh + ihl)..<skb.len])
        let per = (mtu - ihl) & ~7
        let baseOffset = Int(skb.data.be16(nh + 6) & 0x1fff) * 8
        let baseMF = skb.data.be16(nh + 6) & IPv4Packet.flagMF != 0
        var off = 0
        var last: PathEnd = .stolen
        while off < payload.count {
            let n = min(per, payload.count - off)
            var frag = header + payload[off..<(off + n)]
            frag.setBE16(2, UInt16(ihl + n))
            let more = off + n < payload.count || baseMF
            frag.setBE16(6, UInt16((baseOffset + off) / 8) | (more ? IPv4Packet.flagMF : 0))
            frag.setBE16(10, 0)
            frag.setBE16(10, Checksum.compute(frag, from: 0, count: ihl))
            let f = fragmentSkb(frag, of: skb)
            snmp.ip.FragCreates += 1
            last = neigh_output(f, dev: dev, nexthop: nexthop, outcome: outcome)
            if case .drop = last { finish(f, last) }
            off += n
        }
        snmp.ip.FragOKs += 1
        // The fragments carry the charge now.
        sock_wfree(skb)
        return sentEnd(skb, outcome)
    }

    /// One fragment of `skb` (`ip_copy_metadata`: device, CPU, priority, mark; `skb_set_owner_w`:
    /// a socket's datagram charges each fragment on its own, as ip_make_skb built them), either family.
    func fragmentSkb(_ packet: [UInt8], of skb: SkBuff) -> SkBuff {
        let f = SkBuff(frame: [UInt8](repeating: 0, count: 14) + packet, dev: skb.dev, packet: skb.packet)
        f.networkHeader = 14; f.cpu = skb.cpu; f.generated = true; f.protocolType = skb.protocolType
        f.priority = skb.priority; f.mark = skb.mark
        if let sk = skb.sock {
            f.sock = sk; f.wmemCharge = SkBuff.txTruesize(ipLength: packet.count)
            f.skOwner = skb.skOwner
            sk.wmemAlloc += f.wmemCharge
        }
        return f
    }

    /// An skb for a packet the stack builds (ICMP, RST, neighbour discovery) on behalf of `cause`,
    /// in its trace; `attachConntrack`: nf_ct_attach, the cause's connection as related.
    func generatedSkb(_ bytes: [UInt8], dev: Int, cause: SkBuff, protocolType: UInt16, transportHeader: Int,
                      csumPartialOffset: Int?, attachConntrack: Bool) -> SkBuff {
        let out = SkBuff(frame: bytes, dev: dev, packet: cause.packet)
        out.networkHeader = 14; out.transportHeader = transportHeader; out.cpu = cause.cpu; out.generated = true
        out.protocolType = protocolType
        out.csumPartialOffset = csumPartialOffset
        if attachConntrack {
            // nf_ct_attach: the reply direction of what caused it.
            if let c = cause.conn { out.conn = c; out.ctInfo = cause.ctInfo == .reply || cause.ctInfo == .relatedReply ? .related : .relatedReply } else if cause.ctInfo == .untracked { out.ctInfo = .untracked }
        }
        return out
    }

    /// An skb for a packet a timer builds (a solicitation sent again, a report): it belongs to no
    /// packet's trace and runs on CPU 0 at the stack's clock (CPU 0's may still be where its last
    /// packet left it).
    func timerSkb(_ bytes: [UInt8], dev: Int, protocolType: UInt16, transportHeader: Int) -> SkBuff {
        let ghost = SkBuff(frame: [], dev: dev, packet: -1)
        ghost.cpu = 0
        if clocks[0] < clockNs { clocks[0] = clockNs }
        return generatedSkb(bytes, dev: dev, cause: ghost, protocolType: protocolType, transportHeader: transportHeader, csumPartialOffset: nil, attachConntrack: false)
    }

    /// NF_HOOK(NF_INET_LOCAL_OUT) and its NAT, for either family: false when the hook ended the packet.
    func nf_local_out(_ out: SkBuff, dev: Int) -> Bool {
        switch nf_hook(.output, out, inDev: nil, outDev: dev) {
        case .accept: break
        case .drop, .rejected: finish(out, drop(.NETFILTER_DROP, "dropped at output")); xmitError = .eperm; return false
        case .stolen: return false
        case .consumed: finish(out, consume("taken at output (NF_STOLEN)")); return false
        }
        return true
    }

    /// `ip_local_out`: a locally generated packet through LOCAL_OUT, then `ip_output`.
    /// `attachConntrack`: nf_ct_attach, the cause's connection as related (conntrack then leaves it alone).
    /// `kernelSock`: the kernel's own socket sends it (icmp_send's, TCP's reset socket), a full one.
    func ip_local_out(_ bytes: [UInt8], route: (dev: Int, nexthop: IPv4Address, src: IPv4Address), cause: SkBuff, csumPartialOffset: Int? = nil,
                      attachConntrack: Bool = false, kernelSock: Bool = false) {
        let out = generatedSkb(bytes, dev: route.dev, cause: cause, protocolType: EtherType.ipv4, transportHeader: 34,
                               csumPartialOffset: csumPartialOffset, attachConntrack: attachConntrack)
        out.skOwner = kernelSock ? .fullSock : .none
        _ = ip_local_out(out, route: route)
    }

    /// `ip_local_out` of an skb already built (a socket's datagram, or one the stack made): each
    /// counts as IpOutRequests (__ip_local_out), ICMP errors and resets too. Answers the error a
    /// drop on the way gives the sender (XmitError).
    @discardableResult
    func ip_local_out(_ out: SkBuff, route: (dev: Int, nexthop: IPv4Address, src: IPv4Address)) -> XmitError? {
        let outer = xmitError
        xmitError = nil
        defer { xmitError = outer }
        ip_local_out_(out, route: route)
        return xmitError
    }

    private func ip_local_out_(_ out: SkBuff, route: (dev: Int, nexthop: IPv4Address, src: IPv4Address)) {
        enter(.ip_local_out, out)
        snmp.ip.OutRequests += 1
        let dst = out.data.be32(out.networkHeader + 16)
        guard nf_local_out(out, dev: route.dev) else { return }
        var route = route
        // A route chain changed the routing keys (nf_route_table_hook4), or NAT the destination
        // (nf_nat_ipv4_local_fn): route it again.
        let newDst = out.data.be32(out.networkHeader + 16)
        if out.rerouteWanted || newDst != dst {
            enter(.ip_route_me_harder, out)
            guard let r = routeOutput(IPv4Address(raw: newDst), mark: out.mark) else {
                finish(out, drop(.NETFILTER_DROP, "ip_route_me_harder: no route to \(IPv4Address(raw: newDst))"))
                return
            }
            route = r
        }
        let end = ip_output(out, dev: route.dev, nexthop: route.nexthop, outcome: .transmitted)
        if case .stolen = end {} else { finish(out, end) }
    }
}
