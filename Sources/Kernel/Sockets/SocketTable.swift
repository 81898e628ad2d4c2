import Wire

/// A socket address family's address: what a datagram came from and went to.
public enum SockAddr: Sendable, Equatable, CustomStringConvertible {
    case v4(IPv4Address), v6(IPv6Address)
    public var description: String {
        switch self { case .v4(let a): a.description; case .v6(let a): a.description }
    }
}

/// A datagram waiting in a UDP socket's receive queue.
public struct Datagram: Sendable, Equatable {
    public var src: SockAddr
    public var srcPort: UInt16
    public var dst: SockAddr
    /// The received bytes, shared with the skb they came in (no copy on the receive path).
    var bytes: [UInt8]
    var payloadRange: Range<Int>
    public var payload: ArraySlice<UInt8> { bytes[payloadRange] }
    public var timeNs: UInt64
    /// What it charges against the receive buffer (skb->truesize).
    public var truesize: Int
}

/// A bound socket and its receive state.
public final class Sock {
    public internal(set) var config: SocketConfig
    public var rcvbuf: Int
    /// `sk_rmem_alloc`: bytes charged by queued datagrams.
    public var rmemAlloc = 0
    /// `sk_sndbuf`, and `sk_wmem_alloc`: bytes of sent skbs the device has not freed yet.
    public var sndbuf: Int
    public var wmemAlloc = 0
    /// Datagrams sent, and sends that failed (by errno).
    public var sent = 0
    public var sendErrors: [String: Int] = [:]
    public var queue: [Datagram] = []
    public var drops = 0
    /// `sk->sk_rxhash`: the flow hash of the last packet, recorded for RFS when the socket is read.
    var rxhash: UInt32 = 0
    /// TCP only: SYNs a listener took; the connection of a connected socket; a listener's
    /// backlog (`listen`'s, capped by net.core.somaxconn).
    public var synReceived = 0
    public internal(set) var tcp: TCPConn?
    public var backlog = 0
    /// A listener's request socks and the children waiting for `accept` (by serial): the
    /// kernel's request and accept queues, whose lengths bound new SYNs and handshakes.
    var requests: Set<Int> = [], pending: Set<Int> = []
    public var listening: Bool { config.proto == .tcp && config.listen && tcp == nil }
    /// `sk_err`: the error the next call reports (and clears), as `sock_error` does.
    public internal(set) var pendingError: String?
    /// `sk_bound_dev_if`: the index of the device SO_BINDTODEVICE names; -1 for none.
    public internal(set) var boundDev = -1
    /// The device a send or connect is bound to leave by (flowi_oif), if any.
    var oif: Int? { boundDev >= 0 ? boundDev : nil }

    init(config: SocketConfig, rcvbuf: Int, sndbuf: Int) { self.config = config; self.rcvbuf = rcvbuf; self.sndbuf = sndbuf }

    /// `__sock_set_rcvbuf` / `sock_set_sndbuf`: setsockopt's value capped by the sysctl maximum,
    /// doubled (for the kernel's bookkeeping overhead), and at least SOCK_MIN_RCVBUF (2048 + 256)
    /// or SOCK_MIN_SNDBUF (twice that).
    static func bufferSize(_ asked: Int, max: Int, min: Int) -> Int {
        let v = Swift.min(Swift.max(asked, 0), max, Int(Int32.max) / 2)
        return Swift.max(v * 2, min)
    }
    static let minRcvbuf = 2048 + 256, minSndbuf = 2 * (2048 + 256)
}

/// UDP and TCP sockets by local port; a specific address wins over INADDR_ANY (`__udp4_lib_lookup`).
/// A class: a struct held by the stack was copied whole (every table retained) for each lookup.
final class SocketTable {
    private(set) var byID: [Int: Sock] = [:]
    private var udp = IntMap<[Sock]>()
    private var tcp = IntMap<[Sock]>()
    /// Ping sockets of both families by echo identifier (ping_table), and `ping_port_rover`, the
    /// last identifier handed out (per stack: each is a freshly booted kernel).
    private var ping = IntMap<Sock>()
    private var pingRover: UInt16 = 0
    /// `inet_ehash`: connections and request socks by four-tuple, and by serial for their timers.
    private var conns: [TCPKey: TCPConn] = [:]
    private var connsBySerial: [Int: TCPConn] = [:]
    private var serial = 0
    /// How many UDP sockets are connected: while none is, lookups skip the peer check.
    private(set) var connectedUDP = 0
    /// How many sockets are bound to a device: while none is, lookups skip the device check.
    private(set) var boundToDevice = 0

    /// SO_BINDTODEVICE after bind: the socket's device (-1: none), counted in `boundToDevice`.
    func setBoundDevice(_ s: Sock, _ dev: Int) {
        if s.boundDev >= 0 { boundToDevice -= 1 }
        if dev >= 0 { boundToDevice += 1 }
        s.boundDev = dev
    }

    /// A datagram socket's peer (`connect`: IPv4, or an AF_INET6 socket's IPv6 one; a second
    /// connect replaces the first), counted in `connectedUDP` for UDP (ping sockets are looked
    /// up by identifier).
    func connect(_ s: Sock, to: IPv4Address, port: UInt16) {
        if !s.config.connected && s.config.proto == .udp { connectedUDP += 1 }
        s.config.peer = to; s.config.peer6 = nil
        s.config.peerPort = port
    }
    func connect(_ s: Sock, to6: IPv6Address, port: UInt16) {
        if !s.config.connected && s.config.proto == .udp { connectedUDP += 1 }
        s.config.peer6 = to6; s.config.peer = nil
        s.config.peerPort = port
    }

    /// Why the bind fails (EADDRINUSE), or nil: two sockets on a port clash when the addresses
    /// they take overlap (an AF_INET6 `::` socket without IPV6_V6ONLY takes every IPv4 one too).
    func bind(_ c: SocketConfig, net: NetSysctls, dev: Int = -1) -> String? {
        guard byID[c.id] == nil else { return "socket id \(c.id) exists" }
        if c.isPing {
            if let why = bindPing(c, net: net) { return why }
            if dev >= 0, let s = byID[c.id] { setBoundDevice(s, dev) }
            return nil
        }
        let existing = (c.proto == .udp ? udp[UInt64(c.port)] : tcp[UInt64(c.port)]) ?? []
        if existing.contains(where: { SocketTable.overlap($0.config, c) }) {
            return "address \(c.addressText):\(c.port) already in use (EADDRINUSE)"
        }
        let s = Sock(config: c, rcvbuf: c.rcvbuf.map { Sock.bufferSize($0, max: net[.rmem_max], min: Sock.minRcvbuf) } ?? net[.rmem_default],
                     sndbuf: c.sndbuf.map { Sock.bufferSize($0, max: net[.wmem_max], min: Sock.minSndbuf) } ?? net[.wmem_default])
        s.backlog = min(c.backlog, net[.somaxconn])
        setBoundDevice(s, dev)
        byID[c.id] = s
        if c.proto == .udp { udp[UInt64(c.port)] = existing + [s] } else { tcp[UInt64(c.port)] = existing + [s] }
        if c.connected { connectedUDP += 1 }
        return nil
    }

    /// The IPv4 address an AF_INET6 socket takes (v4-mapped ones), all of them (`::` without
    /// V6ONLY), or none.
    private static func v4Part(_ c: SocketConfig) -> IPv4Address?? {
        guard let a6 = c.address6 else { return .some(c.address == .any ? nil : c.address) }
        if a6.isUnspecified { return c.v6only ? .none : .some(nil) }
        if a6.isV4Mapped { return .some(IPv4Address(raw: UInt32(truncatingIfNeeded: a6.raw))) }
        return .none
    }

    private static func overlap(_ a: SocketConfig, _ b: SocketConfig) -> Bool {
        // Sockets bound to two different devices never clash (inet_bind_conflict's sk_bound_dev_if test).
        if let x = a.bindDevice, let y = b.bindDevice, x != y { return false }
        if let x = a.address6, let y = b.address6, !x.isV4Mapped, !y.isV4Mapped, x == y || x.isUnspecified || y.isUnspecified { return true }
        // .some(nil): every IPv4 address; .some(a): that one; .none: no IPv4 address.
        guard case .some(let p) = v4Part(a), case .some(let q) = v4Part(b) else { return false }
        return p == nil || q == nil || p == q
    }

    /// `ping_init_sock`: the process's group (0: it runs as root) must be in net.ipv4.ping_group_range.
    static func ping_init_sock(_ net: NetSysctls) -> String? {
        guard net[.ping_group_range_min] <= 0, 0 <= net[.ping_group_range_max] else {
            return "socket: Permission denied (EACCES): group 0 is not in net.ipv4.ping_group_range (\(net[.ping_group_range_min]) \(net[.ping_group_range_max]))"
        }
        return nil
    }

    /// `ping_get_port`: identifier 0 takes the next free one after the rover (never 0); any
    /// other must be free, whatever the family or address of the socket holding it.
    private func bindPing(_ c: SocketConfig, net: NetSysctls) -> String? {
        if let why = SocketTable.ping_init_sock(net) { return why }
        var c = c
        if c.port == 0 {
            var id = pingRover &+ 1
            for _ in 0..<65536 {
                if id != 0, ping[UInt64(id)] == nil { break }
                id &+= 1
            }
            guard ping[UInt64(id)] == nil, id != 0 else { return "no free echo identifier (EADDRINUSE)" }
            pingRover = id
            c.port = id
        } else if ping[UInt64(c.port)] != nil {
            return "echo identifier \(c.port) already in use (EADDRINUSE)"
        }
        let s = Sock(config: c, rcvbuf: c.rcvbuf.map { Sock.bufferSize($0, max: net[.rmem_max], min: Sock.minRcvbuf) } ?? net[.rmem_default],
                     sndbuf: c.sndbuf.map { Sock.bufferSize($0, max: net[.wmem_max], min: Sock.minSndbuf) } ?? net[.wmem_default])
        byID[c.id] = s
        ping[UInt64(c.port)] = s
        return nil
    }

    /// `ping_lookup`: the ping socket of that identifier, of the packet's family, bound to the
    /// address the reply came to or to none.
    func pingLookup(ident: UInt16, dst: SockAddr, dev: Int? = nil) -> Sock? {
        guard let s = ping[UInt64(ident)] else { return nil }
        if let dev, s.boundDev >= 0, s.boundDev != dev { return nil }
        switch dst {
        case .v4(let a):
            guard s.config.proto == .icmp, s.config.address == .any || s.config.address == a else { return nil }
        case .v6(let a):
            guard s.config.proto == .icmpv6, let b = s.config.address6, b.isUnspecified || b == a else { return nil }
        }
        return s
    }

    func close(_ id: Int) -> Bool {
        guard let s = byID.removeValue(forKey: id) else { return false }
        setBoundDevice(s, -1)
        if s.config.isPing { ping[UInt64(s.config.port)] = nil; return true }
        let port = UInt64(s.config.port)
        if s.config.proto == .udp { udp[port]?.removeAll { $0 === s } } else { tcp[port]?.removeAll { $0 === s } }
        if s.config.connected { connectedUDP -= 1 }
        s.tcp?.sock = nil
        return true
    }

    // MARK: TCP connections

    func conn(_ k: TCPKey) -> TCPConn? { conns[k] }
    func conn(serial: Int) -> TCPConn? { connsBySerial[serial] }
    func nextSerial() -> Int { serial += 1; return serial }
    /// The last serial handed out (a checkpoint keeps it, so a restored stack numbers on).
    var serialCounter: Int { get { serial } set { serial = newValue } }
    func insert(_ c: TCPConn) { conns[c.key] = c; connsBySerial[c.serial] = c }
    func remove(_ c: TCPConn) {
        if conns[c.key] === c { conns[c.key] = nil }
        connsBySerial[c.serial] = nil
        c.parent?.requests.remove(c.serial)
        c.parent?.pending.remove(c.serial)
    }
    /// A child the handshake completed gets an fd (the id the API names it by), not yet accepted.
    func adopt(_ c: TCPConn, config: SocketConfig) -> Int {
        let s = Sock(config: config, rcvbuf: c.rcvbuf, sndbuf: Stack.tcpInitialSndbuf)
        s.tcp = c
        c.sock = s
        byID[config.id] = s
        return config.id
    }
    /// Children that completed the handshake and wait for `accept` (ss's Recv-Q of a listener).
    func acceptQueueLength(_ listener: Sock) -> Int { listener.pending.count }
    /// Request socks (SYN-RECV) of a listener.
    func requestCount(_ listener: Sock) -> Int { listener.requests.count }
    /// Every connection in the order it was made.
    var allConns: [TCPConn] { connsBySerial.values.sorted { $0.serial < $1.serial } }

    /// `__udp4_lib_lookup` (and inet_lookup for TCP): a socket bound to the address before a
    /// wildcard one, AF_INET before AF_INET6 (whose v4-mapped or dual-stack `::` sockets also take
    /// IPv4). A connected UDP socket takes only what comes from its peer (`src`:`sport`), and
    /// before an unconnected one of its address (compute_score's +8).
    func lookup(_ proto: SocketConfig.Proto, dst: IPv4Address, port: UInt16, src: IPv4Address = .any, sport: UInt16 = 0, dev: Int? = nil) -> Sock? {
        guard var list = proto == .udp ? udp[UInt64(port)] : tcp[UInt64(port)] else { return nil }
        if proto == .tcp && !list.allSatisfy(\.listening) { list = list.filter(\.listening) }
        let peers = proto == .udp && connectedUDP > 0, on = boundToDevice > 0 ? dev : nil
        func first(_ tier: (Sock) -> Bool) -> Sock? {
            SocketTable.first(list, tier, on: on, peers: peers) { $0.config.peer == src && $0.config.peerPort == sport }
        }
        if let s = first({ $0.config.address6 == nil && $0.config.address == dst }) { return s }
        let mapped = IPv6Address.mapped(dst)
        if let s = first({ $0.config.address6 == mapped }) { return s }
        if let s = first({ $0.config.address6 == nil && $0.config.address == .any }) { return s }
        return first { $0.config.address6 == .any && !$0.config.v6only }
    }

    /// `__udp6_lib_lookup`: AF_INET6 sockets only, a bound address before `::`; in each, a socket
    /// connected to the sender before an unconnected one (one connected elsewhere never).
    func lookup6(_ proto: SocketConfig.Proto, dst: IPv6Address, port: UInt16, src: IPv6Address = .any, sport: UInt16 = 0, dev: Int? = nil) -> Sock? {
        guard var list = proto == .udp ? udp[UInt64(port)] : tcp[UInt64(port)] else { return nil }
        if proto == .tcp && !list.allSatisfy(\.listening) { list = list.filter(\.listening) }
        let peers = proto == .udp && connectedUDP > 0, on = boundToDevice > 0 ? dev : nil
        func first(_ a: IPv6Address) -> Sock? {
            SocketTable.first(list, { $0.config.address6 == a }, on: on, peers: peers) { $0.config.peer6 == src && $0.config.peerPort == sport }
        }
        return first(dst) ?? first(.any)
    }

    /// The first socket of a tier: while any UDP socket is connected (`peers`), one connected to
    /// the sender, else an unconnected one (compute_score: a peer that differs rules a socket out).
    /// `on`: the device the packet came in on, when some socket is bound to one (compute_score's
    /// device test: a socket bound to another device is no candidate; one bound to none takes any).
    private static func first(_ list: [Sock], _ tier: (Sock) -> Bool, on dev: Int?, peers: Bool, sender: (Sock) -> Bool) -> Sock? {
        func candidate(_ s: Sock) -> Bool { tier(s) && (dev == nil || s.boundDev < 0 || s.boundDev == dev) }
        guard peers else { return list.first(where: candidate) }
        return list.first { candidate($0) && sender($0) } ?? list.first { candidate($0) && !$0.config.connected }
    }

    var all: [Sock] { byID.values.sorted { $0.config.id < $1.config.id } }
}

extension Stack {
    /// Binds a socket (and keeps it in the configuration a restart rebuilds).
    public func bind(_ c: SocketConfig) -> String? {
        var dev = -1
        if let name = c.bindDevice {
            guard let d = deviceNames.firstIndex(of: name) else { return "no device \(name) (ENODEV)" }
            dev = d
        }
        return bindAddressError(c) ?? sockets.bind(c, net: net, dev: dev)
    }
    /// Whether a ping socket may be opened (nil), or why not (EACCES).
    public func ping_init_sock() -> String? { SocketTable.ping_init_sock(net) }

    /// Why bind() refuses the socket's address, by its family: nil when it is taken.
    public func bindAddressError(_ c: SocketConfig) -> String? {
        c.address6 == nil ? inet_bind_address(c.address, c) : inet6_bind_address(c.address6!, c)
    }

    /// `inet_bind`'s address check (inet_addr_valid_or_nonlocal): an AF_INET socket binds to one
    /// of the host's addresses (a local or broadcast route of the local table, 127/8 on lo),
    /// a multicast address or INADDR_ANY, unless it is IP_FREEBIND or IP_TRANSPARENT or
    /// ip_nonlocal_bind is set (inet_can_nonlocal_bind).
    func inet_bind_address(_ a: IPv4Address, _ c: SocketConfig) -> String? {
        guard a != .any, !c.transparent, !c.freebind, net[.ip_nonlocal_bind] == 0, !a.isLoopback, !a.isMulticast else { return nil }
        switch inet_addr_type(a) {
        case .local, .broadcast: return nil
        default: return "cannot assign requested address \(a) (EADDRNOTAVAIL): not an address of this stack"
        }
    }

    /// `__inet6_bind`'s checks, in its order: no multicast for TCP; a v4-mapped address takes the
    /// AF_INET check (and never on an IPV6_V6ONLY socket); a link-local address, unicast or
    /// multicast, needs a scope id, which the socket API has no field for (EINVAL, as a bind
    /// without one gets); other multicast is not supported yet; a unicast address must be one
    /// of the stack's (`ipv6_chk_addr`: assigned to a device, not an anycast or a neighbour's)
    /// or ::1, unless the socket is IPV6_FREEBIND or IPV6_TRANSPARENT or net.ipv6.ip_nonlocal_bind
    /// is 1 (ipv6_can_nonlocal_bind).
    func inet6_bind_address(_ a: IPv6Address, _ c: SocketConfig) -> String? {
        guard a != .any else { return nil }
        if a.isMulticast && c.proto == .tcp { return "invalid argument (EINVAL): a TCP socket cannot bind to multicast address \(a)" }
        if a.isV4Mapped {
            if c.v6only { return "invalid argument (EINVAL): v4-mapped address \(a) on an IPV6_V6ONLY socket" }
            return inet_bind_address(IPv4Address(raw: UInt32(truncatingIfNeeded: a.raw)), c)
        }
        // A link-local address (or link-scope group) needs a device: a scope id or SO_BINDTODEVICE.
        if a.isLinkLocal || (a.isMulticast && a.multicastScope <= 2) {
            guard let name = c.bindDevice, let dev = deviceNames.firstIndex(of: name) else {
                return "invalid argument (EINVAL): link-local address \(a) needs a scope id (an interface): \(a)%DEVICE"
            }
            if a.isLinkLocal, !(fib6.addresses.indices.contains(dev) && fib6.addresses[dev].contains { $0.address == a }) {
                return "cannot assign requested address \(a) (EADDRNOTAVAIL): not an address of \(name)"
            }
            return nil
        }
        // A group: what it receives is what the host joined (IPV6_JOIN_GROUP).
        if a.isMulticast { return nil }
        guard !a.isLoopback, !c.transparent, !c.freebind, net[.ip6_nonlocal_bind] == 0, !fib6.isAssigned(a) else { return nil }
        return "cannot assign requested address \(a) (EADDRNOTAVAIL): not an address of this stack"
    }
    /// Whether what the stack sends to `a` goes through `lo` (one of its own addresses, 127/8,
    /// ::1, `::`, a v4-mapped one of those).
    public func loopsBack(_ a: SockAddr) -> Bool {
        switch a {
        case .v4(let v): return v.isLoopback || fib.isLocal(v)
        case .v6(let v): return v.isV4Mapped ? loopsBack(.v4(v.embeddedV4)) : v.isLoopback || v.isUnspecified || fib6.isLocal(v)
        }
    }
    public func closeSocket(_ id: Int) -> Bool {
        if let sk = sockets.byID[id] { mc_drop_socket(sk) }
        return sockets.close(id)
    }
    public func socket(_ id: Int) -> Sock? { sockets.byID[id] }
    public var allSockets: [Sock] { sockets.all }
    public var nextSocketID: Int { (sockets.byID.keys.max() ?? 0) + 1 }

    /// `setsockopt` of the options the model has (SO_BINDTODEVICE, SO_RCVBUF, SO_SNDBUF, IP_TOS, IPV6_TCLASS, SO_PRIORITY,
    /// IP_MTU_DISCOVER, IPV6_MTU_DISCOVER, UDP_SEGMENT, IP_RECVERR, IPV6_RECVERR, the hop limits, SO_BROADCAST) on a bound socket, in that order: IP_TOS also sets the priority
    /// (`rt_tos2priority`) unless SO_PRIORITY comes with it. Answers the socket's configuration
    /// afterwards, or nil when there is no such socket.
    public func setsockopt(socket id: Int, rcvbuf: Int? = nil, sndbuf: Int? = nil, tos: UInt8? = nil, tclass: UInt8? = nil, priority: UInt32? = nil,
                           pmtudisc: SocketConfig.PMTUDisc? = nil, pmtudisc6: SocketConfig.PMTUDisc6? = nil, udpSegment: Int? = nil, recverr: Bool? = nil,
                           recverr6: Bool? = nil, hops: SocketHops = SocketHops(), broadcast: Bool? = nil, multicastIf6: String? = nil,
                           multicastLoop: Bool? = nil, multicastLoop6: Bool? = nil, bindDevice: String? = nil) -> SocketConfig? {
        guard let s = sockets.byID[id] else { return nil }
        // SO_BINDTODEVICE ("" unbinds); the caller checked the device exists.
        if let v = bindDevice {
            s.config.bindDevice = v.isEmpty ? nil : v
            sockets.setBoundDevice(s, v.isEmpty ? -1 : deviceNames.firstIndex(of: v) ?? -1)
        }
        if let v = multicastLoop { s.config.multicastLoop = v }
        if let v = multicastLoop6 { s.config.multicastLoop6 = v }
        if let v = multicastIf6 { s.config.multicastIf6 = v.isEmpty ? nil : v }
        if let v = rcvbuf { s.config.rcvbuf = v; s.rcvbuf = Sock.bufferSize(v, max: net[.rmem_max], min: Sock.minRcvbuf) }
        if let v = sndbuf { s.config.sndbuf = v; s.sndbuf = Sock.bufferSize(v, max: net[.wmem_max], min: Sock.minSndbuf) }
        if let v = tos { s.config.tos = v; s.config.priority = nil }
        if let v = tclass { s.config.tclass = v }
        if let v = priority { s.config.priority = v }
        if let v = pmtudisc { s.config.pmtudisc = v }
        if let v = pmtudisc6 { s.config.pmtudisc6 = v }
        if let v = udpSegment { s.config.udpSegment = v == 0 ? nil : v }
        if let v = recverr { s.config.recverr = v }
        if let v = recverr6 { s.config.recverr6 = v }
        hops.apply(to: &s.config)
        if let v = broadcast { s.config.broadcast = v }
        return s.config
    }

    /// `sock_error`: the datagram socket's pending error (sk_err, from an ICMP error), taken as
    /// recvmsg takes it before anything queued (__skb_recv_udp, __skb_try_recv_datagram).
    public func sock_error(socket id: Int) -> String? {
        guard let s = sockets.byID[id], let e = s.pendingError else { return nil }
        s.pendingError = nil
        return e
    }

    /// `recvmsg` on a UDP socket from a process on `cpu`: dequeues up to `max` datagrams, uncharges
    /// them, and records the flow's CPU for RFS (`sock_rps_record_flow`).
    /// Reads as a process on `cpu` would, which RFS learns (the API refuses a CPU the stack lacks).
    public func recv(socket id: Int, max: Int, cpu: Int) -> [Datagram]? {
        guard let s = sockets.byID[id] else { return nil }
        let n = min(max, s.queue.count)
        let out = Array(s.queue.prefix(n))
        s.queue.removeFirst(n)
        s.rmemAlloc -= out.reduce(0) { $0 + $1.truesize }
        if !sockFlowTable.isEmpty && s.rxhash != 0 && (0..<cpus.count).contains(cpu) {
            sockFlowTable[Int(s.rxhash) & (sockFlowTable.count - 1)] = cpu
        }
        return out
    }
}

/// The hop-limit options a setsockopt sets (nil: left as they are; -1 puts one back to its default).
public struct SocketHops: Sendable, Equatable {
    public var ttl: Int?, multicastTTL: Int?, unicastHops: Int?, multicastHops: Int?
    public init(ttl: Int? = nil, multicastTTL: Int? = nil, unicastHops: Int? = nil, multicastHops: Int? = nil) {
        self.ttl = ttl; self.multicastTTL = multicastTTL; self.unicastHops = unicastHops; self.multicastHops = multicastHops
    }
    public func apply(to c: inout SocketConfig) {
        func set(_ v: Int?, _ k: WritableKeyPath<SocketConfig, Int?>) { if let v { c[keyPath: k] = v < 0 ? nil : v } }
        set(ttl, \.ttl); set(multicastTTL, \.multicastTTL); set(unicastHops, \.unicastHops); set(multicastHops, \.multicastHops)
    }
}
