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
    public init(devices: [DeviceConfig], routes: [Route6Config], forwarding: Bool, learned: RALearned = RALearned()) throws(ConfigError) {
        for (i, d) in devices.enumerated() {
            let ll = IPv6CIDR(address: FIB6.linkLocal(d.mac), prefixLength: 64)
            let slaac = learned.addresses.filter { $0.dev == i && !d.addresses6.contains($0.cidr) }.map(\.cidr)
            let mine = [ll] + d.addresses6 + slaac
            addresses.append(mine)
            var g: Set<IPv6Address> = [.allNodes, IPv6Address(raw: 0xff01 << 112 | 1)]
            if forwarding { g.formUnion([.allRouters, IPv6Address(raw: 0xff01 << 112 | 2), IPv6Address(raw: 0xff05 << 112 | 2)]) }
            for a in mine {
                local.append(FIB6Entry(prefix: IPv6CIDR(address: a.address, prefixLength: 128), type: .local, gateway: nil, dev: i, metric: 0, proto: .kernel))
                g.insert(a.address.solicitedNode)
                if a.prefixLength < 128 && !(a.address.isLinkLocal && main.contains { $0.dev == i && $0.prefix == IPv6CIDR(address: a.network, prefixLength: a.prefixLength) }) {
                    main.append(FIB6Entry(prefix: IPv6CIDR(address: a.network, prefixLength: a.prefixLength), type: .unicast, gateway: nil, dev: i, metric: 256, proto: .kernel))
                }
                // A router answers for the subnet-router anycast address of each prefix (RFC 4291 2.6.1).
                if forwarding && a.prefixLength < 127 && !a.address.isLinkLocal {
                    local.append(FIB6Entry(prefix: IPv6CIDR(address: a.network, prefixLength: 128), type: .local, gateway: nil, dev: i, metric: 0, proto: .kernel))
                    g.insert(a.network.solicitedNode)
                }
            }
            groups.append(g)
        }
        // lo (after the configured devices): ::1, a local route only (`local ::1 dev lo table local`).
        let lo = devices.count
        addresses.append([IPv6CIDR(address: .loopback, prefixLength: 128)])
        groups.append([.allNodes, IPv6Address(raw: 0xff01 << 112 | 1)])
        local.append(FIB6Entry(prefix: IPv6CIDR(address: .loopback, prefixLength: 128), type: .local, gateway: nil, dev: lo, metric: 0, proto: .kernel))
        for (i, e) in local.enumerated() where localIndex[e.prefix.address] == nil || e.prefix.address.isLinkLocal { localIndex[e.prefix.address] = i }
        localRaw = local.map(\.prefix.address.raw)
        for (k, r) in routes.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == r.dev }) else {
                throw ConfigError(path: "/routes6/\(k)/dev", message: "no device named \(r.dev)")
            }
            if let gw = r.via, !gw.isLinkLocal, !main.contains(where: { $0.dev == dev && $0.gateway == nil && $0.prefix.contains(gw) }) {
                throw ConfigError(path: "/routes6/\(k)/via", message: "gateway \(gw) is not on a connected network of \(r.dev) (Nexthop has invalid gateway)")
            }
            main.append(FIB6Entry(prefix: IPv6CIDR(address: r.dst.network, prefixLength: r.dst.prefixLength), type: .unicast,
                                  gateway: r.via, dev: dev, metric: r.metric, proto: .static))
        }
        for r in learned.routes where !main.contains(where: { $0.prefix == r.entry.prefix && $0.dev == r.entry.dev && $0.gateway == r.entry.gateway }) {
            main.append(r.entry)
        }
    }

    /// `fib6_lookup` for `dst` (scoped to `dev` when link-local): the local table, then the main table.
    public func lookup(_ dst: IPv6Address, dev: Int? = nil) -> FIB6Entry? {
        let scoped = dst.isLinkLocal ? dev : nil
        if let e = localEntry(dst), scoped == nil || e.dev == scoped { return e }
        var best: FIB6Entry? = nil
        for e in main where e.prefix.contains(dst) && (scoped == nil || e.dev == scoped) {
            if let b = best, b.prefix.prefixLength > e.prefix.prefixLength || (b.prefix.prefixLength == e.prefix.prefixLength && b.metric <= e.metric) { continue }
            best = e
        }
        return best
    }

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
        if let f = try? FIB6(devices: config.devices, routes: currentRoutes6, forwarding: ipForward6, learned: ra) { fib6 = f }
    }

    /// Replaces the static IPv6 routes (`ip -6 route replace` of the main table's static part).
    public func setRoutes6(_ routes: [Route6Config]) throws(ConfigError) {
        guard !ipv6Disabled else { throw ConfigError(path: "/dst", message: "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1)") }
        fib6 = try FIB6(devices: config.devices, routes: routes, forwarding: ipForward6, learned: ra)
        currentRoutes6 = routes
    }
    /// `ip -6 neigh`: the neighbour discovery cache.
    public var neighbour6Entries: [NeighbourEntry<IPv6Address>] { neighbours6.all }
    public func addNeighbour6(_ n: Neighbour6Config) -> Bool {
        guard !ipv6Disabled, let dev = devices.firstIndex(where: { $0.name == n.dev }) else { return false }
        neighbours6.setPermanent(n.address, mac: n.mac, dev: dev)
        return true
    }
}
