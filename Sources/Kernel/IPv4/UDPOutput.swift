import Wire

/// One datagram a UDP socket sends: `sendto(fd, payload, MSG_DONTWAIT, dst)` at a virtual time.
public struct Send: Sendable {
    public var socket: Int
    public var dst: IPv4Address
    /// An IPv6 destination (an AF_INET6 socket's `sendto`); `dst` is then unused.
    public var dst6: IPv6Address?
    public var port: UInt16
    public var payload: [UInt8]
    /// When the process calls sendto (virtual ns; nil = now).
    public var atNs: UInt64?
    /// SO_PRIORITY set on the socket just before this call (it keeps it afterwards).
    public var priority: UInt32?
    /// `send` without an address on a connected socket: udp_sendmsg takes the route cached at
    /// connect, whose broadcast check was made then (SO_BROADCAST cleared since does not count).
    public var toPeer = false
    /// sin6_scope_id as a device index (-1: no such device): the device a link-local or
    /// link-scope multicast destination is reached by; other destinations ignore it.
    public var scope: Int? = nil
    public init(socket: Int, dst: IPv4Address, port: UInt16, payload: [UInt8], atNs: UInt64? = nil) {
        self.socket = socket; self.dst = dst; self.port = port; self.payload = payload; self.atNs = atNs
    }
    public init(socket: Int, dst6: IPv6Address, port: UInt16, payload: [UInt8], atNs: UInt64? = nil) {
        self.init(socket: socket, dst: .any, port: port, payload: payload, atNs: atNs)
        if dst6.isV4Mapped { dst = IPv4Address(raw: UInt32(truncatingIfNeeded: dst6.raw)) } else { self.dst6 = dst6 }
    }
}

// net/ipv4/udp.c (udp_sendmsg, udp_send_skb), net/ipv4/ip_output.c (ip_make_skb, __ip_append_data).
extension Stack {
    /// Runs each send at its time (the process runs on CPU 0) and the stack until no packet work
    /// is left; answers each datagram's outcome: transmitted, dropped on the way, or failed with an errno.
    public func send(_ batch: [Send]) -> [PacketResult] {
        beginRun()
        pendingSends = batch
        sendWaiters = Deque()
        for (i, s) in batch.enumerated() {
            let t = max(s.atNs ?? clockNs, clockNs)
            packets.append(PacketResult(device: "", outcome: .queued, dropReason: nil, stages: [], startNs: t, endNs: 0, frame: [],
                                        note: nil, rxQueue: 0, segments: 1, emitted: []))
            schedule(t, .udpSend(index: i))
        }
        let results = endRun()
        pendingSends = []
        return results
    }

    /// `udp_sendmsg` for an AF_INET socket, non-blocking: route, then `ip_make_skb` (one skb per
    /// fragment the MTU makes, each charged to sk_wmem_alloc; EAGAIN when it has reached
    /// sk_sndbuf), then `udp_send_skb` and `ip_send_skb` → `ip_local_out`.
    func udp_sendmsg(index i: Int, at t: UInt64) {
        let cpu = 0
        // The process runs when its CPU is free: a call that finds it busy starts when it is
        // (so what the earlier calls set off on the clock, TX completions included, comes first).
        // Calls wait their turn in order, only the first of them in the event queue: were each
        // to try again whenever the CPU moved, an overloaded CPU would cost n² event pops.
        if let head = sendWaiters.first, head != i { sendWaiters.append(i); return }
        if clocks[cpu] > t {
            if sendWaiters.isEmpty { sendWaiters.append(i) }
            return schedule(clocks[cpu], .udpSend(index: i))
        }
        if sendWaiters.first == i { _ = sendWaiters.popFirst() }
        defer { if let next = sendWaiters.first { schedule(clocks[cpu], .udpSend(index: next)) } }
        let req = pendingSends[i]
        clocks[cpu] = t
        let skb = SkBuff(frame: [], dev: 0, packet: i)
        skb.cpu = cpu
        if let sk = sockets.byID[req.socket], sk.config.isPing {
            return sk.config.proto == .icmp ? ping_v4_sendmsg(index: i, skb: skb, sk: sk) : ping_v6_sendmsg(index: i, skb: skb, sk: sk)
        }
        enter(.udp_sendmsg, skb)
        guard let sk = sockets.byID[req.socket], sk.config.proto == .udp else {
            return sendFailed(i, nil, "ENOTSOCK", "no UDP socket \(req.socket)")
        }
        if let p = req.priority { sk.config.priority = p }
        if !req.toPeer && req.port == 0 { return sendFailed(i, sk, "EINVAL", "destination port 0") }
        if let a6 = sk.config.address6 {
            if let dst6 = req.dst6 { return udpv6_sendmsg(index: i, skb: skb, sk: sk, dst: dst6) }
            // An AF_INET6 socket sends to a v4-mapped address as IPv4 (udp_sendmsg), unless V6ONLY
            // or bound to an IPv6 address.
            guard !sk.config.v6only, a6.isUnspecified || a6.isV4Mapped else {
                return sendFailed(i, sk, "ENETUNREACH", "an IPv6-only socket cannot reach \(req.dst)")
            }
        } else if req.dst6 != nil {
            return sendFailed(i, sk, "EAFNOSUPPORT", "an AF_INET socket cannot send to an IPv6 address")
        }
        let len = req.payload.count
        guard len <= 65507 else { return sendFailed(i, sk, "EMSGSIZE", "\(len) bytes do not fit one IPv4 datagram") }
        // RTCF_BROADCAST: only for a socket with SO_BROADCAST (recorded: scripts/record_hop_options.sh).
        let bcast = routeOutputBroadcast(req.dst, oif: sk.oif)
        if bcast != nil, !sk.config.broadcast, !req.toPeer { return sendFailed(i, sk, "EACCES", "\(req.dst) is a broadcast address and the socket has no SO_BROADCAST") }
        guard let route = bcast ?? routeOutput(req.dst, oif: sk.oif) else {
            snmp.ip.OutNoRoutes += 1
            return sendFailed(i, sk, "ENETUNREACH", "no route to \(req.dst)")
        }
        packets[i].device = devices[route.dev].name
        let c = sk.config
        // __mkroute_output: a 127/8 source leaves by lo only (recorded: EINVAL for a socket bound
        // to 127.0.0.1 sending to a neighbour).
        if c.address.isLoopback && !devices[route.dev].isLoopback {
            return sendFailed(i, sk, "EINVAL", "source \(c.address) belongs to lo and \(req.dst) is reached by \(devices[route.dev].name)")
        }
        // ip_sk_use_pmtu: a learnt path MTU counts unless the socket probes (IP_PMTUDISC_PROBE).
        let learnt = c.pmtudisc == .probe ? nil : pmtuException(req.dst, now: t)
        let mtu = min(devices[route.dev].config.mtu, learnt?.mtu ?? .max)
        let mtuLocked = learnt?.locked ?? false
        let total = 28 + len
        let alwaysDF = c.pmtudisc == .do || c.pmtudisc == .probe
        if alwaysDF && total > mtu {
            return sendFailed(i, sk, "EMSGSIZE", "\(total) bytes exceed the MTU \(mtu) of \(devices[route.dev].name) (IP_PMTUDISC_\(c.pmtudisc.rawValue.uppercased()))")
        }
        // UDP_SEGMENT (udp_send_skb's checks): segments must fit the MTU, at most 128 of them.
        let gso = c.udpSegment.flatMap { len > $0 ? $0 : nil }
        if let g = gso {
            guard 28 + g <= mtu else { return sendFailed(i, sk, "EINVAL", "UDP_SEGMENT \(g) + 28 bytes of headers exceed the MTU \(mtu)") }
            guard len <= g * 128 else { return sendFailed(i, sk, "EINVAL", "\(len) bytes are more than 128 segments of \(g)") }
        }
        enter(.ip_make_skb, skb)
        // sock_alloc_send_pskb for the first skb: refused once sk_wmem_alloc reaches sk_sndbuf;
        // sock_wmalloc for further fragments allows up to twice that.
        // __ip_append_data's error exit counts IpOutDiscards.
        guard sock_alloc_send_room(i, sk, counters: &snmp.udp) else { snmp.ip.OutDiscards += 1; return }
        let per = (mtu - 20) & ~7
        let charges = total <= mtu || gso != nil ? [SkBuff.txTruesize(ipLength: total)]
            : stride(from: 0, to: len + 8, by: per).map { SkBuff.txTruesize(ipLength: 20 + min(per, len + 8 - $0)) }
        if charges.count > 1, sk.wmemAlloc + charges.dropFirst().reduce(0, +) > 2 * sk.sndbuf {
            snmp.udp.SndbufErrors += 1
            snmp.ip.OutDiscards += 1
            return sendFailed(i, sk, "ENOBUFS", "fragments would take sk_wmem_alloc past twice sk_sndbuf \(sk.sndbuf)")
        }
        // IP_PMTUDISC_WANT sets DF on what fits the MTU but lets the stack fragment it locally
        // (ignore_df), so the ID comes from the hashed counters; with DO it is 0.
        let df = alwaysDF || (c.pmtudisc == .want && total <= mtu && !mtuLocked)
        let bound = c.address6.map { $0.isV4Mapped ? IPv4Address(raw: UInt32(truncatingIfNeeded: $0.raw)) : .any } ?? c.address
        let src = bound == .any ? route.src : bound
        let segs = gso.map { UInt32((len + $0 - 1) / $0) } ?? 1
        // ip_select_ttl: IP_MULTICAST_TTL (1) to a group, else IP_TTL or ip_default_ttl.
        let ttl = req.dst.isMulticast ? c.multicastTTL ?? 1 : c.ttl ?? sysctl(.ip_default_ttl)
        let ip = IPv4Repr(src: src, dst: req.dst, proto: IPProtocol.udp, ttl: UInt8(ttl), tos: c.tos,
                          ident: ip_select_ident(src: src, dst: req.dst, proto: IPProtocol.udp, dontFragment: alwaysDF, segs: segs),
                          dontFragment: df, payloadLength: 8 + len)
        var bytes = [UInt8](repeating: 0, count: 14 + total)
        // The UDP checksum in full; a veth leaves the unfinished CHECKSUM_PARTIAL form on the wire
        // for a datagram that fits one skb (one that is fragmented is summed in software).
        UDPRepr(srcPort: c.port, dstPort: req.port, payload: req.payload).emit(into: &bytes, at: 34, src: src, dst: req.dst)
        ip.emit(into: &bytes, at: 14)
        skb.data = bytes; skb.len = bytes.count
        skb.networkHeader = 14; skb.transportHeader = 34; skb.protocolType = EtherType.ipv4
        skb.csumPartialOffset = charges.count == 1 ? 34 + 6 : nil
        if let g = gso { skb.gsoSize = g; skb.gsoUDP = true }
        skb.priority = c.skPriority
        skb.sock = sk; skb.wmemCharge = charges.reduce(0, +)
        skb.skOwner = .process
        sk.wmemAlloc += skb.wmemCharge
        packets[i].frame = Array(bytes[14...])
        if tracing { packets[i].startTuple = FlowTuple.network(bytes, at: 14, ethertype: EtherType.ipv4) }
        enter(.udp_send_skb, skb)
        sk.sent += 1
        udp_send_result(i, sk, ip_local_out(skb, route: route), v6: false, recverr: c.recverr)
        packets[i].outq = sk.wmemAlloc
    }

    /// `udp_send_skb` / `udp_v6_send_skb` after `ip_send_skb`: sent is OutDatagrams; an error
    /// counts IpOutDiscards, and ENOBUFS (NET_XMIT_DROP) without IP_RECVERR is SndbufErrors and a
    /// successful call; EPERM (a netfilter drop) fails the call (recorded: record_netdev_egress.sh).
    func udp_send_result(_ i: Int, _ sk: Sock, _ e: XmitError?, v6: Bool, recverr: Bool) {
        guard let e else { if v6 { snmp.udp6.OutDatagrams += 1 } else { snmp.udp.OutDatagrams += 1 }; return }
        if v6 { snmp.ip6.OutDiscards += 1 } else { snmp.ip.OutDiscards += 1 }
        if e == .enobufs && !recverr {
            if v6 { snmp.udp6.SndbufErrors += 1 } else { snmp.udp.SndbufErrors += 1 }
            return
        }
        let errno = e == .eperm ? "EPERM" : "ENOBUFS"
        sk.sendErrors[errno, default: 0] += 1
        packets[i].errno = errno
    }

    func sendFailed(_ i: Int, _ sk: Sock?, _ errno: String, _ why: String) {
        sk?.sendErrors[errno, default: 0] += 1
        packets[i].outcome = .failed
        packets[i].errno = errno
        packets[i].endNs = clocks[0]
        packets[i].outq = sk?.wmemAlloc
        if tracing { packets[i].note = "\(errno): \(why)" }
    }

    /// `sock_alloc_send_pskb` for a non-blocking send: room while sk_wmem_alloc is under
    /// sk_sndbuf; else the call fails with EAGAIN (SOCK_NOSPACE: the protocol's SndbufErrors).
    func sock_alloc_send_room(_ i: Int, _ sk: Sock, counters: inout SNMPStats.UDP) -> Bool {
        // sock_error: a pending error fails the call, once.
        if let e = sk.pendingError {
            sk.pendingError = nil
            sendFailed(i, sk, e, "the socket's pending error (sk_err), from an ICMP error IP_RECVERR let in")
            return false
        }
        guard sk.wmemAlloc >= sk.sndbuf else { return true }
        counters.SndbufErrors += 1
        sendFailed(i, sk, "EAGAIN", "sk_wmem_alloc \(sk.wmemAlloc) has reached sk_sndbuf \(sk.sndbuf)")
        return false
    }

    /// `sock_wfree`: a freed skb gives its charge back to the socket that sent it.
    func sock_wfree(_ skb: SkBuff) {
        guard let sk = skb.sock else { return }
        sk.wmemAlloc -= skb.wmemCharge
        skb.sock = nil; skb.wmemCharge = 0
    }
}
