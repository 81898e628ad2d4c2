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

    public init(devices: [DeviceConfig], routes: [RouteConfig]) throws(ConfigError) {
        for (i, d) in devices.enumerated() {
            for a in d.addresses {
                local.append(FIBEntry(prefix: IPv4CIDR(address: a.address, prefixLength: 32), type: .local, gateway: nil, dev: i, metric: 0, proto: .kernel))
                if a.prefixLength < 31 {
                    local.append(FIBEntry(prefix: IPv4CIDR(address: a.broadcast, prefixLength: 32), type: .broadcast, gateway: nil, dev: i, metric: 0, proto: .kernel))
                }
                main.append(FIBEntry(prefix: IPv4CIDR(address: a.network, prefixLength: a.prefixLength), type: .unicast, gateway: nil, dev: i, metric: 0, proto: .kernel))
            }
        }
        for (i, e) in local.enumerated() where localIndex[UInt64(e.prefix.address.raw)] == nil { localIndex[UInt64(e.prefix.address.raw)] = i }
        for (k, r) in routes.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == r.dev }) else {
                throw ConfigError(path: "/routes/\(k)/dev", message: "no device named \(r.dev)")
            }
            if let gw = r.via, !main.contains(where: { $0.dev == dev && $0.gateway == nil && $0.prefix.contains(gw) }) {
                throw ConfigError(path: "/routes/\(k)/via", message: "gateway \(gw) is not on a connected network of \(r.dev) (Nexthop has invalid gateway)")
            }
            main.append(FIBEntry(prefix: IPv4CIDR(address: r.dst.network, prefixLength: r.dst.prefixLength), type: .unicast,
                                 gateway: r.via, dev: dev, metric: r.metric, proto: .static))
        }
    }

    /// `fib_lookup`: the local table, then the main table, longest prefix then lowest metric.
    public func lookup(_ dst: IPv4Address) -> FIBEntry? {
        if let i = localIndex[UInt64(dst.raw)] { return local[i] }
        var best: FIBEntry? = nil
        for e in main where e.prefix.contains(dst) {
            if let b = best, b.prefix.prefixLength > e.prefix.prefixLength || (b.prefix.prefixLength == e.prefix.prefixLength && b.metric <= e.metric) { continue }
            best = e
        }
        return best
    }

    public func isLocal(_ a: IPv4Address) -> Bool { localIndex[UInt64(a.raw)].map { local[$0].type == .local } ?? false }
    /// The local table's type for an address (local, broadcast), nil for any other.
    public func localType(_ a: IPv4Address) -> RouteType? { localIndex[UInt64(a.raw)].map { local[$0].type } }
}

extension Stack {
    /// Replaces the static routes (`ip route replace` of the whole main table's static part).
    public func setRoutes(_ routes: [RouteConfig]) throws(ConfigError) {
        fib = try FIB(devices: config.devices, routes: routes)
    }
}
