import Wire

// net/ipv4/ping.c and net/ipv6/ping.c: ping sockets, socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
// and the AF_INET6 IPPROTO_ICMPV6 one (recorded: scripts/record_ping.sh). The process writes the
// echo request's header; the socket's identifier replaces its id, and the reply with that id is
// read back, header and data, as recvfrom gives it.
extension Stack {
    /// `ping_common_sendmsg`'s checks of what the process wrote: at most 65,535 bytes, at least an
    /// 8-byte header, of an echo request (type 8, or 128 over IPv6) with code 0.
    private func pingMessageError(_ msg: [UInt8], echo: UInt8) -> String? {
        if msg.count > 0xFFFF { return "EMSGSIZE" }
        guard msg.count >= 8, msg[0] == echo, msg[1] == 0 else { return "EINVAL" }
        return nil
    }

    /// `ping_v4_sendmsg` → `ip_append_data` → `ping_v4_push_pending_frames`: the header's id is
    /// the socket's identifier and its checksum computed in full (no CHECKSUM_PARTIAL), the IP
    /// header as a UDP socket's (TTL, TOS, DF and IP ID by IP_MTU_DISCOVER); counted as an ICMP
    /// message of type 8 when it leaves for ip_local_out.
    func ping_v4_sendmsg(index i: Int, skb: SkBuff, sk: Sock) {
        enter(.ping_v4_sendmsg, skb)
        let req = pendingSends[i]
        if let e = pingMessageError(req.payload, echo: ICMPv4Repr.echoRequest) {
            return sendFailed(i, sk, e, e == "EINVAL" ? "not an echo request header (type 8, code 0, 8 bytes)" : "\(req.payload.count) bytes are more than 65,535")
        }
        if req.dst6 != nil { return sendFailed(i, sk, "EAFNOSUPPORT", "an AF_INET ping socket cannot send to an IPv6 address") }
        let c = sk.config
        // Without an address, to the peer connect set (routed again for each send).
        guard let dst = req.toPeer ? c.peer : req.dst else { return sendFailed(i, sk, "EDESTADDRREQ", "the socket is not connected") }
        let bcast = routeOutputBroadcast(dst, oif: sk.oif)
        guard let route = bcast ?? routeOutput(dst, oif: sk.oif) else {
            snmp.ip.OutNoRoutes += 1
            return sendFailed(i, sk, "ENETUNREACH", "no route to \(dst)")
        }
        if bcast != nil, !c.broadcast { return sendFailed(i, sk, "EACCES", "\(dst) is a broadcast address and the socket has no SO_BROADCAST") }
        packets[i].device = devices[route.dev].name
        let len = req.payload.count, total = 20 + len
        let learnt = c.pmtudisc == .probe ? nil : pmtuException(dst, now: clocks[0])
        let mtu = min(devices[route.dev].config.mtu, learnt?.mtu ?? .max)
        let alwaysDF = c.pmtudisc == .do || c.pmtudisc == .probe
        // ip_append_data: what must not be fragmented must fit the MTU, and nothing may pass 64 KiB.
        if total > 0xFFFF || (alwaysDF && total > mtu) {
            return sendFailed(i, sk, "EMSGSIZE", "\(total) bytes exceed \(total > 0xFFFF ? "an IPv4 datagram" : "the MTU \(mtu) of \(devices[route.dev].name)")")
        }
        var unused = SNMPStats.UDP()
        guard sock_alloc_send_room(i, sk, counters: &unused) else { snmp.ip.OutDiscards += 1; return }
        let src = c.address == .any ? route.src : c.address
        let df = alwaysDF || (c.pmtudisc == .want && total <= mtu && !(learnt?.locked ?? false))
        let ttl = dst.isMulticast ? c.multicastTTL ?? 1 : c.ttl ?? sysctl(.ip_default_ttl)
        let ip = IPv4Repr(src: src, dst: dst, proto: IPProtocol.icmp, ttl: UInt8(ttl), tos: c.tos,
                          ident: ip_select_ident(src: src, dst: dst, proto: IPProtocol.icmp, dontFragment: alwaysDF),
                          dontFragment: df, payloadLength: len)
        var bytes = [UInt8](repeating: 0, count: 14 + total)
        ip.emit(into: &bytes, at: 14)
        ICMPv4Repr(type: ICMPv4Repr.echoRequest, code: 0, restOfHeader: UInt32(c.port) << 16 | UInt32(req.payload.be16(6)),
                   data: Array(req.payload[8...])).emit(into: &bytes, at: 34)
        snmp.icmp.OutMsgs += 1
        snmp.icmp.countOut(ICMPv4Repr.echoRequest)
        pingTransmit(i, skb, sk, bytes, ipv6: false, total: total, mtu: mtu)
        ip_local_out(skb, route: route)
        packets[i].outq = sk.wmemAlloc
    }

    /// `ping_v6_sendmsg` → `ip6_append_data` → `icmpv6_push_pending_frames`: as over IPv4, with
    /// the hop limit, flow label and traffic class of a UDP socket's IPv6 datagram; the checksum
    /// over the pseudo-header in full.
    func ping_v6_sendmsg(index i: Int, skb: SkBuff, sk: Sock) {
        enter(.ping_v6_sendmsg, skb)
        let req = pendingSends[i]
        if let e = pingMessageError(req.payload, echo: ICMPv6Repr.echoRequest) {
            return sendFailed(i, sk, e, e == "EINVAL" ? "not an echo request header (type 128, code 0, 8 bytes)" : "\(req.payload.count) bytes are more than 65,535")
        }
        let c = sk.config, bound = c.address6 ?? .any
        guard let dst = req.toPeer ? c.peer6 : req.dst6 else {
            return sendFailed(i, sk, req.toPeer ? "EDESTADDRREQ" : "EINVAL", req.toPeer ? "the socket is not connected" : "an ICMPv6 ping socket sends to IPv6 addresses only")
        }
        guard !dst.isV4Mapped else { return sendFailed(i, sk, "EINVAL", "an ICMPv6 ping socket sends to IPv6 addresses only") }
        guard case .some(let oif) = socketOif6(dst, scope: req.scope, sk: sk) else {
            snmp.ip6.OutNoRoutes += 1
            return sendFailed(i, sk, "ENETUNREACH", "the scope id names no device")
        }
        guard let route = routeOutput6(dst, oif: oif, strict: sk.oif != nil, src: bound) else {
            return sendFailed(i, sk, ip6_route_error(dst, src: bound), "no route to \(dst)")
        }
        guard let src = bound.isUnspecified ? route.src : bound else { return sendFailed(i, sk, "EADDRNOTAVAIL", "no source address for \(dst)") }
        packets[i].device = devices[route.dev].name
        let len = req.payload.count, total = 40 + len
        let mtu = c.pmtudisc6.usesDeviceMTU ? mtu6[route.dev] : ip6_dst_mtu(dst, dev: route.dev, now: clocks[0])
        if !c.pmtudisc6.fragments && total > mtu {
            return sendFailed(i, sk, "EMSGSIZE", "\(total) bytes exceed the MTU \(mtu) of \(devices[route.dev].name)")
        }
        var unused = SNMPStats.UDP()
        guard sock_alloc_send_room(i, sk, counters: &unused) else { snmp.ip6.OutDiscards += 1; return }
        let hops = dst.isMulticast ? c.multicastHops ?? 1 : c.unicastHops ?? Int(hopLimit6[route.dev])
        let ip = IPv6Repr(src: src, dst: dst, nextHeader: IPProtocol.icmpv6, hopLimit: UInt8(hops), trafficClass: c.tclass,
                          flowLabel: ip6_make_flowlabel(src: src, dst: dst, proto: IPProtocol.icmpv6), payloadLength: len)
        var bytes = [UInt8](repeating: 0, count: 14 + total)
        ip.emit(into: &bytes, at: 14)
        ICMPv6Repr(type: ICMPv6Repr.echoRequest, code: 0, restOfHeader: UInt32(c.port) << 16 | UInt32(req.payload.be16(6)),
                   data: Array(req.payload[8...])).emit(into: &bytes, at: 54, pseudo: ip.pseudoHeader)
        snmp.icmp6.OutMsgs += 1
        snmp.icmp6.OutType[Int(ICMPv6Repr.echoRequest), default: 0] += 1
        pingTransmit(i, skb, sk, bytes, ipv6: true, total: total, mtu: mtu)
        ip6_local_out(skb, route: route)
        packets[i].outq = sk.wmemAlloc
    }

    /// The skb both families hand to the output path, charged to the socket.
    private func pingTransmit(_ i: Int, _ skb: SkBuff, _ sk: Sock, _ bytes: [UInt8], ipv6: Bool, total: Int, mtu: Int) {
        skb.data = bytes; skb.len = bytes.count
        skb.networkHeader = 14; skb.transportHeader = ipv6 ? 54 : 34
        skb.protocolType = ipv6 ? EtherType.ipv6 : EtherType.ipv4
        if ipv6 { skb.nhoff = 20 }
        skb.priority = sk.config.skPriority
        skb.sock = sk; skb.wmemCharge = SkBuff.txTruesize(ipLength: min(total, mtu))
        skb.skOwner = .process
        sk.wmemAlloc += skb.wmemCharge
        packets[i].frame = Array(bytes[14...])
        if tracing { packets[i].startTuple = FlowTuple.network(bytes, at: 14, ethertype: skb.protocolType) }
        sk.sent += 1
    }

    /// `ping_rcv`: an echo reply goes to the ping socket of its identifier (and family, and bound
    /// address); none takes it: NO_SOCKET.
    func ping_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.ping_rcv, skb)
        let th = skb.transportHeader, nh = skb.networkHeader, b = skb.data
        let ident = b.be16(th + 4)
        let v6 = skb.protocolType == EtherType.ipv6
        let dst: SockAddr = v6 ? .v6(IPv6Address(array: b, at: nh + 24)) : .v4(IPv4Address(raw: b.be32(nh + 16)))
        guard let sk = sockets.pingLookup(ident: ident, dst: dst, dev: skb.dev) else { return drop(.NO_SOCKET, "no ping socket with identifier \(ident) (ping_rcv)") }
        return ping_queue_rcv_skb(skb, sk, v6: v6)
    }

    /// `ping_queue_rcv_skb` → `sock_queue_rcv_skb_reason`: the receive buffer's limit, then the
    /// queue; recvfrom reads the ICMP header and data.
    private func ping_queue_rcv_skb(_ skb: SkBuff, _ sk: Sock, v6: Bool) -> PathEnd {
        enter(.ping_queue_rcv_skb, skb)
        let size = skb.truesize
        guard sk.rmemAlloc < sk.rcvbuf else {
            sk.drops += 1
            return drop(.SOCKET_RCVBUFF, "socket \(sk.config.id) holds \(sk.rmemAlloc) of \(sk.rcvbuf) bytes (SO_RCVBUF)")
        }
        let th = skb.transportHeader, nh = skb.networkHeader, b = skb.data
        let src: SockAddr = v6 ? .v6(IPv6Address(array: b, at: nh + 8)) : .v4(IPv4Address(raw: b.be32(nh + 12)))
        let dst: SockAddr = v6 ? .v6(IPv6Address(array: b, at: nh + 24)) : .v4(IPv4Address(raw: b.be32(nh + 16)))
        sk.rmemAlloc += size
        sk.queue.append(Datagram(src: src, srcPort: 0, dst: dst, bytes: b, payloadRange: th..<skb.len, timeNs: clocks[skb.cpu], truesize: size))
        if tracing, skb.packet >= 0, !skb.generated { packets[skb.packet].note = "queued on ping socket \(sk.config.id) (\(sk.queue.count) replies, \(sk.rmemAlloc) bytes)" }
        return .deliver
    }
}

// ping_err: ICMP errors about the echo requests a ping socket sent (recorded:
// scripts/record_ping_err.sh).
extension Stack {
    /// `icmp_err` → `ping_err` for an ICMP error quoting an echo request (the quoted ICMP header
    /// at `icmp`, sent to `dst`): the errno is UDP's but for source quench and redirect, soft
    /// EREMOTEIO here (the redirect still taken), and fragmentation needed, which teaches the path
    /// MTU and is a hard EMSGSIZE unless IP_PMTUDISC_DONT. Nothing happens without the socket.
    func ping_err(_ skb: SkBuff, type: UInt8, code: UInt8, info: Int, icmp: Int, dst: IPv4Address) -> PathEnd {
        enter(.ping_err, skb)
        let ours = IPv4Address(raw: skb.data.be32(skb.networkHeader + 16))
        guard let sk = ping_err_lookup(skb, icmp: icmp, echo: ICMPv4Repr.echoRequest, ours: .v4(ours)) else {
            return consume("no ping socket sent the quoted echo request (ping_supported, ping_lookup)")
        }
        var err = "EHOSTUNREACH", hard = false, learnt = ""
        switch type {
        case 4: err = "EREMOTEIO"
        case 5: learnt = __ip_do_redirect(skb, daddr: dst, code: code, gateway: UInt32(info)) + "; "; err = "EREMOTEIO"
        case 12: err = "EPROTO"; hard = true
        case ICMPv4Repr.destUnreachable where code == 4:
            __ip_rt_update_pmtu(dst, mtu: info, now: clocks[skb.cpu])
            learnt = "path MTU \(info) to \(dst) learnt; "
            if sk.config.pmtudisc == .dont { return consume(learnt + "IP_PMTUDISC_DONT: no error for ping socket \(sk.config.id)") }
            err = "EMSGSIZE"; hard = true
        case ICMPv4Repr.destUnreachable where Int(code) < Stack.icmp_err_convert.count: (err, hard) = Stack.icmp_err_convert[Int(code)]
        default: break
        }
        return consume(learnt + ping_err_report(sk, err, hard: hard, recverr: sk.config.recverr, option: "IP_RECVERR"))
    }

    /// `icmpv6_err` → `ping_err` for an ICMPv6 error quoting an echo request: icmpv6_err_convert's
    /// errno (packet too big, whose path MTU icmpv6_err has learnt, is a soft EMSGSIZE).
    func ping_err6(_ skb: SkBuff, type: UInt8, code: UInt8, icmp: Int, learnt: String) -> PathEnd {
        enter(.ping_err, skb)
        let ours = IPv6Address(array: skb.data, at: skb.networkHeader + 24)
        guard let sk = ping_err_lookup(skb, icmp: icmp, echo: ICMPv6Repr.echoRequest, ours: .v6(ours)) else {
            return consume(learnt + "no ping socket sent the quoted echo request (ping_supported, ping_lookup)")
        }
        let (err, hard) = Stack.icmpv6_err_convert(type: type, code: code)
        return consume(learnt + ping_err_report(sk, err, hard: hard, recverr: sk.config.recverr6, option: "IPV6_RECVERR"))
    }

    /// `ping_supported` (an echo request, code 0) and `ping_lookup` (its identifier, on our address).
    private func ping_err_lookup(_ skb: SkBuff, icmp: Int, echo: UInt8, ours: SockAddr) -> Sock? {
        let b = skb.data
        guard b[icmp] == echo, b[icmp + 1] == 0 else { return nil }
        return sockets.pingLookup(ident: b.be16(icmp + 4), dst: ours, dev: skb.dev)
    }

    /// With IP_RECVERR / IPV6_RECVERR the errno becomes the socket's sk_err; without, only a hard
    /// error on a connected socket does. Its next send or recv fails with it, once.
    private func ping_err_report(_ sk: Sock, _ err: String, hard: Bool, recverr: Bool, option: String) -> String {
        guard recverr || (hard && sk.config.connected) else {
            return "\(err) for ping socket \(sk.config.id): without \(option) it does not see it" + (hard ? " (it is not connected)" : " (a soft error)")
        }
        sk.pendingError = err
        return "\(err) for ping socket \(sk.config.id): its sk_err (" + (recverr ? option : "connected") + ")"
    }
}
