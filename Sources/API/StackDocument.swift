import BPF
import Foundation
import JSON
import Kernel
import TC
import Wire

/// The stack document of `POST /v1/stacks` <-> `StackConfig`.
enum StackDocument {
    static func decode(_ v: JSONValue) throws(Problem) -> StackConfig {
        try decoding {
            var r = try FieldReader(v)
            let name = try r.requiredString("name")
            guard isValidName(name, max: 64) else {
                throw Problem.unprocessable("name must be 1-64 characters of A-Z a-z 0-9 . _ -", pointer: "/name")
            }
            let cpus = try r.int("cpus", in: 1...64) ?? 1
            var devices: [DeviceConfig] = []
            for (i, d) in (try r.array("devices") ?? []).enumerated() {
                devices.append(try decodeDevice(d, path: "/devices/\(i)"))
            }
            // IPv4 and IPv6 routes and neighbours share a list each, told apart by their addresses.
            var routes: [RouteConfig] = [], routes6: [Route6Config] = []
            for (i, x) in (try r.array("routes") ?? []).enumerated() {
                switch try decodeRoute(x, path: "/routes/\(i)") {
                case .v4(let rt): routes.append(rt)
                case .v6(let rt): routes6.append(rt)
                }
            }
            var neighbours: [NeighbourConfig] = [], neighbours6: [Neighbour6Config] = []
            for (i, x) in (try r.array("neighbours") ?? []).enumerated() {
                switch try decodeNeighbour(x, path: "/neighbours/\(i)") {
                case .v4(let n): neighbours.append(n)
                case .v6(let n): neighbours6.append(n)
                }
            }
            var rules: [RuleConfig] = [], rules6: [Rule6Config] = []
            for (i, x) in (try r.array("rules") ?? []).enumerated() {
                // Without a priority, each family's next below 32765 (fib_default_rule_pref).
                switch try decodeRule(x, path: "/rules/\(i)", defaultPriority: -1) {
                case .v4(var rule): if rule.priority < 0 { rule.priority = 32765 - rules.count }; rules.append(rule)
                case .v6(var rule): if rule.priority < 0 { rule.priority = 32765 - rules6.count }; rules6.append(rule)
                }
            }
            var sockets: [SocketConfig] = []
            for (i, x) in (try r.array("sockets") ?? []).enumerated() { sockets.append(try decodeSocket(x, path: "/sockets/\(i)", id: i + 1)) }
            var qdiscTexts: [String] = []
            for (i, x) in (try r.array("qdiscs") ?? []).enumerated() {
                guard case .string(let t) = x else { throw JSONShapeError(path: "/qdiscs/\(i)", message: "expected a tc command string, got \(x.typeName)") }
                qdiscTexts.append(t)
            }
            let qdiscs: [QdiscConfig], classes: [TCClassConfig], clsact: [String]
            do throws(IndexedTCError) { (qdiscs, classes, clsact) = try TC.buildAll(qdiscTexts, devices: devices.map(\.name)) } catch {
                throw Problem.unprocessable(error.error.message, pointer: "/qdiscs/\(error.index)")
            }
            let sysctls = try sysctlMap(r.raw("sysctls"), path: "/sysctls")
            let costs = try intMap(r.raw("costs"), path: "/costs")
            let seed = try r.int("seed", in: 0...Int.max) ?? 0
            let epoch = try r.int("epoch_ns", in: 0...Int(Int64.max / 2)) ?? 0
            let trace = try r.string("trace") ?? "full"
            guard TraceMode(trace) != nil else { throw Problem.unprocessable(TraceMode.help, pointer: "/trace") }
            var maxAge: Int? = nil, maxTraces: Int? = nil
            if var ret = try r.object("retention") {
                maxAge = try ret.int("max_age_s", in: 1...(100 * 365 * 86_400))
                maxTraces = try ret.int("max_traces", in: 1...1_000_000_000)
                try ret.finish()
            }
            var xdp: [XDPConfig] = []
            for (i, x) in (try r.array("xdp") ?? []).enumerated() { xdp.append(try decodeXDP(x, path: "/xdp/\(i)")) }
            var tcFilters: [TCFilterConfig] = []
            for (i, f) in (try r.array("tc_filters") ?? []).enumerated() {
                tcFilters.append(try decodeTCFilter(f, path: "/tc_filters/\(i)", existing: tcFilters))
            }
            let ipsets = try r.string("ipsets") ?? ""
            let ipsetsGeneration = try r.int("ipsets_generation", in: 0...Int.max) ?? 0
            try r.finish()
            var c = StackConfig(name: name, cpus: cpus, devices: devices, routes: routes, neighbours: neighbours, sockets: sockets,
                                sysctls: sysctls, costs: costs)
            c.routes6 = routes6
            c.rules = rules
            c.rules6 = rules6
            c.neighbours6 = neighbours6
            c.qdiscs = qdiscs
            c.classes = classes
            c.seed = UInt64(seed)
            c.epochNs = UInt64(epoch)
            c.traceMode = trace
            c.retentionMaxAgeS = maxAge
            c.retentionMaxTraces = maxTraces
            c.xdp = xdp
            c.tcFilters = tcFilters
            c.clsact = clsact
            c.ipsets = ipsets
            c.ipsetsGeneration = ipsetsGeneration
            return c
        }
    }

    /// A route or neighbour of either IP version, as the documents carry them.
    enum Route { case v4(RouteConfig), v6(Route6Config) }
    enum Neighbour { case v4(NeighbourConfig), v6(Neighbour6Config) }

    static func encodeRoute(_ r: Route) -> JSONValue {
        let (dst, via, dev, metric): (String, String?, String, Int) = switch r {
        case .v4(let r): (r.dst.description, r.via?.description, r.dev, r.metric)
        case .v6(let r): (r.dst.description, r.via?.description, r.dev, r.metric)
        }
        var x = JSONObject()
        x.set("dst", dst)
        if let via { x.set("via", via) }
        x.set("dev", dev)
        x.set("metric", metric)
        let (table, type): (Int, RouteType) = switch r {
        case .v4(let r): (r.table, r.type)
        case .v6(let r): (r.table, r.type)
        }
        if table != FIB.main { x.set("table", tableName(table)) }
        if type != .unicast { x.set("type", type.rawValue) }
        return x.value
    }

    static func encodeNeighbour(_ n: Neighbour) -> JSONValue {
        let (address, mac, dev): (String, MACAddress, String) = switch n {
        case .v4(let n): (n.address.description, n.mac, n.dev)
        case .v6(let n): (n.address.description, n.mac, n.dev)
        }
        return .object([("address", .string(address)), ("mac", .string(mac.description)), ("dev", .string(dev))])
    }

    static func encodeSocketConfig(_ c: SocketConfig) -> JSONValue {
        var x = JSONObject()
        x.set("id", c.id)
        x.set("protocol", c.proto.rawValue)
        x.set("address", c.address6?.description ?? c.address.description)
        if c.address6 != nil { x.set("v6only", c.v6only) }
        x.set("port", Int(c.port))
        if let b = c.rcvbuf { x.set("rcvbuf", b) }
        if let b = c.sndbuf { x.set("sndbuf", b) }
        if c.tos != 0 { x.set("tos", Int(c.tos)) }
        if c.tclass != 0 { x.set("tclass", Int(c.tclass)) }
        if let p = c.priority { x.set("priority", Int(p)) }
        if c.pmtudisc != .want { x.set("pmtudisc", c.pmtudisc.rawValue) }
        if c.pmtudisc6 != .want { x.set("ipv6_pmtudisc", c.pmtudisc6.rawValue) }
        if let g = c.udpSegment { x.set("udp_segment", g) }
        if c.recverr { x.set("recverr", true) }
        if c.transparent { x.set("transparent", true) }
        if c.freebind { x.set("freebind", true) }
        if c.recverr6 { x.set("ipv6_recverr", true) }
        if let v = c.ttl { x.set("ttl", v) }
        if let v = c.multicastTTL { x.set("multicast_ttl", v) }
        if let v = c.unicastHops { x.set("unicast_hops", v) }
        if let v = c.multicastHops { x.set("multicast_hops", v) }
        if let v = c.multicastIf6 { x.set("ipv6_multicast_if", v) }
        if !c.multicastLoop { x.set("multicast_loop", false) }
        if !c.multicastLoop6 { x.set("ipv6_multicast_loop", false) }
        if c.broadcast { x.set("broadcast", true) }
        if let p = c.peer { x.set("peer", "\(p):\(c.peerPort)") }
        if let p = c.peer6 { x.set("peer", "[\(p)]:\(c.peerPort)") }
        if let d = c.bindDevice { x.set("bindtodevice", d) }
        if !c.memberships.isEmpty {
            x.set("memberships", .array(c.memberships.map { .object([("group", .string($0.group.description)), ("interface", .string($0.dev))]) }))
        }
        if c.proto == .tcp {
            x.set("listen", c.listen)
            if c.listen { x.set("backlog", c.backlog) }
        }
        return x.value
    }

    static func isValidName(_ s: String, max: Int) -> Bool {
        !s.isEmpty && s.utf8.count <= max && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d
        }
    }

    private static func decodeDevice(_ v: JSONValue, path: String) throws -> DeviceConfig {
        var r = try FieldReader(v, path: path)
        let name = try r.requiredString("name")
        guard isValidName(name, max: 15) else {
            throw Problem.unprocessable("device name must be 1-15 characters of A-Z a-z 0-9 . _ - (IFNAMSIZ)", pointer: path + "/name")
        }
        let macText = try r.requiredString("mac")
        let mac: MACAddress
        do { mac = try MACAddress(parsing: macText) } catch { throw Problem.unprocessable("invalid MAC address \"\(macText)\"", pointer: path + "/mac") }
        guard !mac.isMulticast else { throw Problem.unprocessable("MAC address \(mac) is a group address", pointer: path + "/mac") }
        var addrs: [IPv4CIDR] = [], addrs6: [IPv6CIDR] = []
        for (i, a) in (try r.array("addresses") ?? []).enumerated() {
            guard case .string(let s) = a else { throw JSONShapeError(path: path + "/addresses/\(i)", message: "expected a string, got \(a.typeName)") }
            if s.contains(":") {
                guard let c = try? IPv6CIDR(parsing: s), !c.address.isMulticast, !c.address.isUnspecified else {
                    throw Problem.unprocessable("invalid IPv6 address/prefix \"\(s)\"", pointer: path + "/addresses/\(i)")
                }
                addrs6.append(c)
                continue
            }
            do { addrs.append(try IPv4CIDR(parsing: s)) } catch {
                throw Problem.unprocessable("invalid IPv4 address/prefix \"\(s)\"", pointer: path + "/addresses/\(i)")
            }
        }
        let mtu = try r.int("mtu", in: 68...65535) ?? 1500
        let rxq = try r.int("rx_queues", in: 1...64) ?? 1
        let ring = try r.int("ring_size", in: 1...32768) ?? 256
        let csum = try r.bool("rx_checksum_offload") ?? true
        let usecs = try r.int("rx_usecs", in: 0...1_000_000) ?? 0
        let frames = try r.int("rx_frames", in: 0...65535) ?? 1
        var key = RSS.verificationKey
        if let k = try r.string("rss_key") {
            guard let bytes = try? Hex.decode(k), bytes.count >= 40 else {
                throw Problem.unprocessable("rss_key must be at least 40 bytes of hex", pointer: path + "/rss_key")
            }
            key = bytes
        }
        let indir = try intList(r.raw("rss_indirection"), path: path + "/rss_indirection")
        var rps: [[Int]] = []
        if let list = try r.array("rps_cpus") {
            for (q, x) in list.enumerated() { rps.append(try intList(x, path: path + "/rps_cpus/\(q)") ?? []) }
        }
        let flowCnt = try r.int("rps_flow_cnt", in: 0...(1 << 20)) ?? 0
        let veth = try r.bool("veth") ?? false
        let peerText = try r.string("veth_peer")
        guard peerText == nil || VethPeer(rawValue: peerText!) != nil else {
            throw Problem.unprocessable("veth_peer must be none, gro or xdp-pass", pointer: path + "/veth_peer")
        }
        guard peerText == nil || veth else { throw Problem.unprocessable("veth_peer is for veth devices", pointer: path + "/veth_peer") }
        let txqlen = try r.int("tx_queue_len", in: 0...1_000_000) ?? 1000
        let txRing = try r.int("tx_ring_size", in: 1...32768) ?? 256
        let speed = try r.int("speed", in: 0...10_000_000) ?? 0
        let tso = try r.bool("tso") ?? false
        let bql = try r.bool("bql")
        let txCsum = try r.bool("tx_checksum_offload") ?? true
        let uso = try r.bool("tx_udp_segmentation")
        try r.finish()
        var d = DeviceConfig(name: name, mac: mac, addresses: addrs, mtu: mtu, rxQueues: rxq, ringSize: ring, rxChecksumOffload: csum,
                             rxUsecs: usecs, rxFrames: frames, rssKey: key, rssIndirection: indir, rpsCPUs: rps, rpsFlowCount: flowCnt)
        d.veth = veth
        d.vethPeer = peerText.flatMap(VethPeer.init(rawValue:)) ?? .plain
        d.addresses6 = addrs6
        d.txQueueLen = txqlen; d.txRingSize = txRing; d.speedMbps = speed; d.tso = tso; d.txChecksumOffload = txCsum; d.udpSegmentationOffload = uso
        d.bql = bql
        return d
    }

    private static func intList(_ v: JSONValue?, path: String) throws -> [Int]? {
        guard let v else { return nil }
        guard case .array(let a) = v else { throw JSONShapeError(path: path, message: "expected an array, got \(v.typeName)") }
        return try a.enumerated().map { i, x in
            guard case .int(let n) = x else { throw JSONShapeError(path: path + "/\(i)", message: "expected an integer, got \(x.typeName)") }
            return n
        }
    }

    static func decodeNeighbour(_ v: JSONValue, path: String) throws -> Neighbour {
        var r = try FieldReader(v, path: path)
        let a = try r.requiredString("address"), m = try r.requiredString("mac"), dev = try r.requiredString("dev")
        try r.finish()
        guard let mac = try? MACAddress(parsing: m) else { throw Problem.unprocessable("invalid MAC address \"\(m)\"", pointer: path + "/mac") }
        if a.contains(":") {
            guard let addr = try? IPv6Address(parsing: a), !addr.isMulticast, !addr.isUnspecified else {
                throw Problem.unprocessable("invalid IPv6 address \"\(a)\"", pointer: path + "/address")
            }
            return .v6(Neighbour6Config(address: addr, mac: mac, dev: dev))
        }
        guard let addr = try? IPv4Address(parsing: a) else { throw Problem.unprocessable("invalid IPv4 address \"\(a)\"", pointer: path + "/address") }
        return .v4(NeighbourConfig(address: addr, mac: mac, dev: dev))
    }

    /// A socket of a stack document: group calls (ip_add_membership...) are refused there, as
    /// the document gives `memberships`.
    static func decodeSocket(_ v: JSONValue, path: String, id: Int) throws -> SocketConfig {
        let (c, ops) = try decodeSocketAndCalls(v, path: path, id: id)
        if let op = ops.first { throw Problem.unprocessable("\(op.key) is a call on a socket: a stack document gives memberships", pointer: op.pointer) }
        return c
    }

    /// A socket to bind (`POST .../sockets`), and the group calls to make once it is bound.
    static func decodeSocketAndCalls(_ v: JSONValue, path: String, id: Int) throws -> (SocketConfig, [GroupOp]) {
        var r = try FieldReader(v, path: path)
        let proto = try r.string("protocol") ?? "udp"
        guard let p = SocketConfig.Proto(rawValue: proto) else { throw Problem.unprocessable("protocol must be udp, tcp, icmp or icmpv6", pointer: path + "/protocol") }
        let addressText = try r.string("address") ?? (p == .icmpv6 ? "::" : "0.0.0.0")
        // An IPv6 address may carry a scope id (`fe80::1%eth0`: bind to that device too).
        let parts = addressText.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let a = parts[0]
        let scope = parts.count == 2 ? parts[1] : nil
        if parts.count == 2 && (parts[1].isEmpty || !a.contains(":")) {
            throw Problem.unprocessable("a scope id (%DEVICE) follows an IPv6 address", pointer: path + "/address")
        }
        // A ping socket's port is its echo identifier: 0 or none takes the next free one (ping_get_port).
        guard let port = try r.int("port", in: p.isPing ? 0...65535 : 1...65535) ?? (p.isPing ? 0 : nil) else { throw JSONShapeError(path: path + "/port", message: "is required") }
        if p == .icmp && a.contains(":") || p == .icmpv6 && !a.contains(":") {
            throw Problem.unprocessable("an icmp ping socket is AF_INET (an IPv4 address), an icmpv6 one AF_INET6 (an IPv6 address)", pointer: path + "/address")
        }
        let rcvbuf = try r.int("rcvbuf", in: 256...(1 << 30))
        let given = try r.int("id", in: 1...Int(Int32.max))
        let v6only = try r.bool("v6only")
        let listen = try r.bool("listen")
        let backlog = try r.int("backlog", in: 0...Int(Int32.max))
        let transparent = try r.bool("transparent")
        let freebind = try r.bool("freebind")
        // A connected datagram socket's peer, as the document keeps it ("198.18.0.9:6000",
        // "[2001:db8::9]:6000"; a ping socket's port is unused, 0 unless connect gave one).
        var peer: (SockAddr, UInt16)? = nil
        if let t = try r.string("peer") {
            peer = Self.decodePeer(t, portZero: p.isPing)
            var fits = p != .tcp && peer != nil
            if case (.v6, _)? = peer, !a.contains(":") { fits = false }
            if case (.v4, _)? = peer, p == .icmpv6 { fits = false }
            guard fits else {
                throw Problem.unprocessable("peer is a UDP or ping socket's ADDRESS:PORT, [IPV6]:PORT for an IPv6 socket (set by connect)", pointer: path + "/peer")
            }
        }
        if p != .tcp && (listen != nil || backlog != nil) {
            throw Problem.unprocessable("listen and backlog are for TCP sockets", pointer: path + (listen != nil ? "/listen" : "/backlog"))
        }
        if listen == false && backlog != nil { throw Problem.unprocessable("backlog is for a listening socket", pointer: path + "/backlog") }
        let opts = try decodeSocketOptions(&r, path: path)
        if p == .tcp, let op = opts.groupOps.first { throw Problem.unprocessable("\(op.key) on a TCP socket (EPROTO)", pointer: op.pointer) }
        let memberships = try decodeMemberships(r.raw("memberships"), path: path + "/memberships", v6Socket: a.contains(":"))
        if p == .tcp && !memberships.isEmpty { throw Problem.unprocessable("memberships are for UDP and ping sockets", pointer: path + "/memberships") }
        if p == .tcp && opts.pmtudisc6 != nil {
            throw Problem.unprocessable("not supported yet: ipv6_pmtudisc on a TCP socket (its segments would not heed it)", pointer: path + "/ipv6_pmtudisc")
        }
        if let k = opts.ipv6Only.first, !a.contains(":") {
            throw Problem.unprocessable("\(k) is for IPv6 (AF_INET6) sockets (ENOPROTOOPT on an AF_INET one)", pointer: path + "/" + k)
        }
        try r.finish()
        func with(_ c: SocketConfig) -> SocketConfig {
            var c = c
            if let listen { c.listen = listen }
            if let backlog { c.backlog = backlog }
            c.sndbuf = opts.sndbuf
            if let t = opts.tos { c.tos = t }
            if let t = opts.tclass { c.tclass = t }
            c.priority = opts.priority
            if let m = opts.pmtudisc { c.pmtudisc = m }
            if let m = opts.pmtudisc6 { c.pmtudisc6 = m }
            c.udpSegment = opts.udpSegment.flatMap { $0 == 0 ? nil : $0 }
            if let e = opts.recverr { c.recverr = e }
            if let t = transparent { c.transparent = t }
            if let f = freebind { c.freebind = f }
            switch peer {
            case (.v4(let a), let port)?: c.peer = a; c.peerPort = port
            case (.v6(let a), let port)?: c.peer6 = a; c.peerPort = port
            case nil: break
            }
            if let e = opts.recverr6 { c.recverr6 = e }
            opts.hops.apply(to: &c)
            if let b = opts.broadcast { c.broadcast = b }
            if let m = opts.multicastIf6 { c.multicastIf6 = m.isEmpty ? nil : m }
            if let l = opts.multicastLoop { c.multicastLoop = l }
            if let l = opts.multicastLoop6 { c.multicastLoop6 = l }
            if let d = opts.bindToDevice { c.bindDevice = d.isEmpty ? nil : d }
            // bind() with a scope id binds the socket to that device, whatever SO_BINDTODEVICE said.
            if let sc = scope { c.bindDevice = sc }
            c.memberships = memberships
            return c
        }
        // An IPv6 address makes an AF_INET6 socket (`::` takes IPv4 too unless v6only).
        if a.contains(":") {
            guard let addr = try? IPv6Address(parsing: a) else { throw Problem.unprocessable("invalid IPv6 address \"\(a)\"", pointer: path + "/address") }
            return (with(SocketConfig(id: given ?? id, proto: p, address6: addr, v6only: v6only ?? false, port: UInt16(port), rcvbuf: rcvbuf)), opts.groupOps)
        }
        if v6only != nil { throw Problem.unprocessable("v6only is for IPv6 (AF_INET6) sockets", pointer: path + "/v6only") }
        guard let addr = try? IPv4Address(parsing: a) else { throw Problem.unprocessable("invalid IPv4 address \"\(a)\"", pointer: path + "/address") }
        return (with(SocketConfig(id: given ?? id, proto: p, address: addr, port: UInt16(port), rcvbuf: rcvbuf)), opts.groupOps)
    }

    /// `198.18.0.9:6000` or `[2001:db8::9]:6000`: a peer and its port (not 0).
    static func decodePeer(_ t: String, portZero: Bool = false) -> (SockAddr, UInt16)? {
        guard let colon = t.lastIndex(of: ":"), let port = UInt16(t[t.index(after: colon)...]), port > 0 || portZero else { return nil }
        let host = t[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]"), let a = try? IPv6Address(parsing: String(host.dropFirst().dropLast())), !a.isV4Mapped { return (.v6(a), port) }
        return (try? IPv4Address(parsing: String(host))).map { (.v4($0), port) }
    }

    /// The setsockopt options a socket takes (besides rcvbuf): sndbuf, tos, tclass (IPV6_TCLASS), priority, pmtudisc,
    /// ipv6_pmtudisc (IPV6_MTU_DISCOVER; UDP sockets: TCP's segments do not heed it yet),
    /// udp_segment, recverr (IP_RECVERR), ipv6_recverr (IPV6_RECVERR), ttl (IP_TTL),
    /// multicast_ttl (IP_MULTICAST_TTL), unicast_hops and multicast_hops (IPV6_UNICAST_HOPS,
    /// IPV6_MULTICAST_HOPS), broadcast (SO_BROADCAST); the IPV6_ ones for AF_INET6 sockets only. -1
    /// sets a hop option back to its default.
    struct SocketOptions {
        var sndbuf: Int?; var tos: UInt8?; var tclass: UInt8? = nil; var priority: UInt32?; var pmtudisc: SocketConfig.PMTUDisc?; var pmtudisc6: SocketConfig.PMTUDisc6? = nil
        var udpSegment: Int?; var recverr: Bool?; var recverr6: Bool?
        var hops = SocketHops()
        var broadcast: Bool? = nil
        /// IPV6_MULTICAST_IF: a device name ("" clears it).
        var multicastIf6: String? = nil
        /// IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP.
        var multicastLoop: Bool? = nil, multicastLoop6: Bool? = nil
        /// SO_BINDTODEVICE: a device name ("" unbinds).
        var bindToDevice: String? = nil
        /// IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP, in that order:
        /// calls on a socket rather than settings (a stack document gives `memberships`).
        var groupOps: [GroupOp] = []
        /// The IPv6-level options given (refused on an AF_INET socket).
        var ipv6Only: [String] {
            [("tclass", tclass != nil), ("ipv6_pmtudisc", pmtudisc6 != nil), ("ipv6_recverr", recverr6 != nil), ("unicast_hops", hops.unicastHops != nil), ("multicast_hops", hops.multicastHops != nil),
             ("ipv6_multicast_if", multicastIf6 != nil), ("ipv6_multicast_loop", multicastLoop6 != nil),
             ("ipv6_join_group", groupOps.contains { $0.key == "ipv6_join_group" }), ("ipv6_leave_group", groupOps.contains { $0.key == "ipv6_leave_group" })].filter(\.1).map(\.0)
        }
    }

    /// One group call: `{"group": G, "interface": DEVICE, "address": A}` (address: ip_mreq's
    /// imr_address, IPv4 only), under the option's name (`key`) for errors' pointers.
    struct GroupOp {
        var key: String, pointer: String
        var join: Bool
        var group: SockAddr
        var interface: String?, address: IPv4Address?
    }

    static func decodeGroupOps(_ r: inout FieldReader, path: String) throws -> [GroupOp] {
        var ops: [GroupOp] = []
        for key in ["ip_add_membership", "ip_drop_membership", "ipv6_join_group", "ipv6_leave_group"] {
            guard let v = r.raw(key) else { continue }
            let v4 = key.hasPrefix("ip_")
            // One call, or several in order.
            let (items, listed): ([JSONValue], Bool) = if case .array(let a) = v { (a, true) } else { ([v], false) }
            for (k, item) in items.enumerated() {
                let at = path + "/" + key + (listed ? "/\(k)" : "")
                var g = try FieldReader(item, path: at)
                let text = try g.requiredString("group")
                let interface = try g.string("interface")
                let address = v4 ? try g.string("address") : nil
                try g.finish()
                let group: SockAddr
                if v4 {
                    guard let a = try? IPv4Address(parsing: text) else { throw Problem.unprocessable("group is not an IPv4 address", pointer: at + "/group") }
                    group = .v4(a)
                } else {
                    guard let a = try? IPv6Address(parsing: text) else { throw Problem.unprocessable("group is not an IPv6 address", pointer: at + "/group") }
                    group = .v6(a)
                }
                var addr: IPv4Address? = nil
                if let address {
                    guard let a = try? IPv4Address(parsing: address) else { throw Problem.unprocessable("address is not an IPv4 address", pointer: at + "/address") }
                    addr = a
                }
                ops.append(GroupOp(key: key, pointer: at, join: key.hasSuffix("membership") ? key == "ip_add_membership" : key == "ipv6_join_group",
                                   group: group, interface: interface, address: addr))
            }
        }
        return ops
    }

    /// The groups a socket is in, as the document keeps them: `[{"group": G, "interface": DEVICE}]`.
    static func decodeMemberships(_ v: JSONValue?, path: String, v6Socket: Bool) throws -> [Membership] {
        guard let v else { return [] }
        guard case .array(let items) = v else { throw JSONShapeError(path: path, message: "must be an array") }
        return try items.enumerated().map { k, item in
            var g = try FieldReader(item, path: path + "/\(k)")
            let text = try g.requiredString("group"), dev = try g.requiredString("interface")
            try g.finish()
            if let a = try? IPv4Address(parsing: text), a.isMulticast { return Membership(group: .v4(a), dev: dev) }
            if v6Socket, let a = try? IPv6Address(parsing: text), a.isMulticast { return Membership(group: .v6(a), dev: dev) }
            throw Problem.unprocessable(v6Socket ? "group is not a multicast address" : "group is not an IPv4 multicast address (an AF_INET socket's)", pointer: path + "/\(k)/group")
        }
    }
    static func decodeSocketOptions(_ r: inout FieldReader, path: String) throws -> SocketOptions {
        let sndbuf = try r.int("sndbuf", in: 0...(1 << 30))
        let tos = try r.int("tos", in: 0...255).map { UInt8($0) }
        let tclass = try r.int("tclass", in: 0...255).map { UInt8($0) }
        let priority = try r.int("priority", in: 0...Int(UInt32.max)).map { UInt32($0) }
        var mode: SocketConfig.PMTUDisc?
        if let m = try r.string("pmtudisc") {
            guard let v = SocketConfig.PMTUDisc(rawValue: m) else {
                throw Problem.unprocessable("pmtudisc must be dont, want, do or probe (IP_PMTUDISC_*)", pointer: path + "/pmtudisc")
            }
            mode = v
        }
        var mode6: SocketConfig.PMTUDisc6?
        if let m = try r.string("ipv6_pmtudisc") {
            guard let v = SocketConfig.PMTUDisc6(rawValue: m) else {
                throw Problem.unprocessable("ipv6_pmtudisc must be dont, want, do, probe, interface or omit (IPV6_PMTUDISC_*)", pointer: path + "/ipv6_pmtudisc")
            }
            mode6 = v
        }
        let gso = try r.int("udp_segment", in: 0...65507)
        let recverr = try r.bool("recverr"), recverr6 = try r.bool("ipv6_recverr")
        // IP_TTL takes 1-255, the others 0-255; -1 is each one's default.
        func hop(_ k: String, _ lo: Int) throws -> Int? {
            guard let v = try r.int(k, in: -1...255) else { return nil }
            guard v == -1 || v >= lo else { throw Problem.unprocessable("\(k) must be -1 (the default) or \(lo)-255 (EINVAL)", pointer: path + "/" + k) }
            return v
        }
        let hops = SocketHops(ttl: try hop("ttl", 1), multicastTTL: try hop("multicast_ttl", 0), unicastHops: try hop("unicast_hops", 0), multicastHops: try hop("multicast_hops", 0))
        return SocketOptions(sndbuf: sndbuf, tos: tos, tclass: tclass, priority: priority, pmtudisc: mode, pmtudisc6: mode6, udpSegment: gso, recverr: recverr, recverr6: recverr6, hops: hops,
                             broadcast: try r.bool("broadcast"), multicastIf6: try r.string("ipv6_multicast_if"),
                             multicastLoop: try r.bool("multicast_loop"), multicastLoop6: try r.bool("ipv6_multicast_loop"),
                             bindToDevice: try r.string("bindtodevice"), groupOps: try decodeGroupOps(&r, path: path))
    }

    static func decodeRoute(_ v: JSONValue, path: String) throws -> Route {
        var r = try FieldReader(v, path: path)
        let dstText = try r.requiredString("dst")
        let viaText = try r.string("via")
        let devGiven = try r.string("dev")
        let metricGiven = try r.int("metric", in: 0...Int(UInt32.max))
        let tableValue = r.raw("table")
        let typeText = try r.string("type")
        try r.finish()
        // An IPv6 route: `ip -6 route add` (metric 1024 unless given).
        if dstText.contains(":") || viaText?.contains(":") == true {
            let type: RouteType
            switch typeText {
            case nil, "unicast"?: type = .unicast
            case "unreachable"?: type = .unreachable
            default: throw Problem.unprocessable("type of an IPv6 route must be unicast or unreachable (others are not supported yet)", pointer: path + "/type")
            }
            if type == .unreachable, viaText != nil { throw Problem.unprocessable("an unreachable route has no gateway", pointer: path + "/via") }
            // An unreachable route goes nowhere: the kernel lists it on lo whatever the device given.
            guard let dev = type == .unreachable ? "lo" : devGiven else { throw Problem.unprocessable("dev is required", pointer: path + "/dev") }
            let table = try decodeTable(tableValue, path: path + "/table")
            if table == FIB.local { throw Problem.unprocessable("not supported yet: routes of the local table (it holds our addresses)", pointer: path + "/table") }
            let dst: IPv6CIDR
            do { dst = try IPv6CIDR(parsing: dstText == "default" ? "::/0" : dstText) } catch {
                throw Problem.unprocessable("invalid destination prefix \"\(dstText)\"", pointer: path + "/dst")
            }
            guard dst.address == dst.network else {
                throw Problem.unprocessable("Invalid prefix for given prefix length: \(dstText) has host bits set (did you mean \(dst.network)/\(dst.prefixLength)?)",
                                            pointer: path + "/dst")
            }
            var via: IPv6Address? = nil
            if let v = viaText {
                do { via = try IPv6Address(parsing: v) } catch { throw Problem.unprocessable("invalid IPv6 gateway \"\(v)\"", pointer: path + "/via") }
            }
            return .v6(Route6Config(dst: dst, via: via, dev: dev, metric: metricGiven ?? 1024, table: table, type: type))
        }
        guard let dev = devGiven else { throw Problem.unprocessable("dev is required", pointer: path + "/dev") }
        let dst: IPv4CIDR
        if dstText == "default" { dst = IPv4CIDR(address: .any, prefixLength: 0) } else {
            do { dst = try IPv4CIDR(parsing: dstText) } catch { throw Problem.unprocessable("invalid destination prefix \"\(dstText)\"", pointer: path + "/dst") }
            // As `ip route add 10.0.0.1/8` answers: host bits set beyond the prefix are an error.
            guard dst.address == dst.network else {
                throw Problem.unprocessable("Invalid prefix for given prefix length: \(dstText) has host bits set (did you mean \(dst.network)/\(dst.prefixLength)?)",
                                            pointer: path + "/dst")
            }
        }
        var via: IPv4Address? = nil
        if let v = viaText {
            do { via = try IPv4Address(parsing: v) } catch { throw Problem.unprocessable("invalid gateway \"\(v)\"", pointer: path + "/via") }
        }
        let table = try decodeTable(tableValue, path: path + "/table")
        if table == FIB.local { throw Problem.unprocessable("not supported yet: routes of the local table (it holds our addresses)", pointer: path + "/table") }
        let type: RouteType
        switch typeText {
        case nil, "unicast"?: type = .unicast
        case "local"?: type = .local
        default: throw Problem.unprocessable("type must be unicast or local (others are not supported yet)", pointer: path + "/type")
        }
        return .v4(RouteConfig(dst: dst, via: via, dev: dev, metric: metricGiven ?? 0, table: table, type: type))
    }

    /// Sysctls by Linux name; a vector one (net.ipv4.tcp_rmem, net.ipv4.ping_group_range) as its
    /// values, an array or the text `sysctl -w` takes ("4096 131072 6291456"), kept as NAME[0], NAME[1]...
    private static func sysctlMap(_ v: JSONValue?, path: String) throws -> [String: Int] {
        guard let v else { return [:] }
        guard case .object(let kv) = v else { throw JSONShapeError(path: path, message: "expected an object, got \(v.typeName)") }
        var out: [String: Int] = [:]
        for (k, x) in kv {
            guard vectorSysctls[k] != nil else {
                guard case .int(let n) = x else { throw JSONShapeError(path: path + "/" + k, message: "expected an integer, got \(x.typeName)") }
                out[k] = n
                continue
            }
            var values: [Int] = []
            switch x {
            case .array(let a): values = a.compactMap { if case .int(let n) = $0 { n } else { nil } }; if values.count != a.count { values = [] }
            case .string(let t): values = t.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
            default: break
            }
            let n = vectorSysctls[k]!
            guard values.count == n else {
                throw Problem.unprocessable("\(k) takes \(n == 3 ? "three integers (min, default, max)" : "two integers (low, high)")", pointer: path + "/" + k)
            }
            for (i, n) in values.enumerated() { out["\(k)[\(i)]"] = n }
        }
        return out
    }
    /// Sysctls of several values, and how many.
    static let vectorSysctls: [String: Int] = ["net.ipv4.tcp_rmem": 3, "net.ipv4.ping_group_range": 2]

    /// The stored form of sysctls: a vector one as its array again.
    static func encodeSysctls(_ m: [String: Int]) -> JSONValue {
        var out: [(String, JSONValue)] = []
        var vectors: [String: [Int: Int]] = [:]
        for (k, v) in m {
            if k.hasSuffix("]"), let open = k.lastIndex(of: "["), let i = Int(k[k.index(after: open)..<k.index(before: k.endIndex)]) {
                vectors[String(k[..<open]), default: [:]][i] = v
            } else {
                out.append((k, .int(v)))
            }
        }
        for (k, parts) in vectors {
            let defaults = Sysctl.allCases.filter { $0.name.hasPrefix(k + "[") }.map(\.defaultValue)
            let n = vectorSysctls[k] ?? 3
            out.append((k, .array((0..<n).map { .int(parts[$0] ?? (defaults.count == n ? defaults[$0] : 0)) })))
        }
        return .object(out.sorted { $0.0 < $1.0 })
    }

    private static func intMap(_ v: JSONValue?, path: String) throws -> [String: Int] {
        guard let v else { return [:] }
        guard case .object(let kv) = v else { throw JSONShapeError(path: path, message: "expected an object, got \(v.typeName)") }
        var out: [String: Int] = [:]
        for (k, x) in kv {
            guard case .int(let n) = x else { throw JSONShapeError(path: path + "/" + k, message: "expected an integer, got \(x.typeName)") }
            out[k] = n
        }
        return out
    }

    /// The stored and returned form: every default filled in, keys in a fixed order.
    static func encode(_ c: StackConfig) -> JSONValue {
        var o = JSONObject()
        o.set("name", c.name)
        o.set("cpus", c.cpus)
        o.set("devices", .array(c.devices.map { d in
            var x = JSONObject()
            x.set("name", d.name)
            x.set("mac", d.mac.description)
            x.set("addresses", .array(d.addresses.map { .string($0.description) } + d.addresses6.map { .string($0.description) }))
            x.set("mtu", d.mtu)
            x.set("rx_queues", d.rxQueues)
            x.set("ring_size", d.ringSize)
            x.set("rx_checksum_offload", d.rxChecksumOffload)
            x.set("rx_usecs", d.rxUsecs)
            x.set("rx_frames", d.rxFrames)
            x.set("rss_key", Hex.encode(d.rssKey))
            if let t = d.rssIndirection { x.set("rss_indirection", .array(t.map { .int($0) })) }
            x.set("rps_cpus", .array(d.rpsCPUs.map { .array($0.map { .int($0) }) }))
            x.set("rps_flow_cnt", d.rpsFlowCount)
            if d.veth { x.set("veth", true) }
            if d.vethPeer != .plain { x.set("veth_peer", d.vethPeer.rawValue) }
            x.set("tx_queue_len", d.txQueueLen)
            x.set("tx_ring_size", d.txRingSize)
            x.set("speed", d.speedMbps)
            x.set("tso", d.tso)
            if let b = d.bql { x.set("bql", b) }
            x.set("tx_checksum_offload", d.txChecksumOffload)
            x.set("tx_udp_segmentation", d.udpSegmentationOffload ?? d.veth)
            return x.value
        }))
        o.set("routes", .array(c.routes.map { encodeRoute(.v4($0)) } + c.routes6.map { encodeRoute(.v6($0)) }))
        if !c.rules.isEmpty || !c.rules6.isEmpty { o.set("rules", .array(c.rules.map { encodeRule(.v4($0)) } + c.rules6.map { encodeRule(.v6($0)) })) }
        o.set("neighbours", .array(c.neighbours.map { encodeNeighbour(.v4($0)) } + c.neighbours6.map { encodeNeighbour(.v6($0)) }))
        o.set("sockets", .array(c.sockets.map(encodeSocketConfig)))
        o.set("qdiscs", .array(TC.commands(qdiscs: c.qdiscs, classes: c.classes, clsact: c.clsact).map { .string($0) }))
        o.set("sysctls", encodeSysctls(c.sysctls))
        o.set("costs", .object(c.costs.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
        o.set("seed", Int(c.seed))
        o.set("epoch_ns", Int(c.epochNs))
        o.set("trace", c.traceMode)
        if !c.xdp.isEmpty { o.set("xdp", .array(c.xdp.map(encodeXDP))) }
        if !c.tcFilters.isEmpty { o.set("tc_filters", .array(c.tcFilters.map(encodeTCFilter))) }
        if !c.ipsets.isEmpty {
            o.set("ipsets", c.ipsets)
            o.set("ipsets_generation", c.ipsetsGeneration)
        }
        if c.retentionMaxAgeS != nil || c.retentionMaxTraces != nil {
            o.set("retention", .object([("max_age_s", c.retentionMaxAgeS.map { .int($0) } ?? .null),
                                        ("max_traces", c.retentionMaxTraces.map { .int($0) } ?? .null)]))
        }
        return o.value
    }

    /// An XDP attachment: `{"dev", "mode": "native"|"generic", "object": base64 ELF, "object_name",
    /// "section", "program", "maps": {name: [[key hex, value hex], ...]}}`.
    static func decodeXDP(_ v: JSONValue, path: String) throws -> XDPConfig {
        var r = try FieldReader(v, path: path)
        let dev = try r.requiredString("dev")
        let modeText = try r.string("mode") ?? "generic"
        guard let mode = XDPMode(rawValue: modeText) else { throw Problem.unprocessable("mode must be native (xdpdrv) or generic (xdpgeneric)", pointer: path + "/mode") }
        let source = try decodeSource(&r, path: path)
        try r.finish()
        return XDPConfig(dev: dev, mode: mode, source: source)
    }

    /// A tc filter: `{"dev", "direction": "ingress"|"egress", "pref", "object", "object_name",
    /// "section" (default classifier), "program", "maps"}`; without pref, tc's choice: 49152 for a
    /// hook's first filter, else one less than its lowest.
    static func decodeTCFilter(_ v: JSONValue, path: String, existing: [TCFilterConfig]) throws -> TCFilterConfig {
        var r = try FieldReader(v, path: path)
        let dev = try r.requiredString("dev")
        let dirText = try r.requiredString("direction")
        guard let direction = TCDirection(rawValue: dirText) else { throw Problem.unprocessable("direction must be ingress or egress", pointer: path + "/direction") }
        let same = existing.filter { $0.dev == dev && $0.direction == direction }.map(\.pref)
        let pref = try r.int("pref", in: 1...0xffff) ?? (same.min().map { $0 - 1 } ?? 0xc000)
        guard pref >= 1 else { throw Problem.unprocessable("no pref left below 1 on \(dev) \(direction.rawValue); give one", pointer: path + "/pref") }
        let source = try decodeSource(&r, path: path)
        try r.finish()
        return TCFilterConfig(dev: dev, direction: direction, pref: pref, source: source)
    }

    /// The fields naming a program (an object file's, or raw instructions), shared by XDP and tc attachments.
    static func decodeSource(_ r: inout FieldReader, path: String) throws -> BPFSource {
        var data = Data(), raw: RawBPF? = nil
        if let hex = try r.string("insns") {
            // Raw instructions: `{"insns": hex, "map_defs": [...], "license", "name"}`.
            guard let b = try? Hex.decode(hex.filter { !$0.isWhitespace }), !b.isEmpty, b.count % 8 == 0 else {
                throw Problem.unprocessable("insns must be hex, 8 bytes an instruction (little-endian, as clang writes them)", pointer: path + "/insns")
            }
            guard b.count <= 8 * 1_000_000 else { throw Problem.unprocessable("more than 1,000,000 instructions (BPF_COMPLEXITY_LIMIT_INSNS)", pointer: path + "/insns") }
            var defs: [BPFMapSpec] = []
            for (i, m) in (try r.array("map_defs") ?? []).enumerated() {
                let p = path + "/map_defs/\(i)"
                var mr = try FieldReader(m, path: p)
                let name = try mr.requiredString("name"), typeName = try mr.requiredString("type")
                guard let t = BPFMapType(name: typeName) else {
                    throw Problem.unprocessable("type must be one of \(BPFMapType.allCases.map(\.name).joined(separator: ", "))", pointer: p + "/type")
                }
                guard isValidName(name, max: 15) else { throw Problem.unprocessable("name must be 1-15 characters of A-Z a-z 0-9 . _ -", pointer: p + "/name") }
                let spec = BPFMapSpec(name: name, type: t.rawValue, keySize: try mr.int("key_size", in: 1...1024) ?? 4, valueSize: try mr.int("value_size", in: 1...65536) ?? 8,
                                      maxEntries: try mr.int("max_entries", in: 1...(1 << 24)) ?? 1, flags: UInt32(try mr.int("flags", in: 0...0xffff) ?? 0))
                try mr.finish()
                defs.append(spec)
            }
            let name = try r.string("name") ?? "prog"
            guard isValidName(name, max: 64) else { throw Problem.unprocessable("name must be 1-64 characters of A-Z a-z 0-9 . _ -", pointer: path + "/name") }
            raw = RawBPF(name: name, insns: b, maps: defs, license: try r.string("license") ?? "GPL")
        } else {
            let b64 = try r.requiredString("object")
            guard let d = Data(base64Encoded: b64), !d.isEmpty else { throw Problem.unprocessable("object must be the ELF file in base64 (or give insns)", pointer: path + "/object") }
            guard d.count <= 16 << 20 else { throw Problem.unprocessable("object larger than 16 MiB", pointer: path + "/object") }
            data = d
        }
        let objectName = try r.string("object_name") ?? "prog"
        guard isValidName(objectName, max: 64) else { throw Problem.unprocessable("object_name must be 1-64 characters of A-Z a-z 0-9 . _ -", pointer: path + "/object_name") }
        let section = try r.string("section"), program = try r.string("program")
        var prefill: [String: [([UInt8], [UInt8])]] = [:]
        if let m = r.raw("maps") {
            guard case .object(let fields) = m else { throw JSONShapeError(path: path + "/maps", message: "expected an object of map name to entries") }
            for (k, v) in fields {
                guard case .array(let list) = v else { throw JSONShapeError(path: path + "/maps/\(k)", message: "expected an array of [key hex, value hex]") }
                prefill[k] = try list.enumerated().map { i, kv in
                    guard case .array(let pair) = kv, pair.count == 2, case .string(let kh) = pair[0], case .string(let vh) = pair[1],
                          let key = try? Hex.decode(kh), let value = try? Hex.decode(vh) else {
                        throw JSONShapeError(path: path + "/maps/\(k)/\(i)", message: "expected [key hex, value hex]")
                    }
                    return (key, value)
                }
            }
        }
        var progArrays: [String: [ProgArrayEntry]] = [:]
        if let pa = r.raw("prog_arrays") {
            guard case .object(let fields) = pa else { throw JSONShapeError(path: path + "/prog_arrays", message: "expected an object of map name to [[index, program name]]") }
            for (k, v) in fields {
                guard case .array(let list) = v else { throw JSONShapeError(path: path + "/prog_arrays/\(k)", message: "expected an array of [index, program name]") }
                progArrays[k] = try list.enumerated().map { i, e in
                    guard case .array(let pair) = e, pair.count == 2, case .int(let index) = pair[0], index >= 0, index <= Int(UInt32.max), case .string(let name) = pair[1] else {
                        throw JSONShapeError(path: path + "/prog_arrays/\(k)/\(i)", message: "expected [index, program name]")
                    }
                    return ProgArrayEntry(index: UInt32(index), program: name)
                }
            }
        }
        return BPFSource(object: Array(data), objectName: objectName, section: section, program: program, prefill: prefill, raw: raw, progArrays: progArrays)
    }

    static func encodeTCFilter(_ f: TCFilterConfig) -> JSONValue {
        var o = JSONObject()
        o.set("dev", f.dev)
        o.set("direction", f.direction.rawValue)
        o.set("pref", f.pref)
        encodeSource(&o, f.source)
        return o.value
    }

    static func encodeSource(_ o: inout JSONObject, _ src: BPFSource) {
        let (object, name, section, program, prefill, raw, progArrays) = (src.object, src.objectName, src.section, src.program, src.prefill, src.raw, src.progArrays)
        if let raw {
            o.set("insns", Hex.encode(raw.insns))
            o.set("map_defs", .array(raw.maps.map { m in
                .object([("name", .string(m.name)), ("type", .string(BPFMapType(rawValue: m.type)?.name ?? String(m.type))), ("key_size", .int(m.keySize)),
                         ("value_size", .int(m.valueSize)), ("max_entries", .int(m.maxEntries)), ("flags", .int(Int(m.flags)))])
            }))
            o.set("license", raw.license)
            o.set("name", raw.name)
        } else {
            o.set("object", Data(object).base64EncodedString())
            o.set("object_name", name)
        }
        if let s = section { o.set("section", s) }
        if let p = program { o.set("program", p) }
        if !prefill.isEmpty {
            o.set("maps", .object(prefill.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .array([.string(Hex.encode($0.0)), .string(Hex.encode($0.1))]) })) }))
        }
        if !progArrays.isEmpty {
            o.set("prog_arrays", .object(progArrays.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .array([.int(Int($0.index)), .string($0.program)]) })) }))
        }
    }

    static func encodeXDP(_ x: XDPConfig) -> JSONValue {
        var o = JSONObject()
        o.set("dev", x.dev)
        o.set("mode", x.mode.rawValue)
        encodeSource(&o, x.source)
        return o.value
    }
}
