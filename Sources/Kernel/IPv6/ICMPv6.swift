import Wire

// net/ipv6/icmp.c
extension Stack {
    /// `icmpv6_rcv`: checksum, then by type: echo answered, neighbour discovery to `ndisc_rcv`,
    /// errors to the protocol they quote (`icmpv6_notify`), the rest consumed.
    func icmpv6_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.icmpv6_rcv, skb)
        snmp.icmp6.InMsgs += 1
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data
        let len = skb.len - th
        let pseudo = PseudoHeader.v6(IPv6Address(array: b, at: nh + 8), IPv6Address(array: b, at: nh + 24))
        if skb.ipSummed != .unnecessary {
            enter(.__skb_checksum_complete, skb)
            guard Checksum.finish(Checksum.sum(b, from: th, count: len, initial: pseudo.sum(proto: IPProtocol.icmpv6, length: len))) == 0 else {
                snmp.icmp6.InCsumErrors += 1
                snmp.icmp6.InErrors += 1
                return drop(.ICMP_CSUM, "ICMPv6 checksum does not verify")
            }
        }
        guard len >= 4 else {
            snmp.icmp6.InErrors += 1
            return drop(.NOT_SPECIFIED, "\(len) bytes cannot hold an ICMPv6 header")
        }
        let type = b[th], code = b[th + 1]
        snmp.icmp6.InType[Int(type), default: 0] += 1
        switch type {
        case ICMPv6Repr.echoRequest:
            if sysctl(.icmpv6_echo_ignore_all) == 0 { icmpv6_echo_reply(skb) }
            return consume("echo request answered")
        case ICMPv6Repr.echoReply:
            return ping_rcv(skb)
        case ICMPv6Repr.mldQuery:
            return igmp6_event_query(skb)
        case ICMPv6Repr.routerSolicitation, ICMPv6Repr.routerAdvertisement, ICMPv6Repr.neighbourSolicitation,
             ICMPv6Repr.neighbourAdvertisement, ICMPv6Repr.redirect:
            return ndisc_rcv(skb)
        case _ where type & 0x80 == 0:
            // Errors (packet too big, unreachable, time exceeded, parameter problem, and unknown
            // types as well) go to the protocol they quote.
            return icmpv6_notify(skb, type: type, code: code, info: len >= 8 ? b.be32(th + 4) : 0)
        default:
            return consume("ICMPv6 type \(type) (informational) not handled")
        }
    }

    /// `icmpv6_echo_reply`: same identifier, sequence and data, from the address the request was
    /// sent to; for a multicast or anycast one (anycast_src_echo_reply is 0), from the address
    /// source selection picks toward the requester; with the request's traffic class.
    func icmpv6_echo_reply(_ skb: SkBuff) {
        enter(.icmpv6_echo_reply, skb)
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data
        let src = IPv6Address(array: b, at: nh + 8), dst = IPv6Address(array: b, at: nh + 24)
        guard skb.len >= th + 8 else { return }
        let unicast = !dst.isMulticast && fib6.isAssigned(dst)
        let from = unicast ? dst : fib6.sourceAddress(for: src, dev: skb.dev)
        guard let from, let route = routeOutput6(src, oif: src.isLinkLocal ? skb.dev : nil) else { return }
        let tclass = UInt8(truncatingIfNeeded: b.be16(nh) >> 4)
        let reply = ICMPv6Repr(type: ICMPv6Repr.echoReply, code: 0, restOfHeader: b.be32(th + 4), data: Array(b[(th + 8)..<skb.len]))
        sendICMPv6(reply, src: from, dst: src, tclass: tclass, route: route, cause: skb)
    }

    /// `icmp6_send`: an error about `skb` to its source, quoting as much as fits in the minimum MTU
    /// (1280). Not to a multicast or unspecified source, not about an ICMPv6 error, not about a
    /// multicast or non-host packet (except packet too big and unknown options that ask for it);
    /// from the address the packet was sent to when it is ours, else one of the receiving device;
    /// limited per destination by net.ipv6.icmp.ratelimit (packet too big never).
    func icmp6_send(_ skb: SkBuff, type: UInt8, code: UInt8, info: UInt32 = 0) {
        enter(.icmp6_send, skb)
        let nh = skb.networkHeader, b = skb.data
        guard skb.len >= nh + IPv6Packet.headerLength else { return }
        let src = IPv6Address(array: b, at: nh + 8), dst = IPv6Address(array: b, at: nh + 24)
        var from: IPv6Address? = fib6.isLocal(dst, dev: skb.dev) ? dst : nil
        if dst.isMulticast || skb.pktType != .host {
            let unknownOption = type == ICMPv6Repr.parameterProblem && code == 2 && Int(info) + nh < skb.len && b[nh + Int(info)] >> 6 == 2
            guard type == ICMPv6Repr.packetTooBig || unknownOption else { return }
            from = nil
        }
        if src.isUnspecified || src.isMulticast { return }
        if isICMPv6Error(skb) { return }
        let global = icmpv6_global_allow(type: type)
        guard global.allowed, let route = routeOutput6(src, oif: src.isLinkLocal ? skb.dev : nil) else { return }
        guard let saddr = from ?? fib6.sourceAddress(for: src, dev: skb.dev) ?? route.src else { return }
        guard icmpv6RateAllows(src, route: route, limited: global.limited) else { return }
        let quoted = Array(b[nh..<min(skb.len, nh + 1280 - 48)])
        sendICMPv6(ICMPv6Repr(type: type, code: code, restOfHeader: info, data: quoted), src: saddr, dst: src, tclass: 0, route: route, cause: skb,
                   attachConntrack: true)
    }

    /// `is_ineligible`: no error about an ICMPv6 error (or one whose type cannot be read).
    private func isICMPv6Error(_ skb: SkBuff) -> Bool {
        guard let l4 = ipv6_skip_exthdr(skb.data, from: skb.networkHeader, end: skb.len), l4.proto == IPProtocol.icmpv6 else { return false }
        guard l4.fragOff == 0 else { return false }
        guard l4.offset < skb.len else { return true }
        return skb.data[l4.offset] < 128
    }

    /// Builds the IPv6 packet (hop limit net.ipv6.conf.all.hop_limit) and sends it through
    /// `ip6_local_out` on behalf of `cause`; an error carries its cause's connection as related.
    func sendICMPv6(_ m: ICMPv6Repr, src: IPv6Address, dst: IPv6Address, tclass: UInt8, route: Route6, cause: SkBuff, attachConntrack: Bool = false) {
        let ip = IPv6Repr(src: src, dst: dst, nextHeader: IPProtocol.icmpv6, hopLimit: hopLimit6[route.dev], trafficClass: tclass,
                          flowLabel: ip6_make_flowlabel(src: src, dst: dst, proto: IPProtocol.icmpv6), payloadLength: m.bufferLength)
        var bytes = [UInt8](repeating: 0, count: 14 + 40 + m.bufferLength)
        ip.emit(into: &bytes, at: 14)
        m.emit(into: &bytes, at: 54, pseudo: ip.pseudoHeader)
        snmp.icmp6.OutMsgs += 1
        snmp.icmp6.OutType[Int(m.type), default: 0] += 1
        ip6_local_out(bytes, route: route, cause: cause, attachConntrack: attachConntrack, kernelSock: true)
    }

    /// `icmpv6_xrlim_allow`: what the host-wide limit applies to is limited per destination too, by
    /// an inet_peer token bucket of net.ipv6.icmp.ratelimit ms, shortened for routes to wider
    /// prefixes (>> (128 - plen) / 32); a message that passes costs host-wide credit, one that does
    /// not counts as Icmp6OutRateLimitHost.
    private func icmpv6RateAllows(_ dst: IPv6Address, route: Route6, limited: Bool) -> Bool {
        guard limited else { return true }
        // No limit toward lo (what the stack sends itself), but the host-wide credit is spent.
        if devices[route.dev].isLoopback { icmp_global_consume(); return true }
        var tmo = UInt64(sysctl(.icmpv6_time)) * 1_000_000
        if route.prefixLength < 128 { tmo >>= UInt64((128 - route.prefixLength) >> 5) }
        let ok = tmo == 0 || xrlimAllow(&icmp6Peers[dst], timeoutNs: tmo)
        if ok { icmp_global_consume() } else { snmp.icmp6.OutRateLimitHost += 1 }
        return ok
    }

    /// `icmpv6_global_allow`: informational messages and packet too big are not limited
    /// (net.ipv6.icmp.ratemask 0-1,3-127); errors pass the host-wide limit ICMP shares, or count
    /// as the IPv4 Icmp OutRateLimitGlobal, as the kernel counts them. Whether the message may go
    /// and whether the limits apply to it.
    private func icmpv6_global_allow(type: UInt8) -> (allowed: Bool, limited: Bool) {
        guard type < 128, type != ICMPv6Repr.packetTooBig else { return (true, false) }
        if icmp_global_allow() { return (true, true) }
        snmp.icmp.OutRateLimitGlobal += 1
        return (false, false)
    }
}

/// `ipv6_find_hdr` for one header type: its offset, walking the extension headers (never past a
/// fragment that is not the first); nil when the chain ends without it.
func ipv6_find_hdr(_ b: [UInt8], nh: Int, end: Int, target: UInt8) -> Int? {
    guard end >= nh + 40 else { return nil }
    var next = b[nh + 6], off = nh + 40
    while next != target {
        guard IPv6ExtensionHeader.isWalkable(next) || next == IPProtocol.ah, end >= off + 8 else { return nil }
        let len: Int
        if next == IPProtocol.fragment {
            if b.be16(off + 2) & 0xfff8 != 0 { return nil }
            len = 8
        } else if next == IPProtocol.ah {
            len = (Int(b[off + 1]) + 2) * 4
        } else {
            len = (Int(b[off + 1]) + 1) * 8
        }
        next = b[off]; off += len
    }
    return off
}

/// `ipv6_skip_exthdr`: the upper-layer protocol after the extension headers, its offset, and
/// the fragment offset when a fragment header was passed (nil when a header is truncated).
func ipv6_skip_exthdr(_ b: [UInt8], from nh: Int, end: Int) -> (proto: UInt8, offset: Int, fragOff: Int)? {
    guard end >= nh + 40 else { return nil }
    var next = b[nh + 6], off = nh + 40, fragOff = 0
    while IPv6ExtensionHeader.isWalkable(next) || next == IPProtocol.ah {
        guard end >= off + 8 else { return nil }
        if next == IPProtocol.fragment {
            fragOff = Int(b.be16(off + 2) & 0xfff8)
            if fragOff != 0 { return (b[off], off + 8, fragOff) }
            next = b[off]; off += 8
        } else if next == IPProtocol.ah {
            next = b[off]; off += (Int(b[off + 1]) + 2) * 4
        } else {
            next = b[off]; off += (Int(b[off + 1]) + 1) * 8
        }
    }
    return (next, off, fragOff)
}
