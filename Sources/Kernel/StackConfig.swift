import Wire

/// A device as configured: Linux's `ip link`/`ip addr` facts that matter to the packet path.
public struct DeviceConfig: Sendable, Equatable {
    public var name: String
    public var mac: MACAddress
    public var addresses: [IPv4CIDR]
    public var mtu: Int
    public var rxQueues: Int
    public var ringSize: Int

    public init(name: String, mac: MACAddress, addresses: [IPv4CIDR] = [], mtu: Int = 1500, rxQueues: Int = 1, ringSize: Int = 256) {
        self.name = name; self.mac = mac; self.addresses = addresses; self.mtu = mtu
        self.rxQueues = rxQueues; self.ringSize = ringSize
    }
}

/// A static route as `ip route add DST [via GW] dev DEV [metric N]`.
public struct RouteConfig: Sendable, Equatable {
    public var dst: IPv4CIDR
    public var via: IPv4Address?
    public var dev: String
    public var metric: Int
    public init(dst: IPv4CIDR, via: IPv4Address? = nil, dev: String, metric: Int = 0) {
        self.dst = dst; self.via = via; self.dev = dev; self.metric = metric
    }
}

/// Everything a stack is built from; stored as given and rebuilt at start-up.
public struct StackConfig: Sendable, Equatable {
    public var name: String
    public var cpus: Int
    public var devices: [DeviceConfig]
    public var routes: [RouteConfig]
    /// Linux sysctl names, e.g. `net.ipv4.ip_forward`.
    public var sysctls: [String: Int]
    /// Per-stage virtual costs in ns, overriding `StageCosts.defaults`.
    public var costs: [String: Int]

    public init(name: String, cpus: Int = 1, devices: [DeviceConfig] = [], routes: [RouteConfig] = [],
                sysctls: [String: Int] = [:], costs: [String: Int] = [:]) {
        self.name = name; self.cpus = cpus; self.devices = devices; self.routes = routes
        self.sysctls = sysctls; self.costs = costs
    }
}

/// A configuration the kernel model refuses, with the JSON-ish path of the offending part.
public struct ConfigError: Error, Equatable, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
}

/// Sysctls the model knows, with Linux's defaults (ip-sysctl.rst, net.rst).
public enum Sysctls {
    public static let defaults: [String: Int] = [
        "net.ipv4.ip_forward": 0,
        "net.ipv4.ip_default_ttl": 64,
        "net.core.netdev_max_backlog": 1000,
        "net.core.netdev_budget": 300,
        "net.core.netdev_budget_usecs": 2000,
        "net.core.dev_weight": 64,
    ]
    /// Values accepted today; others are refused until the model honours them.
    public static func validate(_ name: String, _ value: Int) -> String? {
        guard defaults[name] != nil else { return "unknown sysctl \(name)" }
        if name == "net.ipv4.ip_forward" && value != 0 {
            return "forwarding is not modelled yet; only 0 is accepted"
        }
        if name == "net.ipv4.ip_default_ttl" && !(1...255).contains(value) { return "must be 1...255" }
        if value < 0 { return "must not be negative" }
        return nil
    }
}
