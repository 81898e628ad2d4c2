import Wire

/// A device as configured: Linux's `ip link`/`ip addr`/`ethtool` facts that matter to the packet path.
public struct DeviceConfig: Sendable, Equatable {
    public var name: String
    public var mac: MACAddress
    public var addresses: [IPv4CIDR]
    /// Global IPv6 addresses (`ip -6 addr add ... nodad`); the EUI-64 link-local address is added
    /// by the stack while IPv6 is enabled, as Linux does (addr_gen_mode 0).
    public var addresses6: [IPv6CIDR] = []
    public var mtu: Int
    /// RX queues (`ethtool -L combined`), each with its own ring, IRQ and NAPI.
    public var rxQueues: Int
    /// Descriptors per RX ring (`ethtool -G rx`); 256 as virtio-net.
    public var ringSize: Int
    /// RX checksum offload (`ethtool -K rx`): the NIC marks good L4 checksums CHECKSUM_UNNECESSARY.
    public var rxChecksumOffload: Bool
    /// Interrupt coalescing (`ethtool -C rx-usecs / rx-frames`); 0/1 interrupts on every frame.
    public var rxUsecs: Int
    public var rxFrames: Int
    /// RSS key (`ethtool -X hkey`) and indirection table (`ethtool -X weight/equal`, power-of-two size).
    public var rssKey: [UInt8]
    public var rssIndirection: [Int]?
    /// `rps_cpus` per RX queue (CPU lists); empty means RPS off.
    public var rpsCPUs: [[Int]]
    /// `rps_flow_cnt` per RX queue (RFS device flow table size; power of two, 0 = off).
    public var rpsFlowCount: Int
    /// A veth leaves CHECKSUM_PARTIAL packets unfinished on the wire (what its peer captures);
    /// a NIC's hardware completes them.
    public var veth: Bool = false
    /// What the other end of a veth runs (the oracle's `xdp_peers`): native XDP_TX and redirects
    /// into this device deliver only to a peer with an XDP program or GRO (its NAPI).
    public var vethPeer: VethPeer = .plain
    /// `ip link set DEV txqueuelen N`: the default qdiscs' limits.
    public var txQueueLen = 1000
    /// TX descriptors (`ethtool -G tx`); the driver stops its queue when they are all in flight.
    public var txRingSize = 256
    /// Link speed in Mbit/s (`ethtool` Speed); 0 is unknown, and frames take no time on the wire.
    public var speedMbps = 0
    /// TCP segmentation offload (`ethtool -K tso`): the NIC cuts GSO skbs, not `skb_gso_segment`.
    public var tso = false
    /// Byte queue limits on the TX queue (a NIC driver's `netdev_tx_sent_queue`/`completed_queue`);
    /// nil: on for a NIC with a known speed, off for a veth.
    public var bql: Bool? = nil
    var hasBQL: Bool { bql ?? (!veth && speedMbps > 0) }
    /// TX checksum offload (`ethtool -K tx`): the device finishes CHECKSUM_PARTIAL checksums (a
    /// veth leaves them unfinished for its peer); off, `skb_checksum_help` sums them in software.
    public var txChecksumOffload = true
    /// UDP segmentation offload (`ethtool -K tx-udp-segmentation`); nil: on for a veth (which
    /// hands the whole UDP_SEGMENT datagram to its peer), off for a NIC.
    public var udpSegmentationOffload: Bool? = nil
    /// The loopback device (IFF_LOOPBACK) every stack has: `lo`, not one of the configured devices.
    public private(set) var isLoopback = false

    /// `lo` as loopback_setup makes it: MTU 64 KiB, a zero MAC, noqueue, 127.0.0.1/8 (and ::1,
    /// which the stack's FIBs give it).
    static let loopback: DeviceConfig = {
        var d = DeviceConfig(name: "lo", mac: MACAddress(0, 0, 0, 0, 0, 0), addresses: [IPv4CIDR(address: IPv4Address(127, 0, 0, 1), prefixLength: 8)],
                             mtu: 65536, rxChecksumOffload: false)
        d.isLoopback = true
        return d
    }()

    /// Whether the device takes a GSO skb of this kind as it is (NETIF_F_TSO / NETIF_F_GSO_UDP_L4):
    /// then `validate_xmit_skb` leaves it whole.
    func offloads(udp: Bool) -> Bool { udp ? udpSegmentationOffload ?? veth : tso }

    public init(name: String, mac: MACAddress, addresses: [IPv4CIDR] = [], mtu: Int = 1500, rxQueues: Int = 1, ringSize: Int = 256,
                rxChecksumOffload: Bool = true, rxUsecs: Int = 0, rxFrames: Int = 1, rssKey: [UInt8] = RSS.verificationKey,
                rssIndirection: [Int]? = nil, rpsCPUs: [[Int]] = [], rpsFlowCount: Int = 0) {
        self.name = name; self.mac = mac; self.addresses = addresses; self.mtu = mtu
        self.rxQueues = rxQueues; self.ringSize = ringSize; self.rxChecksumOffload = rxChecksumOffload
        self.rxUsecs = rxUsecs; self.rxFrames = rxFrames; self.rssKey = rssKey; self.rssIndirection = rssIndirection
        self.rpsCPUs = rpsCPUs; self.rpsFlowCount = rpsFlowCount
    }
}

/// A static route as `ip route add DST [via GW] dev DEV [metric N]`.
public struct RouteConfig: Sendable, Equatable {
    public var dst: IPv4CIDR
    public var via: IPv4Address?
    public var dev: String
    public var metric: Int
    /// The routing table (`table N`; main unless given) and the route's type (`ip route add local ...`).
    public var table = FIB.main
    public var type = RouteType.unicast
    public init(dst: IPv4CIDR, via: IPv4Address? = nil, dev: String, metric: Int = 0, table: Int = FIB.main, type: RouteType = .unicast) {
        self.dst = dst; self.via = via; self.dev = dev; self.metric = metric; self.table = table; self.type = type
    }
}

/// An IPv4 policy rule as `ip rule add [from P] [to P] [fwmark M[/MASK]] [iif DEV] priority N lookup T`.
public struct RuleConfig: Sendable, Equatable {
    public var priority: Int
    public var from: IPv4CIDR?
    public var to: IPv4CIDR?
    public var fwmark: UInt32?
    public var fwmask: UInt32
    public var iif: String?
    public var table: Int
    /// `not`: the rule selects what its selectors do not.
    public var invert = false
    /// `suppress_prefixlength N`: the table's answer counts only for a longer prefix.
    public var suppressPrefixLength: Int? = nil
    public init(priority: Int, from: IPv4CIDR? = nil, to: IPv4CIDR? = nil, fwmark: UInt32? = nil, fwmask: UInt32 = .max, iif: String? = nil, table: Int,
                invert: Bool = false, suppressPrefixLength: Int? = nil) {
        self.priority = priority; self.from = from; self.to = to; self.fwmark = fwmark; self.fwmask = fwmask; self.iif = iif; self.table = table
        self.invert = invert; self.suppressPrefixLength = suppressPrefixLength
    }
}

/// A static IPv6 route as `ip -6 route add [unreachable] DST [via GW] dev DEV [metric N] [table T]`
/// (metric 1024 when not given, as Linux; an unreachable route's device is lo).
public struct Route6Config: Sendable, Equatable {
    public var dst: IPv6CIDR
    public var via: IPv6Address?
    public var dev: String
    public var metric: Int
    public var table = FIB.main
    /// unicast or unreachable.
    public var type = RouteType.unicast
    public init(dst: IPv6CIDR, via: IPv6Address? = nil, dev: String, metric: Int = 1024, table: Int = FIB.main, type: RouteType = .unicast) {
        self.dst = dst; self.via = via; self.dev = dev; self.metric = metric; self.table = table; self.type = type
    }
}

/// An IPv6 policy rule as `ip -6 rule add [not] [from P] [to P] [fwmark M[/MASK]] [iif DEV] priority N
/// lookup T [suppress_prefixlength N]`.
public struct Rule6Config: Sendable, Equatable {
    public var priority: Int
    public var from: IPv6CIDR?
    public var to: IPv6CIDR?
    public var fwmark: UInt32?
    public var fwmask: UInt32
    public var iif: String?
    public var table: Int
    public var invert: Bool
    public var suppressPrefixLength: Int?
    public init(priority: Int, from: IPv6CIDR? = nil, to: IPv6CIDR? = nil, fwmark: UInt32? = nil, fwmask: UInt32 = .max, iif: String? = nil, table: Int,
                invert: Bool = false, suppressPrefixLength: Int? = nil) {
        self.priority = priority; self.from = from; self.to = to; self.fwmark = fwmark; self.fwmask = fwmask; self.iif = iif; self.table = table
        self.invert = invert; self.suppressPrefixLength = suppressPrefixLength
    }
}

/// A permanent IPv6 neighbour as `ip -6 neigh add ADDR lladdr MAC dev DEV nud permanent`.
public struct Neighbour6Config: Sendable, Equatable {
    public var address: IPv6Address
    public var mac: MACAddress
    public var dev: String
    public init(address: IPv6Address, mac: MACAddress, dev: String) { self.address = address; self.mac = mac; self.dev = dev }
}

/// A permanent neighbour as `ip neigh add ADDR lladdr MAC dev DEV nud permanent`.
public struct NeighbourConfig: Sendable, Equatable {
    public var address: IPv4Address
    public var mac: MACAddress
    public var dev: String
    public init(address: IPv4Address, mac: MACAddress, dev: String) { self.address = address; self.mac = mac; self.dev = dev }
}

/// A multicast group a socket joined, on a device (ip_mc_socklist, ipv6_mc_socklist).
public struct Membership: Sendable, Equatable {
    public var group: SockAddr
    public var dev: String
    public init(group: SockAddr, dev: String) { self.group = group; self.dev = dev }
}

/// A bound socket, as a process would hold it.
public struct SocketConfig: Sendable, Equatable {
    /// icmp and icmpv6: ping sockets (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) and the AF_INET6
    /// IPPROTO_ICMPV6 one), whose `port` is the echo identifier.
    public enum Proto: String, Sendable {
        case udp, tcp, icmp, icmpv6
        public var isPing: Bool { self == .icmp || self == .icmpv6 }
    }
    public var id: Int
    public var proto: Proto
    public var address: IPv4Address
    public var port: UInt16
    /// SO_RCVBUF as setsockopt was given it (doubled, capped by net.core.rmem_max); nil means
    /// net.core.rmem_default.
    public var rcvbuf: Int?
    /// SO_SNDBUF likewise (net.core.wmem_max, wmem_default).
    public var sndbuf: Int? = nil
    /// IP_TOS (also sets the priority, `rt_tos2priority`, unless SO_PRIORITY is given): the TOS of
    /// IPv4 packets, an AF_INET6 socket's v4-mapped traffic included.
    public var tos: UInt8 = 0
    /// IPV6_TCLASS: the traffic class of an AF_INET6 socket's IPv6 packets (IP_TOS does not set it,
    /// nor this the priority; recorded: scripts/record_tclass.sh).
    public var tclass: UInt8 = 0
    /// SO_PRIORITY: `skb->priority` of what the socket sends.
    public var priority: UInt32? = nil
    /// `sk_priority`: SO_PRIORITY, else what IP_TOS set (`rt_tos2priority`), for either family.
    var skPriority: UInt32 { priority ?? (tos != 0 ? Stack.rt_tos2priority(tos) : 0) }
    /// The DS field of what the socket sends over IPv4 (IP_TOS) or IPv6 (IPV6_TCLASS).
    func dsfield(ipv4: Bool) -> UInt8 { ipv4 ? tos : tclass }
    /// IP_MTU_DISCOVER.
    public var pmtudisc: PMTUDisc = .want
    /// IPV6_MTU_DISCOVER: an AF_INET6 socket's IPv6 datagrams (IP_MTU_DISCOVER does not touch them).
    public var pmtudisc6: PMTUDisc6 = .want
    /// IP_RECVERR: ICMP errors about what the socket sent (a failed neighbour's host
    /// unreachable) reach it, and its next call fails with them.
    public var recverr = false
    /// IPV6_RECVERR: the same for ICMPv6 errors on an AF_INET6 socket (IP_RECVERR does not
    /// cover them, nor this ICMP errors about what it sent over IPv4).
    public var recverr6 = false
    /// IP_TTL and IP_MULTICAST_TTL (nil: net.ipv4.ip_default_ttl, and 1); IPV6_UNICAST_HOPS and
    /// IPV6_MULTICAST_HOPS (nil: the link's hop limit, and 1). An AF_INET6 socket's IPv4 traffic
    /// takes the IPv4 ones.
    public var ttl: Int? = nil, multicastTTL: Int? = nil
    /// SO_BROADCAST: sends to a subnet's broadcast address are allowed (EACCES without).
    public var broadcast = false
    public var unicastHops: Int? = nil, multicastHops: Int? = nil
    /// IPV6_MULTICAST_IF (a device name): what an AF_INET6 socket sends to a multicast group
    /// without a scope id leaves by it.
    public var multicastIf6: String? = nil
    /// IP_MULTICAST_LOOP (an AF_INET socket) and IPV6_MULTICAST_LOOP (an AF_INET6 one), on by
    /// default: what it sends to a group the host is in comes back to the host too.
    public var multicastLoop = true, multicastLoop6 = true
    /// `sk_mc_loop`: the option of the socket's family, whatever the packet's.
    var mcLoop: Bool { address6 == nil ? multicastLoop : multicastLoop6 }
    /// IP_TRANSPARENT: `tproxy` may hand it packets addressed elsewhere (nf_tproxy_sk_is_transparent),
    /// and what it accepts inherits the flag.
    public var transparent = false
    /// IP_FREEBIND / IPV6_FREEBIND: bind() takes an address the stack does not have (as
    /// IP_TRANSPARENT does for bind); nothing else.
    public var freebind = false
    /// UDP and ping: the peer `connect` set (ip4_datagram_connect): the socket takes datagrams from it only,
    /// sends go to it when no address is given, and hard ICMP errors become its error. An AF_INET6
    /// socket's IPv6 peer is `peer6` (a v4-mapped one is `peer`); `peerPort` is either's port.
    public var peer: IPv4Address? = nil
    public var peer6: IPv6Address? = nil
    public var peerPort: UInt16 = 0
    public var connected: Bool { peer != nil || peer6 != nil }
    /// SO_BINDTODEVICE (a device name): the socket takes only what arrives on that device, and
    /// what it sends leaves by it (a route through it, else the peer taken to be on its link
    /// over IPv4; ENETUNREACH over IPv6). A scope id on bind or connect sets it too.
    public var bindDevice: String? = nil
    /// IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP: the groups the socket is in, each on a device; a
    /// socket's memberships are left when it closes.
    public var memberships: [Membership] = []
    /// A ping socket (icmp or icmpv6).
    public var isPing: Bool { proto.isPing }
    /// UDP_SEGMENT: the payload is sent in datagrams of this size (GSO), cut as late as the device allows.
    public var udpSegment: Int? = nil
    public enum PMTUDisc: String, Sendable, CaseIterable {
        /// IP_PMTUDISC_DONT: never DF. WANT (the default): DF when it fits the path MTU, and a
        /// larger datagram is fragmented. DO: always DF, larger fails with EMSGSIZE. PROBE: DF, and
        /// as DO here (no path MTU is learnt).
        case dont, want, `do`, probe
    }
    /// IPV6_PMTUDISC_*, as scripts/record_ipv6_mtu_discover.sh recorded them: below PROBE the path
    /// MTU (a learnt one counts), from PROBE on the device's (`ip6_setup_cork`, `ip6_skb_dst_mtu`);
    /// DONT, WANT and OMIT fragment what is larger at the source, DO, PROBE and INTERFACE fail
    /// with EMSGSIZE (`ip6_sk_ignore_df`).
    public enum PMTUDisc6: String, Sendable, CaseIterable {
        case dont, want, `do`, probe, interface, omit
        var usesDeviceMTU: Bool { self == .probe || self == .interface || self == .omit }
        var fragments: Bool { self == .dont || self == .want || self == .omit }
    }
    /// An AF_INET6 socket, bound to this address (`::` for any); `address` is then unused.
    public var address6: IPv6Address? = nil
    /// IPV6_V6ONLY (net.ipv6.bindv6only is 0, so off): an AF_INET6 socket on `::` also takes IPv4,
    /// as v4-mapped addresses.
    public var v6only = false
    /// TCP: `listen(fd, backlog)` after bind (the default), or a socket left bound for `connect`.
    public var listen = true
    public var backlog = 4096
    public init(id: Int, proto: Proto, address: IPv4Address = .any, port: UInt16, rcvbuf: Int? = nil) {
        self.id = id; self.proto = proto; self.address = address; self.port = port; self.rcvbuf = rcvbuf
    }
    public init(id: Int, proto: Proto, address6: IPv6Address, v6only: Bool = false, port: UInt16, rcvbuf: Int? = nil) {
        self.init(id: id, proto: proto, port: port, rcvbuf: rcvbuf)
        self.address6 = address6; self.v6only = v6only
    }
    /// The address as `ss` prints it.
    public var addressText: String { address6.map { "[\($0)]" } ?? address.description }
}

/// Everything a stack is built from; stored as given and rebuilt at start-up.
public struct StackConfig: Sendable, Equatable {
    public var name: String
    public var cpus: Int
    public var devices: [DeviceConfig]
    public var routes: [RouteConfig]
    public var neighbours: [NeighbourConfig]
    public var routes6: [Route6Config] = []
    /// IPv4 policy rules (`ip rule`) besides the three every stack has.
    public var rules: [RuleConfig] = []
    public var rules6: [Rule6Config] = []
    public var neighbours6: [Neighbour6Config] = []
    public var sockets: [SocketConfig]
    /// Qdiscs set with `tc qdisc`, in the order they were added (devices not named keep their default).
    public var qdiscs: [QdiscConfig] = []
    /// htb classes (`tc class add`), parents before children.
    public var classes: [TCClassConfig] = []
    /// Linux sysctl names, e.g. `net.ipv4.ip_forward`.
    public var sysctls: [String: Int]
    /// Per-stage virtual costs in ns, overriding `StageCosts.defaults`.
    public var costs: [String: Int]
    /// Seeds what the kernel draws at random (the IP ID key and increments): the same seed gives
    /// the same bytes.
    public var seed: UInt64 = 0
    /// The real-time clock at virtual time 0, in ns since 1970-01-01 UTC (`meta time`, `day`, `hour`).
    public var epochNs: UInt64 = 0
    /// How injections into this stack keep their traces by default (the API's trace modes: `full`,
    /// `summary`, `drops`, `sample:N`, `nftrace`, `none`); the kernel model does not read it.
    public var traceMode = "full"
    /// How long and how many of its traces the store keeps (the API's retention pass; nil: no
    /// bound but the trace quota); the kernel model does not read them.
    public var retentionMaxAgeS: Int? = nil
    public var retentionMaxTraces: Int? = nil
    /// XDP programs attached to devices, each with the object file it came from.
    public var xdp: [XDPConfig] = []
    /// tc BPF filters on devices' clsact hooks, each with the object file it came from.
    public var tcFilters: [TCFilterConfig] = []
    /// Devices with a clsact qdisc (`tc qdisc add dev DEV clsact`; a tc filter brings one too).
    public var clsact: [String] = []
    /// The ipsets as the model saves them (`ipset save` with each element's expiry in virtual
    /// ns), and how many changes made them.
    public var ipsets = ""
    public var ipsetsGeneration = 0

    public init(name: String, cpus: Int = 1, devices: [DeviceConfig] = [], routes: [RouteConfig] = [],
                neighbours: [NeighbourConfig] = [], sockets: [SocketConfig] = [],
                sysctls: [String: Int] = [:], costs: [String: Int] = [:]) {
        self.name = name; self.cpus = cpus; self.devices = devices; self.routes = routes
        self.neighbours = neighbours; self.sockets = sockets; self.sysctls = sysctls; self.costs = costs
    }
}

/// A configuration the kernel model refuses, with the JSON-pointer path of the offending part.
public struct ConfigError: Error, Equatable, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
}
