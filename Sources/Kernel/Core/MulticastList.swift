import Wire

// The multicast groups a device is in for one family (in_device's ip_mc_list, inet6_dev's
// ifmcaddr6), with what the state-change reports of IGMPv3 and MLDv2 still owe: each group's
// crcount, the "tombs" of groups left, the interface timer's count (net/ipv4/igmp.c,
// net/ipv6/mcast.c). The groups every device is in by itself (224.0.0.1, ff02::1, solicited-node)
// are not kept here.

/// One family's memberships on one device, addresses as 128-bit numbers (IPv4 in the low 32).
public struct MulticastList: Sendable, Equatable, Codable {
    public struct Group: Sendable, Equatable, Codable {
        var addr: UInt128
        /// Sockets in it; 0 for a tomb.
        var users: Int
        /// How many more state-change reports announce it.
        var crcount: Int
    }
    /// Newest first, as the kernel puts a new group at the head of its list.
    public private(set) var groups: [Group] = []
    /// Groups left whose leaving is still being reported, newest first (mc_tomb).
    public private(set) var tombs: [Group] = []
    /// mr_ifc_count / mc_ifc_count: reports the interface timer still sends.
    var ifcCount = 0
    /// When the armed interface timer fires (nil: none); re-arming it moves `generation` on, so
    /// the queued event of the old one finds itself stale.
    var timerNs: UInt64? = nil
    var generation = 0
    /// The general query timer (mr_gq_timer, mc_gq_work): when this device answers a query.
    var queryNs: UInt64? = nil
    var queryGeneration = 0
    /// Groups a group-specific query asked about, and when each one's own report is due (the
    /// group's timer; a queued event whose time is no longer its group's is stale).
    var groupTimers: [UInt128: UInt64] = [:]

    func contains(_ a: UInt128) -> Bool { groups.contains { $0.addr == a } }
    func users(_ a: UInt128) -> Int { groups.first { $0.addr == a }?.users ?? 0 }

    /// One more user of `a`; true when the device joins it now (the report is owed `qrv` times
    /// when `reported`; a tomb of it is taken back).
    mutating func inc(_ a: UInt128, qrv: Int, reported: Bool) -> Bool {
        if let i = groups.firstIndex(where: { $0.addr == a }) { groups[i].users += 1; return false }
        tombs.removeAll { $0.addr == a }
        groups.insert(Group(addr: a, users: 1, crcount: reported ? qrv : 0), at: 0)
        return true
    }

    /// One user fewer; true when the device leaves it now (its leaving owed `qrv` times when
    /// `reported`).
    mutating func dec(_ a: UInt128, qrv: Int, reported: Bool) -> Bool {
        guard let i = groups.firstIndex(where: { $0.addr == a }) else { return false }
        groups[i].users -= 1
        guard groups[i].users == 0 else { return false }
        groups.remove(at: i)
        if reported { tombs.insert(Group(addr: a, users: 0, crcount: qrv), at: 0) }
        return true
    }

    /// The records of a state-change report (igmpv3_send_cr, mld_send_cr) without source lists:
    /// each left group CHANGE_TO_INCLUDE (3), then each joined one CHANGE_TO_EXCLUDE (4), while
    /// its crcount lasts; a tomb goes when its count is spent.
    mutating func changeRecords() -> [(type: UInt8, addr: UInt128)] {
        var records: [(type: UInt8, addr: UInt128)] = []
        for i in tombs.indices where tombs[i].crcount > 0 {
            records.append((3, tombs[i].addr))
            tombs[i].crcount -= 1
        }
        tombs.removeAll { $0.crcount == 0 }
        for i in groups.indices where groups[i].crcount > 0 {
            records.append((4, groups[i].addr))
            groups[i].crcount -= 1
        }
        return records
    }
}

// What both families share: a device's users of a group, and the interface timer that sends
// its state-change reports (igmp_ifc_event / mld_ifc_event and their timers).
extension Stack {
    /// net.ipv4.igmp_qrv and the MLD robustness variable: each change is reported this many times.
    static let mcQRV = 2
    /// igmpv3_unsolicited_report_interval and mldv2_unsolicited_report_interval: 1 s, in jiffies.
    static let unsolicitedReportJiffies: UInt64 = 250

    private func mcLists(v6: Bool) -> ReferenceWritableKeyPath<Stack, [MulticastList]> { v6 ? \.mldGroups : \.igmpGroups }

    /// `ip_mc_inc_group` / `__ipv6_dev_mc_inc`: one more user of the group on the device; a
    /// device new to it reports the join when `reported` (a document's memberships are not).
    func mc_inc_group(_ dev: Int, _ group: SockAddr, reported: Bool) {
        switch group {
        case .v4(let a):
            let report = reported && a != IPv4Address(224, 0, 0, 1)
            if igmpGroups[dev].inc(UInt128(a.raw), qrv: Stack.mcQRV, reported: report), report { mc_ifc_event(dev, v6: false) }
        case .v6(let a):
            let report = reported && mld_reports(dev, a)
            if mldGroups[dev].inc(a.raw, qrv: Stack.mcQRV, reported: report), report { mc_ifc_event(dev, v6: true) }
        }
    }

    /// `ip_mc_dec_group` / `__ipv6_dev_mc_dec`: one user fewer; the device's leaving reported.
    func mc_dec_group(_ dev: Int, _ group: SockAddr, reported: Bool) {
        switch group {
        case .v4(let a):
            let report = reported && a != IPv4Address(224, 0, 0, 1)
            if igmpGroups[dev].dec(UInt128(a.raw), qrv: Stack.mcQRV, reported: report), report { mc_ifc_event(dev, v6: false) }
        case .v6(let a):
            let report = reported && mld_reports(dev, a)
            if mldGroups[dev].dec(a.raw, qrv: Stack.mcQRV, reported: report), report { mc_ifc_event(dev, v6: true) }
        }
    }

    /// `ip_mc_drop_socket` / `ipv6_sock_mc_close`: a closing socket leaves its groups.
    func mc_drop_socket(_ sk: Sock) {
        for m in sk.config.memberships {
            if let dev = devices.firstIndex(where: { $0.name == m.dev }) { mc_dec_group(dev, m.group, reported: true) }
        }
        sk.config.memberships = []
    }

    /// `igmp_ifc_event` / `mld_ifc_event`: the device owes qrv reports, the first 2 jiffies on.
    private func mc_ifc_event(_ dev: Int, v6: Bool) {
        self[keyPath: mcLists(v6: v6)][dev].ifcCount = Stack.mcQRV
        mc_ifc_start_timer(dev, v6: v6, below: 1)
    }

    /// `igmp_ifc_start_timer` / `mld_ifc_start_work`: a random count of jiffies below `below`,
    /// plus 2, on the timer wheel; an armed timer is moved (mod_timer).
    private func mc_ifc_start_timer(_ dev: Int, v6: Bool, below: UInt64) {
        let tv = below > 1 ? random.next() % below : 0   // get_random_u32_below
        let at = timerWheelExpiry(afterNs: (tv + 2) * Stack.jiffyNs)
        let kp = mcLists(v6: v6)
        self[keyPath: kp][dev].generation += 1
        self[keyPath: kp][dev].timerNs = at
        schedule(at, .mcIfcTimer(device: dev, v6: v6, generation: self[keyPath: kp][dev].generation))
    }

    /// `igmp_ifc_timer_expire` / `mld_ifc_work`: the report owed, then the timer again a random
    /// part of a second later while the count lasts (IGMP re-arms once more for nothing).
    func mc_ifc_timer_expire(device dev: Int, v6: Bool, generation: Int) {
        let kp = mcLists(v6: v6)
        guard self[keyPath: kp][dev].generation == generation, self[keyPath: kp][dev].timerNs != nil else { return }
        self[keyPath: kp][dev].timerNs = nil
        if v6 { mld_send_cr(dev) } else { igmpv3_send_cr(dev) }
        guard self[keyPath: kp][dev].ifcCount > 0 else { return }
        self[keyPath: kp][dev].ifcCount -= 1
        if !v6 || self[keyPath: kp][dev].ifcCount > 0 { mc_ifc_start_timer(dev, v6: v6, below: Stack.unsolicitedReportJiffies) }
    }

    /// A general query heard (igmp_gq_start_timer, mld_gq_start_work): the current-state report
    /// a random count of jiffies below the query's maximum response delay, plus 2, on (IGMP keeps
    /// a sooner answer already due; MLD moves it).
    func mc_gq_start_timer(_ dev: Int, v6: Bool, maxDelayJiffies: UInt64) {
        let kp = mcLists(v6: v6)
        let at = timerWheelExpiry(afterNs: (random.next() % maxDelayJiffies + 2) * Stack.jiffyNs)
        if !v6, let due = self[keyPath: kp][dev].queryNs, at >= due { return }
        self[keyPath: kp][dev].queryGeneration += 1
        self[keyPath: kp][dev].queryNs = at
        schedule(at, .mcQueryTimer(device: dev, v6: v6, generation: self[keyPath: kp][dev].queryGeneration))
    }

    /// A group-specific query heard (igmp_mod_timer, igmp6_group_queried): the group's own report
    /// a random count of jiffies below the query's delay on (IGMP adds 2), unless one is already
    /// due within the delay.
    func mc_group_queried(_ dev: Int, v6: Bool, group: UInt128, maxDelayJiffies: UInt64) {
        let kp = mcLists(v6: v6)
        if let due = self[keyPath: kp][dev].groupTimers[group], due <= clockNs &+ maxDelayJiffies * Stack.jiffyNs { return }
        let at = timerWheelExpiry(afterNs: (random.next() % maxDelayJiffies + (v6 ? 0 : 2)) * Stack.jiffyNs)
        self[keyPath: kp][dev].groupTimers[group] = at
        schedule(at, .mcGroupTimer(device: dev, v6: v6, group: group))
    }

    /// `igmp_timer_expire` / `mld_mca_work`: the group's current-state report, one record.
    func mc_group_timer_expire(device dev: Int, v6: Bool, group: UInt128, at t: UInt64) {
        let kp = mcLists(v6: v6)
        guard self[keyPath: kp][dev].groupTimers[group] == t else { return }
        self[keyPath: kp][dev].groupTimers[group] = nil
        if v6 { mld_send_report(dev, only: IPv6Address(raw: group)) } else { igmpv3_send_report(dev, only: IPv4Address(raw: UInt32(truncatingIfNeeded: group))) }
    }

    /// `igmp_gq_timer_expire` / `mld_gq_work`: the current-state report (every group the device
    /// reports, MODE_IS_EXCLUDE) in one message.
    func mc_gq_timer_expire(device dev: Int, v6: Bool, generation: Int) {
        let kp = mcLists(v6: v6)
        guard self[keyPath: kp][dev].queryGeneration == generation, self[keyPath: kp][dev].queryNs != nil else { return }
        self[keyPath: kp][dev].queryNs = nil
        if v6 { mld_send_report(dev) } else { igmpv3_send_report(dev) }
    }
}
