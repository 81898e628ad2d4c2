import Wire

// net/ipv4/icmp.c: the messages the stack sends.
extension Stack {
    /// `icmp_send`: an error about `skb` to its source, quoting as much of it as fits in 576 bytes.
    /// Not for fragments past the first, ICMP errors, or non-unicast sources/destinations;
    /// limited per destination by icmp_ratelimit (inet_peer token bucket, burst 6).
    func icmp_send(_ skb: SkBuff, type: UInt8, code: UInt8, info: UInt32 = 0) {
        enter(.icmp_send, skb)
        let nh = skb.networkHeader, b = skb.data
        let src = IPv4Address(raw: b.be32(nh + 12)), dst = IPv4Address(raw: b.be32(nh + 16))
        if b.be16(nh + 6) & 0x1fff != 0 { return }
        if src.isMulticast || src == .broadcast || src.isZeronet || skb.pktType != .host && skb.pktType != .otherhost { return }
        if dst.isMulticast || dst == .broadcast || fib.lookup(dst)?.type == .broadcast { return }
        let ihl = Int(b[nh] & 0x0f) * 4
        if b[nh + 9] == IPProtocol.icmp, skb.len >= nh + ihl + 1 {
            let t = b[nh + ihl]
            // Only informational ICMP (echo, timestamp...) may draw an error.
            if [ICMPv4Repr.destUnreachable, 4, 5, ICMPv4Repr.timeExceeded, 12].contains(t) { return }
        }
        let global = icmpv4_global_allow(type: type, code: code)
        guard global.allowed, let route = routeOutput(src) else { return }
        guard icmpv4_xrlim_allow(src, limited: global.limited, dev: route.dev) else { return }
        // A packet addressed to us is answered from the address it was sent to; otherwise the route picks.
        let from = fib.isLocal(dst) ? dst : route.src
        // The options input compiled go back (__ip_options_echo); none can: no error at all.
        var options: [UInt8] = []
        if let o = skb.ipOptions {
            guard let echoed = ip_options_echo(skb, o, from: from) else { return }
            options = echoed
        }
        let quoted = Array(b[nh..<min(skb.len, nh + 576 - 28 - options.count)])
        let tos = (b[nh + 1] & 0x1e) | 0xc0   // IPTOS_PREC_INTERNETCONTROL
        sendICMP(ICMPv4Repr(type: type, code: code, restOfHeader: info, data: quoted), src: from, dst: src, tos: tos, route: route, cause: skb,
                 attachConntrack: true, options: options)
    }

    /// `icmp_echo`: the reply carries the request's id, sequence and data.
    func icmp_echo(_ skb: SkBuff) -> PathEnd {
        let th = skb.transportHeader, b = skb.data
        icmp_reply(skb, ICMPv4Repr(type: ICMPv4Repr.echoReply, code: 0, restOfHeader: b.be32(th + 4), data: Array(b[(th + 8)..<skb.len])))
        return consume("echo request answered")
    }

    /// `icmp_timestamp`: a timestamp reply (type 14) with the request's originate time and the
    /// time now, in ms since midnight UTC on the stack's clock (inet_current_timestamp), as the
    /// receive and transmit times. It counts as an echo reply (OutType0, OutEchoReps), as
    /// icmp_reply's accounting has it on the kernel (recorded: scripts/record_icmp_input.py).
    func icmp_timestamp(_ skb: SkBuff) -> PathEnd {
        let th = skb.transportHeader, b = skb.data
        guard skb.len - th >= ICMPv4Packet.headerLength + 4 else {
            snmp.icmp.InErrors += 1
            return drop(.PKT_TOO_SMALL, "timestamp request without its originate time")
        }
        var stamp = [UInt8](repeating: 0, count: 4)
        stamp.setBE32(0, currentTimestamp(cpu: skb.cpu))
        icmp_reply(skb, ICMPv4Repr(type: 14, code: 0, restOfHeader: b.be32(th + 4), data: Array(b[(th + 8)..<(th + 12)]) + stamp + stamp),
                   countAs: ICMPv4Repr.echoReply)
        return consume("timestamp request answered")
    }

    /// `icmp_reply`: the reply goes from the address the request was sent to, with its TOS; it is
    /// limited only when icmp_ratemask names its type (it does not name 0 or 14 by default).
    private func icmp_reply(_ skb: SkBuff, _ reply: ICMPv4Repr, countAs: UInt8? = nil) {
        enter(.icmp_reply, skb)
        let nh = skb.networkHeader, b = skb.data
        let src = IPv4Address(raw: b.be32(nh + 12)), dst = IPv4Address(raw: b.be32(nh + 16))
        let global = icmpv4_global_allow(type: reply.type, code: reply.code)
        guard global.allowed, let route = routeOutput(src), icmpv4_xrlim_allow(src, limited: global.limited, dev: route.dev) else { return }
        sendICMP(reply, src: dst, dst: src, tos: b[nh + 1], route: route, cause: skb, countAs: countAs)
    }

    /// Builds the IPv4 packet (TTL ip_default_ttl; no DF, the ICMP socket does not do PMTU
    /// discovery, so `ip_select_ident` picks an ID) and sends it through `ip_output` on behalf of `cause`.
    /// An error carries its cause's connection as related (icmp_glue_bits calls nf_ct_attach).
    private func sendICMP(_ m: ICMPv4Repr, src: IPv4Address, dst: IPv4Address, tos: UInt8,
                          route: (dev: Int, nexthop: IPv4Address, src: IPv4Address), cause: SkBuff, attachConntrack: Bool = false, countAs: UInt8? = nil,
                          options: [UInt8] = []) {
        let ip = IPv4Repr(src: src, dst: dst, proto: IPProtocol.icmp, ttl: UInt8(sysctl(.ip_default_ttl)), tos: tos,
                          ident: ip_select_ident(src: src, dst: dst, proto: IPProtocol.icmp, dontFragment: false), options: options, payloadLength: m.bufferLength)
        var bytes = [UInt8](repeating: 0, count: 14 + ip.bufferLength)
        m.emit(into: &bytes, at: 14 + ip.headerLength)
        ip.emit(into: &bytes, at: 14)
        snmp.icmp.OutMsgs += 1
        snmp.icmp.countOut(countAs ?? m.type)
        ip_local_out(bytes, route: route, cause: cause, attachConntrack: attachConntrack, kernelSock: true)
    }

    /// `icmpv4_xrlim_allow`: what the host-wide limit applies to (types in icmp_ratemask) is
    /// limited per destination too (inet_peer: a bucket of 6 × icmp_ratelimit ms); a message that
    /// passes costs host-wide credit, one that does not counts as OutRateLimitHost. Toward lo
    /// (the stack's own addresses) there is no per-destination limit.
    private func icmpv4_xrlim_allow(_ dst: IPv4Address, limited: Bool, dev: Int) -> Bool {
        guard limited else { return true }
        if devices[dev].isLoopback { icmp_global_consume(); return true }
        let ok = icmpPeerAllows(dst)
        if ok { icmp_global_consume() } else { snmp.icmp.OutRateLimitHost += 1 }
        return ok
    }

    private func icmpPeerAllows(_ dst: IPv4Address) -> Bool {
        let limit = UInt64(sysctl(.icmp_ratelimit)) * 1_000_000
        guard limit > 0 else { return true }
        let now = clockNs
        var (tokens, last) = icmpPeers[dst] ?? (0, now &- 60_000_000_000)
        tokens = min(tokens &+ (now &- last), 6 * limit)
        last = now
        let ok = tokens >= limit
        if ok { tokens -= limit }
        icmpPeers[dst] = (tokens, last)
        return ok
    }
}
