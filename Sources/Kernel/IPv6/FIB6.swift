import Wire

/// One IPv6 route as `ip -6 route show table all` lists it.
public struct FIB6Entry: Sendable, Equatable {
    public var prefix: IPv6CIDR
    /// `local` for our addresses (and, when forwarding, the subnet-router anycast addresses), else `unicast`.
    public var type: RouteType
    public var gateway: IPv6Address?
    public var dev: Int
    public var metric: Int
    public var proto: RouteProto
    /// The routing table it is in (local, main, or another an `ip -6 rule` looks up).
    public var table: Int = FIB.main
}

/// The IPv6 local and main tables (net/ipv6/route.c, ip6_fib.c): our addresses, connected /64s,
/// `fe80::/64` on every device, static routes; longest prefix first, then lowest metric.
/// Link-local destinations only match routes of the device the lookup is scoped to.
/// A class, built whole and never changed after (see FIB).
public final class FIB6: @unchecked Sendable {
    public private(set) var local: [FIB6Entry] = []
    public private(set) var main: [FIB6Entry] = []
    /// Each device's addresses, link-local first, with their prefix lengths.
    public private(set) var addresses: [[IPv6CIDR]] = []
    /// Multicast groups each device has joined (all-nodes, solicited-node, and all-routers when forwarding).
    public private(set) var groups: [Set<IPv6Address>] = []
    /// The same, in the order the device joined them (an MLD current-state report lists them newest first).
    private(set) var joinOrder: [[IPv6Address]] = []
    /// Tables other than local and main, by id (routes given `table`).
    public private(set) var tables: [Int: [FIB6Entry]] = [:]
    /// The policy rules in the order they are tried: the user's with the two an IPv6 stack starts
    /// with (0 local, 32766 main: no default table, unlike IPv4); empty while the user has none.
    public private(set) var rules: [FIB6Rule] = []
    public static let defaultRules = [FIB6Rule(priority: 0, table: FIB.local), FIB6Rule(priority: 32766, table: FIB.main)]
    private var localIndex: [IPv6Address: Int] = [:]
    /// The local addresses in a flat list: a handful on a host, so a scan beats hashing 16 bytes.
    private var localRaw: [UInt128] = []

    /// The EUI-64 link-local address of a MAC (RFC 4291 appendix A): U/L bit flipped, ff:fe in the middle.
    public static func linkLocal(_ mac: MACAddress) -> IPv6Address {
        let m = mac.array
        var r: UInt128 = 0xfe80 << 112
        for (k, b) in [m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]].enumerated() { r |= UInt128(b) << UInt128(56 - 8 * k) }
        return IPv6Address(raw: r)
    }

    public init() {}

    /// `learned`: what router advertisements taught (addrconf): per device, SLAAC addresses, and
    /// routes (default routers and on-link prefixes).
    public init(devices: [DeviceConfig], routes: [Route6Config], rules: [Rule6Config] = [], forwarding: Bool, learned: RALearned = RALearned()) throws(ConfigError) {
        for (i, d) in devices.enumerated() {
            let ll = IPv6CIDR(address: FIB6.linkLocal(d.mac), prefixLength: 64)
            let slaac = learned.addresses.filter { $0.dev == i && !d.addresses6.contains($0.cidr) }.map(\.cidr)
            let mine = [ll] + d.addresses6 + slaac
            addresses.append(mine)
            var g: Set<IPv6Address> = [], order: [IPv6Address] = []
            func join(_ a: IPv6Address) { if g.insert(a).inserted { order.append(a) } }
            join(IPv6Address(raw: 0xff01 << 112 | 1)); join(.allNodes)
            if forwarding { [.allRouters, IPv6Address(raw: 0xff01 << 112 | 2), IPv6Address(raw: 0xff05 << 112 | 2)].forEach(join) }
            for a in mine {
                local.append(FIB6Entry(prefix: IPv6CIDR(address: a.address, prefixLength: 128), type: .local, gateway: nil, dev: i, metric: 0, proto: .kernel))
                join(a.address.solicitedNode)
                if a.prefixLength < 128 && !(a.address.isLinkLocal && main.contains { $0.dev == i && $0.prefix == IPv6CIDR(address: a.network, prefixLength: a.prefixLength) }) {
                    main.append(FIB6Entry(prefix: IPv6CIDR(address: a.network, prefixLength: a.prefixLength), type: .unicast, gateway: nil, dev: i, metric: 256, proto: .kernel))
                }
                // A router answers for the subnet-router anycast address of each prefix (RFC 4291 2.6.1).
                if forwarding && a.prefixLength < 127 && !a.address.isLinkLocal {
                    local.append(FIB6Entry(prefix: IPv6CIDR(address: a.network, prefixLength: 128), type: .local, gateway: nil, dev: i, metric: 0, proto: .kernel))
                    join(a.network.solicitedNode)
                }
            }
            groups.append(g)
            joinOrder.append(order)
        }
        // lo (after the configured devices): ::1, a local route only (`local ::1 dev lo table local`).
        let lo = devices.count
        addresses.append([IPv6CIDR(address: .loopback, prefixLength: 128)])
        groups.append([.allNodes, IPv6Address(raw: 0xff01 << 112 | 1)])
        joinOrder.append([IPv6Address(raw: 0xff01 << 112 | 1), .allNodes])
        local.append(FIB6Entry(prefix: IPv6CIDR(address: .loopback, prefixLength: 128), type: .local, gateway: nil, dev: lo, metric: 0, proto: .kernel))
        for (i, e) in local.enumerated() where localIndex[e.prefix.address] == nil || e.prefix.address.isLinkLocal { localIndex[e.prefix.address] = i }
        localRaw = local.map(\.prefix.address.raw)
        for (k, r) in routes.enumerated() {
            // An unreachable route goes nowhere: `ip` lists it on lo.
            guard let dev = r.type == .unreachable ? lo : devices.firstIndex(where: { $0.name == r.dev }) else {
                throw ConfigError(path: "/routes6/\(k)/dev", message: "no device named \(r.dev)")
            }
            if let gw = r.via, !gw.isLinkLocal, !main.contains(where: { $0.dev == dev && $0.gateway == nil && $0.prefix.contains(gw) }) {
                throw ConfigError(path: "/routes6/\(k)/via", message: "gateway \(gw) is not on a connected network of \(r.dev) (Nexthop has invalid gateway)")
            }
            let e = FIB6Entry(prefix: IPv6CIDR(address: r.dst.network, prefixLength: r.dst.prefixLength), type: r.type,
                              gateway: r.via, dev: dev, metric: r.metric, proto: .static, table: r.table)
            if r.table == FIB.main { main.append(e) } else { tables[r.table, default: []].append(e) }
        }
        for r in learned.routes where !main.contains(where: { $0.prefix == r.entry.prefix && $0.dev == r.entry.dev && $0.gateway == r.entry.gateway }) {
            main.append(r.entry)
        }
        guard !rules.isEmpty else { return }
        var all = [FIB6.defaultRules[0]]
        for (k, r) in rules.enumerated() {
            var iif: Int? = nil
            if let name = r.iif {
                guard let d = name == "lo" ? FIBEntry.loopback : devices.firstIndex(where: { $0.name == name }) else {
                    throw ConfigError(path: "/rules6/\(k)/iif", message: "no device named \(name)")
                }
                iif = d
            }
            all.append(FIB6Rule(priority: r.priority, from: r.from, to: r.to, fwmark: r.fwmark, fwmask: r.fwmask, iif: iif, table: r.table,
                                invert: r.invert, suppressPrefixLength: r.suppressPrefixLength))
        }
        all.append(FIB6.defaultRules[1])
        // Equal priorities keep the order they were added in (fib_nl_newrule inserts after them).
        self.rules = all.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
    }

    /// `fib6_lookup` for `dst` (scoped to `dev` when link-local). Without `ip -6 rule`s of the
    /// user's: the local table, then the main one. With them, `fib6_rules_lookup`: each rule whose
    /// selectors hold looks its table up, and the first table with a route answers. `src` is nil
    /// when the flow has no source yet (an unbound socket: RT6_LOOKUP_F_HAS_SADDR unset, so a
    /// `from` rule does not select it); `iif` is the input device, lo (FIBEntry.loopback) for
    /// what the stack sends.
    /// `dev` scopes a link-local destination, and any with `strict` (RT6_LOOKUP_F_IFACE: a
    /// socket bound to a device).
    public func lookup(_ dst: IPv6Address, dev: Int? = nil, strict: Bool = false, src: IPv6Address? = nil, mark: UInt32 = 0, iif: Int = FIBEntry.loopback) -> FIB6Entry? {
        let scoped = dst.isLinkLocal || strict ? dev : nil
        guard !rules.isEmpty else {
            if let e = localEntry(dst), scoped == nil || e.dev == scoped { return e }
            return FIB6.longest(main, dst, scoped: scoped)
        }
        // What came in on lo (a looped packet) is `iif lo` as what the stack sends is.
        let iif = iif == lo ? FIBEntry.loopback : iif
        for r in rules where r.matches(dst: dst, src: src, mark: mark, iif: iif) {
            let hit: FIB6Entry?
            switch r.table {
            case FIB.local: hit = localEntry(dst).flatMap { scoped == nil || $0.dev == scoped ? $0 : nil }
            case FIB.main: hit = FIB6.longest(main, dst, scoped: scoped)
            default: hit = FIB6.longest(tables[r.table] ?? [], dst, scoped: scoped)
            }
            // fib6_rule_suppress: too short a prefix goes on to the next rule.
            if let hit, hit.prefix.prefixLength > r.suppressPrefixLength ?? -1 { return hit }
        }
        return nil
    }

    private static func longest(_ entries: [FIB6Entry], _ dst: IPv6Address, scoped: Int?) -> FIB6Entry? {
        var best: FIB6Entry? = nil
        for e in entries where e.prefix.contains(dst) && (scoped == nil || e.dev == scoped) {
            if let b = best, b.prefix.prefixLength > e.prefix.prefixLength || (b.prefix.prefixLength == e.prefix.prefixLength && b.metric <= e.metric) { continue }
            best = e
        }
        return best
    }

    /// lo's device index: after the configured devices.
    private var lo: Int { addresses.count - 1 }

    private func localEntry(_ a: IPv6Address) -> FIB6Entry? {
        let found: Int?
        if localRaw.count <= 16 { found = localRaw.firstIndex(of: a.raw) } else { found = localIndex[a] }
        guard let i = found else { return nil }
        if a.isLinkLocal { return local.first { $0.prefix.address == a } }
        return local[i]
    }

    /// `ipv6_chk_addr`: one of our addresses (a link-local one only on `dev`, when given).
    public func isLocal(_ a: IPv6Address, dev: Int? = nil) -> Bool {
        local.contains { $0.prefix.address == a && (!a.isLinkLocal || dev == nil || $0.dev == dev) }
    }

    /// Whether `a` is configured on `dev` (on any device when nil), not merely an anycast address.
    public func isAssigned(_ a: IPv6Address, dev: Int? = nil) -> Bool {
        guard let dev else { return addresses.contains { $0.contains { $0.address == a } } }
        return addresses.indices.contains(dev) && addresses[dev].contains { $0.address == a }
    }

    /// `ipv6_dev_get_saddr` (RFC 6724, as far as the model needs it): an address of `dev` of the
    /// destination's scope, the longest matching prefix first; else a global one of any device.
    public func sourceAddress(for dst: IPv6Address, dev: Int) -> IPv6Address? {
        guard addresses.indices.contains(dev) else { return nil }
        let wantLinkLocal = dst.isLinkLocal || (dst.isMulticast && dst.multicastScope <= 2)
        let candidates = addresses[dev].filter { $0.address.isLinkLocal == wantLinkLocal }
        if let c = candidates.max(by: { commonPrefix($0.address, dst) < commonPrefix($1.address, dst) }) { return c.address }
        if wantLinkLocal { return nil }
        // A multicast destination takes the outgoing device's addresses only (RFC 6724 section 4).
        if dst.isMulticast { return addresses[dev].first?.address }
        return addresses.joined().first { !$0.address.isLinkLocal && !$0.address.isLoopback }?.address ?? addresses[dev].first?.address
    }

    private func commonPrefix(_ a: IPv6Address, _ b: IPv6Address) -> Int { (a.raw ^ b.raw).leadingZeroBitCount }
}

/// One `ip -6 rule`: which flows it selects and the table it looks up (FR_ACT_TO_TBL).
public struct FIB6Rule: Sendable, Equatable {
    public var priority: Int
    public var from: IPv6CIDR? = nil, to: IPv6CIDR? = nil
    public var fwmark: UInt32? = nil, fwmask: UInt32 = .max
    /// The input device (FIBEntry.loopback: `lo`, what the stack itself sends).
    public var iif: Int? = nil
    public var table: Int
    public var invert = false
    public var suppressPrefixLength: Int? = nil

    /// `fib_rule_match` and `fib6_rule_match`: every selector given holds (a `from` only for a flow
    /// with a source), or with `not` not all do.
    func matches(dst: IPv6Address, src: IPv6Address?, mark: UInt32, iif dev: Int) -> Bool {
        selectorsHold(dst: dst, src: src, mark: mark, iif: dev) != invert
    }

    private func selectorsHold(dst: IPv6Address, src: IPv6Address?, mark: UInt32, iif dev: Int) -> Bool {
        if let iif, iif != dev { return false }
        if let fwmark, (mark ^ fwmark) & fwmask != 0 { return false }
        if let to, !to.contains(dst) { return false }
        if let from, src.map({ !from.contains($0) }) ?? true { return false }
        return true
    }
}

/// What router advertisements taught a host (net/ipv6/addrconf.c, ndisc.c), each until it expires.
public struct RALearned: Sendable {
    public struct Route: Sendable { public var entry: FIB6Entry; public var expiresNs: UInt64 }
    public struct Address: Sendable { public var cidr: IPv6CIDR; public var dev: Int; public var expiresNs: UInt64 }
    public var routes: [Route] = []
    public var addresses: [Address] = []
    public init() {}
}

extension Stack {
    /// Rebuilds FIB6 from the configuration and what router advertisements taught (kept unexpired).
    func rebuildFIB6() {
        ra.routes.removeAll { $0.expiresNs <= clockNs }
        ra.addresses.removeAll { $0.expiresNs <= clockNs }
        if let f = try? FIB6(devices: config.devices, routes: currentRoutes6, rules: currentRules6, forwarding: ipForward6, learned: ra) { fib6 = f }
    }

    /// Replaces the static IPv6 routes (`ip -6 route replace` of the static part of every table).
    public func setRoutes6(_ routes: [Route6Config]) throws(ConfigError) {
        guard !ipv6Disabled else { throw ConfigError(path: "/dst", message: "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1)") }
        fib6 = try FIB6(devices: config.devices, routes: routes, rules: currentRules6, forwarding: ipForward6, learned: ra)
        currentRoutes6 = routes
    }

    /// Replaces the IPv6 policy rules (`ip -6 rule`), keeping the routes.
    public func setRules6(_ rules: [Rule6Config]) throws(ConfigError) {
        guard !ipv6Disabled else { throw ConfigError(path: "/from", message: "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1)") }
        fib6 = try FIB6(devices: config.devices, routes: currentRoutes6, rules: rules, forwarding: ipForward6, learned: ra)
        currentRules6 = rules
    }
    /// `ip -6 neigh`: the neighbour discovery cache.
    public var neighbour6Entries: [NeighbourEntry<IPv6Address>] { neighbours6.all }
    public func addNeighbour6(_ n: Neighbour6Config) -> Bool {
        guard !ipv6Disabled, let dev = devices.firstIndex(where: { $0.name == n.dev }) else { return false }
        neighbours6.setPermanent(n.address, mac: n.mac, dev: dev)
        return true
    }
}
