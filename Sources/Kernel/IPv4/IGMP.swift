import Wire

// net/ipv4/igmp.c: the groups sockets join (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP) and the
// IGMPv3 state-change reports a device's joins and leaves send to 224.0.0.22 (recorded:
// scripts/record_mc_join.sh), and the answer to general queries (scripts/record_mc_query.sh).
extension Stack {
    /// IGMPV3_ALL_MCR, where IGMPv3 reports go.
    static let igmpv3AllRouters = IPv4Address(224, 0, 0, 22)
    /// net.ipv4.igmp_max_memberships' default.
    static let igmpMaxMemberships = 20

    /// `ip_mc_join_group` on socket `id`: the group must be multicast (EINVAL); its device is the
    /// one `device` names, else the one holding `address`, else the device of the route to the
    /// group (none: ENODEV, ip_mc_find_dev); the socket in it there already: EADDRINUSE; past
    /// igmp_max_memberships (20): ENOBUFS. A device new to the group reports it. Answers the
    /// errno or nil (`dryRun`: changes nothing).
    public func ip_mc_join_group(socket id: Int, group: IPv4Address, address: IPv4Address?, device: Int?, dryRun: Bool = false) -> String? {
        guard let sk = sockets.byID[id] else { return "EBADF" }
        if sk.config.proto == .tcp { return "EPROTO" }
        guard group.isMulticast else { return "EINVAL" }
        guard let dev = ip_mc_find_dev(group: group, address: address, device: device) else { return "ENODEV" }
        let m = Membership(group: .v4(group), dev: devices[dev].name)
        if sk.config.memberships.contains(m) { return "EADDRINUSE" }
        if sk.config.memberships.filter({ if case .v4 = $0.group { true } else { false } }).count >= Stack.igmpMaxMemberships { return "ENOBUFS" }
        if dryRun { return nil }
        sk.config.memberships.append(m)
        mc_inc_group(dev, .v4(group), reported: true)
        return nil
    }

    /// `ip_mc_leave_group`: the socket's membership of the group on that device (found as a join
    /// finds it), else EADDRNOTAVAIL; the device's last one leaving reports it.
    public func ip_mc_leave_group(socket id: Int, group: IPv4Address, address: IPv4Address?, device: Int?, dryRun: Bool = false) -> String? {
        guard let sk = sockets.byID[id] else { return "EBADF" }
        guard group.isMulticast else { return "EINVAL" }
        let dev = ip_mc_find_dev(group: group, address: address, device: device)
        if dev == nil && address == nil && device == nil { return "ENODEV" }
        guard let dev, let k = sk.config.memberships.firstIndex(of: Membership(group: .v4(group), dev: devices[dev].name)) else { return "EADDRNOTAVAIL" }
        if dryRun { return nil }
        sk.config.memberships.remove(at: k)
        mc_dec_group(dev, .v4(group), reported: true)
        return nil
    }

    /// `ip_mc_find_dev`: by index, else the device holding the address, else the route's.
    private func ip_mc_find_dev(group: IPv4Address, address: IPv4Address?, device: Int?) -> Int? {
        if let device { return devices.indices.contains(device) ? device : nil }
        if let address, address != .any { return devices.firstIndex { d in d.config.addresses.contains { $0.address == address } } }
        return routeOutput(group)?.dev
    }

    /// `ip_check_mc_rcu`: the device is in the group (224.0.0.1 it always is).
    @inline(__always) func ip_check_mc(_ dev: Int, _ group: IPv4Address) -> Bool {
        group == IPv4Address(224, 0, 0, 1) || igmpGroups[dev].contains(UInt128(group.raw))
    }

    /// `igmpv3_send_cr`: one report of the change records owed (left groups, then joined ones),
    /// from the device's address to 224.0.0.22: TTL 1, TOS 0xc0, DF and IP ID 0, a router alert
    /// option; through LOCAL_OUT like anything the host sends. Nothing when none is owed.
    func igmpv3_send_cr(_ dev: Int) {
        igmpv3_sendpack(dev, igmpGroups[dev].changeRecords())
    }

    /// `igmpv3_send_report(in_dev, NULL)`: the answer to a general query, each group the device
    /// is in but all-hosts as MODE_IS_EXCLUDE (2) with no sources, newest first.
    /// With `only`, a group-specific query's answer: that group's record alone.
    func igmpv3_send_report(_ dev: Int, only: IPv4Address? = nil) {
        let allHosts = UInt128(IPv4Address(224, 0, 0, 1).raw)
        let wanted = only.map { UInt128($0.raw) }
        igmpv3_sendpack(dev, igmpGroups[dev].groups.filter { $0.addr != allHosts && (wanted == nil || $0.addr == wanted) }.map { (2, $0.addr) })
    }

    /// One IGMPv3 report of `records`; nothing when there are none.
    private func igmpv3_sendpack(_ dev: Int, _ records: [(type: UInt8, addr: UInt128)]) {
        guard !records.isEmpty else { return }
        let total = 24 + 8 + 8 * records.count, src = inet_select_addr(dev, Stack.igmpv3AllRouters)
        var b = [UInt8](repeating: 0, count: 14 + total)
        b[14] = 0x46; b[15] = 0xc0; b.setBE16(16, UInt16(total)); b.setBE16(20, 0x4000); b[22] = 1; b[23] = 2
        b.setBE32(26, src.raw); b.setBE32(30, Stack.igmpv3AllRouters.raw)
        b[34] = 0x94; b[35] = 4   // IPOPT_RA, "examine this packet"
        b.setBE16(24, Checksum.compute(b, from: 14, count: 24))
        b[38] = 0x22   // IGMPV3_HOST_MEMBERSHIP_REPORT
        b.setBE16(44, UInt16(records.count))
        for (i, r) in records.enumerated() {
            b[46 + 8 * i] = r.type
            b.setBE32(46 + 8 * i + 4, UInt32(truncatingIfNeeded: r.addr))
        }
        b.setBE16(40, Checksum.compute(b, from: 38, count: total - 24))
        let skb = timerSkb(b, dev: dev, protocolType: EtherType.ipv4, transportHeader: 38)
        ip_local_out(skb, route: (dev, Stack.igmpv3AllRouters, src))
    }

    /// `igmp_rcv`: the header and its checksum (else dropped), then by type: a query goes to
    /// igmp_heard_query, a v1/v2 report for a group the host is in would cancel its own (no such
    /// timer here); an IGMPv3 report, leave or anything else is freed as a drop, as the kernel
    /// frees it.
    func igmp_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.igmp_rcv, skb)
        let th = skb.transportHeader, len = skb.len - th
        guard len >= 8 else { return drop(.NOT_SPECIFIED, "\(len) bytes cannot hold an IGMP header") }
        if skb.ipSummed != .unnecessary, Checksum.compute(skb.data, from: th, count: len) != 0 {
            return drop(.NOT_SPECIFIED, "IGMP checksum does not verify")
        }
        switch skb.data[th] {
        case 0x11: return igmp_heard_query(skb, len: len)
        case 0x12, 0x16: return consume("an IGMPv\(skb.data[th] == 0x12 ? 1 : 2) report from another host")
        default: return drop(.NOT_SPECIFIED, "IGMP type 0x\(String(skb.data[th], radix: 16)): nothing for a host to do")
        }
    }

    /// `igmp_heard_query` for an IGMPv3 query (12 bytes or more, no sources): a general one
    /// (group 0) is answered with the current-state report, a group-specific one with the group's
    /// own, within the maximum response delay (IGMPV3_MRC, tenths of a second). IGMPv1/v2 queries
    /// (8 bytes: the v1/v2 compatibility modes) are not modelled yet; shorter ones are dropped.
    private func igmp_heard_query(_ skb: SkBuff, len: Int) -> PathEnd {
        let th = skb.transportHeader, b = skb.data
        if len == 8 { return consume("not modelled yet: an IGMPv\(b[th + 1] == 0 ? 1 : 2) query (the host's v1/v2 compatibility mode)") }
        guard len >= 12 else { return drop(.NOT_SPECIFIED, "an IGMP query of \(len) bytes") }
        let code = UInt64(b[th + 1])
        let mrc = code < 128 ? code : (code & 0x0f | 0x10) << ((code >> 4 & 0x07) + 3)   // IGMPV3_MRC
        let maxDelay = max(mrc * 25, 1)   // HZ / IGMP_TIMER_SCALE jiffies each
        let group = IPv4Address(raw: b.be32(th + 4))
        guard b.be16(th + 10) == 0 else { return consume("not modelled yet: a query with sources (source filters are not modelled)") }
        if group != .any {
            // A group-specific query: that group's own report, if the device is in it.
            guard group != IPv4Address(224, 0, 0, 1), igmpGroups[skb.dev].contains(UInt128(group.raw)) else { return consume("a query for \(group): not a group the device reports") }
            mc_group_queried(skb.dev, v6: false, group: UInt128(group.raw), maxDelayJiffies: maxDelay)
            return consume("IGMPv3 query for \(group): its report within \(maxDelay * 4) ms")
        }
        mc_gq_start_timer(skb.dev, v6: false, maxDelayJiffies: maxDelay)
        return consume("IGMPv3 general query: the current-state report within \(maxDelay * 4) ms")
    }
}
