import Wire

// net/ipv6/mcast.c: the groups AF_INET6 sockets join (IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP) and
// the MLDv2 state-change reports a device's joins and leaves send to ff02::16 (recorded:
// scripts/record_mc_join.sh), and the answer to general queries (scripts/record_mc_query.sh).
extension Stack {
    /// MLDv2's all-routers group, where reports go.
    static let mld2AllRouters = IPv6Address(raw: 0xff02 << 112 | 0x16)

    /// `ipv6_sock_mc_join` on socket `id`: the group must be multicast (EINVAL); the socket in it
    /// on that device (any device when none is named) already: EADDRINUSE; the device `device`
    /// names, else the route to the group's (none: ENODEV). A device new to the group reports it,
    /// unless it is all-nodes or narrower than a link (MAF_NOREPORT). Answers the errno or nil
    /// (`dryRun`: changes nothing).
    public func ipv6_sock_mc_join(socket id: Int, group: IPv6Address, device: Int?, dryRun: Bool = false) -> String? {
        guard let sk = sockets.byID[id] else { return "EBADF" }
        if sk.config.proto == .tcp { return "EPROTO" }
        guard group.isMulticast else { return "EINVAL" }
        let named = device.map { devices.indices.contains($0) ? devices[$0].name : "" }
        if sk.config.memberships.contains(where: { $0.group == .v6(group) && (named == nil || $0.dev == named) }) { return "EADDRINUSE" }
        guard let dev = device.map({ devices.indices.contains($0) ? $0 : nil }) ?? routeOutput6(group)?.dev else { return "ENODEV" }
        if dryRun { return nil }
        sk.config.memberships.append(Membership(group: .v6(group), dev: devices[dev].name))
        mc_inc_group(dev, .v6(group), reported: true)
        return nil
    }

    /// `ipv6_sock_mc_drop`: the socket's membership of the group (on that device, or any when
    /// none is named), else EADDRNOTAVAIL; the device's last one leaving reports it.
    public func ipv6_sock_mc_drop(socket id: Int, group: IPv6Address, device: Int?, dryRun: Bool = false) -> String? {
        guard let sk = sockets.byID[id] else { return "EBADF" }
        guard group.isMulticast else { return "EINVAL" }
        let named = device.map { devices.indices.contains($0) ? devices[$0].name : "" }
        guard let k = sk.config.memberships.firstIndex(where: { $0.group == .v6(group) && (named == nil || $0.dev == named) }),
              let dev = devices.firstIndex(where: { $0.name == sk.config.memberships[k].dev }) else { return "EADDRNOTAVAIL" }
        if dryRun { return nil }
        sk.config.memberships.remove(at: k)
        mc_dec_group(dev, .v6(group), reported: true)
        return nil
    }

    /// `ipv6_chk_mcast_addr`: the device is in the group (all-nodes and solicited-node by itself,
    /// others by a socket's join).
    @inline(__always) func ipv6_chk_mcast_addr(_ dev: Int, _ group: IPv6Address) -> Bool {
        (fib6.groups.indices.contains(dev) && fib6.groups[dev].contains(group)) || mldGroups[dev].contains(group.raw)
    }

    /// Whether a device reports the group: not all-nodes nor interface-local (MAF_NOREPORT), nor
    /// one it is in by itself (already reported when its address came).
    func mld_reports(_ dev: Int, _ group: IPv6Address) -> Bool {
        group != .allNodes && group.multicastScope >= 2 && !(fib6.groups.indices.contains(dev) && fib6.groups[dev].contains(group))
    }

    /// `mld_send_cr` → `mld_sendpack`: one MLDv2 report of the change records owed (left groups,
    /// then joined ones) from the device's link-local address (:: without one) to ff02::16, hop
    /// limit 1 and a hop-by-hop router alert; through LOCAL_OUT. Nothing when none is owed.
    func mld_send_cr(_ dev: Int) {
        mld_sendpack(dev, mldGroups[dev].changeRecords())
    }

    /// `mld_send_report(idev, NULL)`: the answer to a general query, each group the device
    /// reports as MODE_IS_EXCLUDE (2), newest first: sockets' joins, then the groups its
    /// addresses made it join (solicited-node...).
    /// With `only`, a group-specific query's answer: that group's record alone.
    func mld_send_report(_ dev: Int, only: IPv6Address? = nil) {
        let joined = mldGroups[dev].groups.map { IPv6Address(raw: $0.addr) }.filter { mld_reports(dev, $0) }
        let own = fib6.joinOrder.indices.contains(dev) ? fib6.joinOrder[dev].reversed().filter { $0 != .allNodes && $0.multicastScope >= 2 } : []
        mld_sendpack(dev, (joined + own).filter { only == nil || $0 == only }.map { (2, $0.raw) })
    }

    /// One MLDv2 report of `records`; nothing when there are none.
    private func mld_sendpack(_ dev: Int, _ records: [(type: UInt8, addr: UInt128)]) {
        guard !records.isEmpty else { return }
        let linkLocal = fib6.addresses.indices.contains(dev) ? fib6.addresses[dev].first { $0.address.isLinkLocal }?.address : nil
        let src = linkLocal ?? .any
        let dst = Stack.mld2AllRouters, len = 8 + 8 + 20 * records.count
        let ip = IPv6Repr(src: src, dst: dst, nextHeader: 0, hopLimit: 1, payloadLength: len)
        var b = [UInt8](repeating: 0, count: 14 + 40 + len)
        ip.emit(into: &b, at: 14)
        // Hop-by-hop: ICMPv6 next, router alert (MLD), PadN of 0.
        b[54] = IPProtocol.icmpv6; b[56] = 5; b[57] = 2; b[60] = 1
        let th = 62
        b[th] = ICMPv6Repr.mld2Report
        b.setBE16(th + 6, UInt16(records.count))
        for (i, r) in records.enumerated() {
            let at = th + 8 + 20 * i
            b[at] = r.type
            b.replaceSubrange((at + 4)..<(at + 20), with: IPv6Address(raw: r.addr).bytes)
        }
        let icmpLen = len - 8
        b.setBE16(th + 2, Checksum.finish(Checksum.sum(b, from: th, count: icmpLen, initial: PseudoHeader.v6(src, dst).sum(proto: IPProtocol.icmpv6, length: icmpLen))))
        snmp.icmp6.OutMsgs += 1
        snmp.icmp6.OutType[Int(ICMPv6Repr.mld2Report), default: 0] += 1
        let skb = timerSkb(b, dev: dev, protocolType: EtherType.ipv6, transportHeader: th)
        // (From igmp6_sk, a full socket, as recorded; IPv4's IGMP reports have none.)
        skb.nhoff = 20; skb.skOwner = .fullSock
        ip6_local_out(skb, route: Route6(dev: dev, nexthop: dst, src: src, prefixLength: 128))
    }

    /// `igmp6_event_query` → `__mld_query_work`: a query from a link-local address with hop
    /// limit 1 and an MLD router alert (RFC 3810 6.2; else dropped); an MLDv2 query (28 bytes or
    /// more, no sources) is answered within its maximum response delay (ms): a general
    /// one (group ::) with the current-state report, a group-specific one with the group's own.
    /// MLDv1 queries (24 bytes) are not modelled yet.
    func igmp6_event_query(_ skb: SkBuff) -> PathEnd {
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data, len = skb.len - th
        guard IPv6Address(array: b, at: nh + 8).isLinkLocal, b[nh + 7] == 1, mldRouterAlert(skb) else {
            return drop(.NOT_SPECIFIED, "an MLD query needs a link-local source, hop limit 1 and a router alert (RFC 3810 6.2)")
        }
        if len == 24 { return consume("not modelled yet: an MLDv1 query (the host's MLDv1 compatibility mode)") }
        guard len >= 28 else { return drop(.NOT_SPECIFIED, "an MLD query of \(len) bytes") }
        guard b.be16(th + 26) == 0 else { return consume("not modelled yet: a query with sources (source filters are not modelled)") }
        let code = UInt64(b.be16(th + 4))
        let mrc = code < 32768 ? code : (code & 0x0fff | 0x1000) << ((code >> 12 & 0x07) + 3)   // mldv2_mrc, ms
        let maxDelay = max((mrc + Stack.jiffyNs / 1_000_000 - 1) / (Stack.jiffyNs / 1_000_000), 1)   // msecs_to_jiffies
        let group = IPv6Address(array: b, at: th + 8)
        if !group.isUnspecified {
            // A group-specific query: that group's own report, if the device is in it and reports it.
            let reported = mld_reports(skb.dev, group) ? mldGroups[skb.dev].contains(group.raw)
                : group != .allNodes && group.multicastScope >= 2 && ipv6_chk_mcast_addr(skb.dev, group)
            guard reported else { return consume("a query for \(group): not a group the device reports") }
            mc_group_queried(skb.dev, v6: true, group: group.raw, maxDelayJiffies: maxDelay)
            return consume("MLDv2 query for \(group): its report within \(mrc) ms")
        }
        mc_gq_start_timer(skb.dev, v6: true, maxDelayJiffies: maxDelay)
        return consume("MLDv2 general query: the current-state report within \(mrc) ms")
    }

    /// IP6SKB_ROUTERALERT with the MLD value: a hop-by-hop header right after the IPv6 one
    /// holding a router alert of 0.
    private func mldRouterAlert(_ skb: SkBuff) -> Bool {
        let nh = skb.networkHeader, b = skb.data
        guard b[nh + 6] == IPProtocol.hopByHop, skb.len >= nh + 48 else { return false }
        let end = min(nh + 40 + (Int(b[nh + 41]) + 1) * 8, skb.len)
        var off = nh + 42
        while off + 1 < end {
            if b[off] == 0 { off += 1; continue }
            if b[off] == IPv6Option.routerAlertType, b[off + 1] == 2, off + 4 <= end { return b.be16(off + 2) == 0 }
            off += Int(b[off + 1]) + 2
        }
        return false
    }
}
