import Wire

/// Route types as `ip route` prints them (RTN_*).
public enum RouteType: String, Sendable {
    case unicast, local, broadcast, unreachable
}

/// Who installed a route (`proto` in `ip route`).
/// `ra`: learned from a router advertisement (IPv6).
public enum RouteProto: String, Sendable { case kernel, `static`, ra }

/// One entry of the forwarding information base.
public struct FIBEntry: Sendable, Equatable {
    public var prefix: IPv4CIDR
    public var type: RouteType
    public var gateway: IPv4Address?
    public var dev: Int
    public var metric: Int
    /// `kernel` for routes derived from addresses, `static` for configured ones.
    public var proto: RouteProto
    /// The routing table it is in (RT_TABLE_LOCAL 255, RT_TABLE_MAIN 254, or another `ip rule` looks up).
    public var table: Int = FIB.main
    /// `iif lo` of a policy rule and of output lookups (LOOPBACK_IFINDEX: what the stack itself
    /// sends); routes through `lo` name its device, the last of the stack's.
    public static let loopback = -1
    /// 127.0.0.0/8, which `lo`'s address gives the local table as a local route (fib_add_ifaddr).
    public static let loopbackNet = IPv4CIDR(address: IPv4Address(127, 0, 0, 0), prefixLength: 8)
}

/// The local and main tables: local/broadcast entries for our addresses, connected prefixes, static routes.
/// Lookup is longest prefix first, then lowest metric; the local table is consulted first, as in Linux.
/// A class, built whole and never changed after: a struct held by the stack was copied (its tables
/// retained and released) for every lookup.
public final class FIB: @unchecked Sendable {
    public private(set) var local: [FIBEntry] = []
    public private(set) var main: [FIBEntry] = []
    /// The local table by address, for the per-packet lookups.
    private var localIndex = IntMap<Int>()

    /// RT_TABLE_DEFAULT, RT_TABLE_MAIN, RT_TABLE_LOCAL.
    public static let defaultTable = 253, main = 254, local = 255
    /// Tables other than local and main, by id (routes given `table`).
    public private(set) var tables: [Int: [FIBEntry]] = [:]
    /// The policy rules in the order they are tried: the user's with the three a kernel starts
    /// with (0 local, 32766 main, 32767 default); empty while the user has none.
    public private(set) var rules: [FIBRule] = []
    /// The rules a kernel starts with: 0 lookup local, 32766 lookup main, 32767 lookup default.
    public static let defaultRules = [FIBRule(priority: 0, table: local), FIBRule(priority: 32766, table: main), FIBRule(priority: 32767, table: defaultTable)]

    /// `lo`'s device index: after the configured devices.
    public let lo: Int

    public init(devices: [DeviceConfig], routes: [RouteConfig], rules: [RuleConfig] = []) throws(ConfigError) {
        lo = devices.count
        // lo's 127.0.0.1/8 (fib_add_ifaddr on IFF_LOOPBACK): the prefix is a local route too.
        let host = IPv4Address(127, 0, 0, 1)
        local = [FIBEntry(prefix: FIBEntry.loopbackNet, type: .local, gateway: nil, dev: lo, metric: 0, proto: .kernel, table: FIB.local),
                 FIBEntry(prefix: IPv4CIDR(address: host, prefixLength: 32), type: .local, gateway: nil, dev: lo, metric: 0, proto: .kernel, table: FIB.local),
                 FIBEntry(prefix: IPv4CIDR(address: IPv4Address(127, 255, 255, 255), prefixLength: 32), type: .broadcast, gateway: nil, dev: lo, metric: 0, proto: .kernel, table: FIB.local)]
        for (i, d) in devices.enumerated() {
            for a in d.addresses {
                local.append(FIBEntry(prefix: IPv4CIDR(address: a.address, prefixLength: 32), type: .local, gateway: nil, dev: i, metric: 0, proto: .kernel, table: FIB.local))
                if a.prefixLength < 31 {
                    local.append(FIBEntry(prefix: IPv4CIDR(address: a.broadcast, prefixLength: 32), type: .broadcast, gateway: nil, dev: i, metric: 0, proto: .kernel, table: FIB.local))
                }
                main.append(FIBEntry(prefix: IPv4CIDR(address: a.network, prefixLength: a.prefixLength), type: .unicast, gateway: nil, dev: i, metric: 0, proto: .kernel))
            }
        }
        for (i, e) in local.enumerated() where e.prefix.prefixLength == 32 && localIndex[UInt64(e.prefix.address.raw)] == nil { localIndex[UInt64(e.prefix.address.raw)] = i }
        for (k, r) in routes.enumerated() {
            // `lo` only as a local route's device: what goes through lo comes back to this stack.
            guard let dev = r.dev == "lo" && r.type == .local ? lo : devices.firstIndex(where: { $0.name == r.dev }) else {
                throw ConfigError(path: "/routes/\(k)/dev", message: r.dev == "lo" ? "not supported yet: routes through lo other than local ones" : "no device named \(r.dev)")
            }
            if r.type == .local, r.via != nil { throw ConfigError(path: "/routes/\(k)/via", message: "a local route has no gateway") }
            if let gw = r.via, !main.contains(where: { $0.dev == dev && $0.gateway == nil && $0.prefix.contains(gw) }) {
                throw ConfigError(path: "/routes/\(k)/via", message: "gateway \(gw) is not on a connected network of \(r.dev) (Nexthop has invalid gateway)")
            }
            let e = FIBEntry(prefix: IPv4CIDR(address: r.dst.network, prefixLength: r.dst.prefixLength), type: r.type,
                             gateway: r.via, dev: dev, metric: r.metric, proto: .static, table: r.table)
            if r.table == FIB.main { main.append(e) } else { tables[r.table, default: []].append(e) }
        }
        guard !rules.isEmpty else { return }
        var all = [FIB.defaultRules[0]]
        for (k, r) in rules.enumerated() {
            var iif: Int? = nil
            if let name = r.iif {
                guard let d = name == "lo" ? FIBEntry.loopback : devices.firstIndex(where: { $0.name == name }) else {
                    throw ConfigError(path: "/rules/\(k)/iif", message: "no device named \(name)")
                }
                iif = d
            }
            all.append(FIBRule(priority: r.priority, from: r.from, to: r.to, fwmark: r.fwmark, fwmask: r.fwmask, iif: iif, table: r.table,
                               invert: r.invert, suppressPrefixLength: r.suppressPrefixLength))
        }
        all += FIB.defaultRules.dropFirst()
        // Equal priorities keep the order they were added in (fib_nl_newrule inserts after them).
        self.rules = all.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
    }

    /// `fib_lookup`: without `ip rule`s of the user's (fib_has_custom_rules), the local table, the
    /// main one, then the default one; with them, each rule in priority order whose selectors match looks its table
    /// up, and the first table with a route answers (`fib_rules_lookup`). In a table: the
    /// longest prefix, then the lowest metric. `mark` is the flow's (skb->mark on input, the
    /// socket's on output); `iif` the device it came in on (loopback for what the stack sends).
    @inline(__always)
    /// `oif`: only routes through that device (fib_table_lookup's flowi4_oif test, a socket
    /// bound to a device).
    public func lookup(_ dst: IPv4Address, src: IPv4Address = .any, mark: UInt32 = 0, iif: Int = FIBEntry.loopback, oif: Int? = nil) -> FIBEntry? {
        // Our own addresses without rules: the per-packet case, kept small enough to inline.
        if rules.isEmpty, oif == nil, let i = localIndex[UInt64(dst.raw)] { return local[i] }
        return lookupTables(dst, src: src, mark: mark, iif: iif, oif: oif)
    }

    private func lookupTables(_ dst: IPv4Address, src: IPv4Address, mark: UInt32, iif given: Int, oif: Int?) -> FIBEntry? {
        // What came in on lo (a looped packet routed again) is `iif lo` as what the stack sends is.
        let iif = given == lo ? FIBEntry.loopback : given
        let own = (localIndex[UInt64(dst.raw)].map { local[$0] } ?? localPrefix(dst)).flatMap { oif == nil || $0.dev == oif ? $0 : nil }
        guard !rules.isEmpty else { return own ?? FIB.longest(main, dst, oif) ?? tables[FIB.defaultTable].flatMap { FIB.longest($0, dst, oif) } }
        for r in rules where r.matches(dst: dst, src: src, mark: mark, iif: iif) {
            let hit: FIBEntry?
            switch r.table {
            case FIB.local: hit = own
            case FIB.main: hit = FIB.longest(main, dst, oif)
            default: hit = FIB.longest(tables[r.table] ?? [], dst, oif)
            }
            // fib4_rule_suppress: too short a prefix goes on to the next rule.
            if let hit, hit.prefix.prefixLength > r.suppressPrefixLength ?? -1 { return hit }
        }
        return nil
    }

    private static func longest(_ entries: [FIBEntry], _ dst: IPv4Address, _ oif: Int? = nil) -> FIBEntry? {
        var best: FIBEntry? = nil
        for e in entries where e.prefix.contains(dst) && (oif == nil || e.dev == oif) {
            if let b = best, b.prefix.prefixLength > e.prefix.prefixLength || (b.prefix.prefixLength == e.prefix.prefixLength && b.metric <= e.metric) { continue }
            best = e
        }
        return best
    }

    /// The local table's one prefix route: 127.0.0.0/8 (its addresses other than 127.0.0.1 and
    /// the broadcast, which the index holds).
    @inline(__always) private func localPrefix(_ a: IPv4Address) -> FIBEntry? { a.isLoopback ? local[0] : nil }

    public func isLocal(_ a: IPv4Address) -> Bool { localType(a) == .local }
    /// The local table's type for an address (local, broadcast), nil for any other.
    public func localType(_ a: IPv4Address) -> RouteType? { localIndex[UInt64(a.raw)].map { local[$0].type } ?? localPrefix(a)?.type }
}

/// One `ip rule`: which flows it selects and the table it looks up (FR_ACT_TO_TBL).
public struct FIBRule: Sendable, Equatable {
    public var priority: Int
    public var from: IPv4CIDR? = nil, to: IPv4CIDR? = nil
    public var fwmark: UInt32? = nil, fwmask: UInt32 = .max
    /// The input device (FIBEntry.loopback: `lo`, what the stack itself sends).
    public var iif: Int? = nil
    public var table: Int
    /// `not` (FIB_RULE_INVERT): the rule selects what its selectors do not.
    public var invert = false
    /// `suppress_prefixlength N`: a route of this prefix length or shorter that the table answers is
    /// passed over, and the next rule tried (fib4_rule_suppress; wg-quick's `suppress_prefixlength 0`).
    public var suppressPrefixLength: Int? = nil

    /// `fib_rule_match` and `fib4_rule_match`: every selector given holds, or with `not` not all do.
    func matches(dst: IPv4Address, src: IPv4Address, mark: UInt32, iif dev: Int) -> Bool {
        selectorsHold(dst: dst, src: src, mark: mark, iif: dev) != invert
    }

    private func selectorsHold(dst: IPv4Address, src: IPv4Address, mark: UInt32, iif dev: Int) -> Bool {
        if let from, !from.contains(src) { return false }
        if let to, !to.contains(dst) { return false }
        if let fwmark, (mark ^ fwmark) & fwmask != 0 { return false }
        if let iif, iif != dev { return false }
        return true
    }
}

extension Stack {
    /// Replaces the static routes (`ip route replace` of the whole main table's static part).
    public func setRoutes(_ routes: [RouteConfig]) throws(ConfigError) {
        fib = try FIB(devices: config.devices, routes: routes, rules: currentRules)
        currentRoutes = routes
    }

    /// Replaces the policy rules (`ip rule`), keeping the routes.
    public func setRules(_ rules: [RuleConfig]) throws(ConfigError) {
        fib = try FIB(devices: config.devices, routes: currentRoutes, rules: rules)
        currentRules = rules
    }
}

/// What `ip route get` answers (inet_rtm_getroute): the route a packet would take, or the error.
public struct RouteGetResult: Sendable, Equatable {
    public var type: RouteType
    public var dst: IPv4Address
    public var gateway: IPv4Address?
    /// The device name (`lo` for a local route).
    public var dev: String
    public var table: Int
    /// The source the stack would pick (output lookups without a source given).
    public var prefsrc: IPv4Address?
    /// RTCF flags `ip` prints under `cache`: local, brd, redirect.
    public var cache: [String]
    /// A path MTU exception: whole seconds left, and its MTU.
    public var expiresSec: Int? = nil
    public var mtu: Int? = nil
}

extension Stack {
    /// `inet_rtm_getroute`: with `iif`, as `ip_route_input` would route a packet from `from` that came
    /// in there (forwarding off: no route to host; back out the same link: the redirect flag); without,
    /// as `ip_route_output_key` routes what the stack sends. The error is as `ip` prints it.
    public func ip_route_get(_ dst: IPv4Address, from: IPv4Address?, iif: Int?, mark: UInt32) -> Result<RouteGetResult, RouteGetError> {
        let src = from ?? .any
        // What the stack sends comes from one of its own addresses (__ip_dev_find).
        if iif == nil, let from, !fib.isLocal(from) { return .failure(RouteGetError(message: "Network is unreachable")) }
        guard let r = fib.lookup(dst, src: src, mark: mark, iif: iif ?? FIBEntry.loopback), r.type != .unreachable else {
            return .failure(RouteGetError(message: iif != nil && !ipForward ? "No route to host" : "Network is unreachable"))
        }
        let dev = r.dev == FIBEntry.loopback || r.type == .local ? "lo" : devices[r.dev].name
        var out = RouteGetResult(type: r.type, dst: dst, gateway: r.type == .unicast ? r.gateway : nil, dev: dev, table: r.table, prefsrc: nil, cache: [])
        switch r.type {
        case .local: out.cache = ["local"]
        case .broadcast: out.cache = ["local", "brd"]
        default: break
        }
        if let iif {
            guard r.type != .unicast || ipForward else { return .failure(RouteGetError(message: "No route to host")) }
            if r.type == .unicast, r.dev == iif, sysctl(.send_redirects) != 0,
               devices[iif].config.addresses.contains(where: { $0.contains(src) && $0.contains(r.gateway ?? dst) }) {
                out.cache = ["redirect"]
            }
        } else if from == nil {
            out.prefsrc = r.type == .local ? localRouteSource(r, dst) : r.type == .broadcast ? inet_select_addr(r.dev, dst) : inet_select_addr(r.dev, r.gateway ?? dst)
        }
        // What the stack sends follows a learnt path MTU: ip shows it with the time it has left
        // (`cache expires 99sec mtu lock 1000`; recorded: scripts/record_route_sysctls.sh).
        let now = lastWorkNs
        if iif == nil, r.type == .unicast, let e = pmtuException(dst, now: now) {
            out.expiresSec = Int((e.expires - now) / 1_000_000_000)
            out.mtu = e.mtu
        }
        return .success(out)
    }
}

public struct RouteGetError: Error, Sendable, Equatable {
    public var message: String
}
