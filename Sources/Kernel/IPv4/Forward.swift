import Wire

// net/ipv4/ip_forward.c
extension Stack {
    /// `ip_forward`: only PACKET_HOST frames, TTL must outlive this hop (else ICMP time exceeded),
    /// DF packets must fit the MTU (else ICMP fragmentation needed); TTL is decremented with an
    /// incremental checksum update, then FORWARD and `ip_forward_finish`.
    func ip_forward(_ skb: SkBuff, route: FIBEntry) -> PathEnd {
        enter(.ip_forward, skb)
        guard skb.pktType == .host else { return drop(.OTHERHOST, "not addressed to our MAC (\(skb.pktType.rawValue)): not forwarded") }
        if skb.assignedSock != nil { return drop(.NOT_SPECIFIED, "a socket was assigned to it (tproxy): not forwarded") }
        let nh = skb.networkHeader
        let ttl = skb.data[nh + 8]
        if ttl <= 1 {
            snmp.ip.InHdrErrors += 1
            icmp_send(skb, type: ICMPv4Repr.timeExceeded, code: 0)
            return drop(.IP_INHDR, "TTL \(ttl) expires in transit")
        }
        let mtu = devices[route.dev].config.mtu
        let len = skb.len - nh
        // ip_exceeds_mtu: a GSO skb whose segments each fit is not too big.
        if len > mtu && skb.data.be16(nh + 6) & IPv4Packet.flagDF != 0 && !(skb.gsoSize > 0 && skb.gsoNetworkSegmentLength <= mtu) {
            snmp.ip.FragFails += 1
            icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: 4, info: UInt32(mtu))
            return drop(.PKT_TOO_BIG, "\(len) bytes with DF exceed MTU \(mtu) of \(devices[route.dev].name)")
        }
        // ip_decrease_ttl: the checksum gains what the TTL word loses, with the kernel's end-around carry.
        var check = UInt32(skb.data.be16(nh + 10)) + 0x0100
        check += check >= 0xffff ? 1 : 0
        skb.data[nh + 8] = ttl - 1
        skb.data.setBE16(nh + 10, UInt16(truncatingIfNeeded: check))
        if shouldRedirect(skb, route: route) { ip_rt_send_redirect(skb, route: route) }
        skb.priority = Stack.rt_tos2priority(skb.data[nh + 1])
        // NF_HOOK(NF_INET_FORWARD, ..., ip_forward_finish)
        if let end = netfilterVerdict(nf_hook(.forward, skb, inDev: skb.dev, outDev: route.dev), at: "forward") { return end }
        return ip_forward_finish(skb, route: route)
    }

    /// `ip_forward_finish`: count it and hand it to `ip_output` toward the next hop.
    func ip_forward_finish(_ skb: SkBuff, route: FIBEntry) -> PathEnd {
        enter(.ip_forward_finish, skb)
        snmp.ip.ForwDatagrams += 1
        if let o = skb.ipOptions { ip_forward_options(skb, o) }
        let dst = IPv4Address(raw: skb.data.be32(skb.networkHeader + 16))
        return ip_output(skb, dev: route.dev, nexthop: route.gateway ?? dst, outcome: .forwarded)
    }
}

// net/ipv4/route.c
extension Stack {
    /// `rt_tos2priority`: `ip_tos2prio` indexed by the TOS bits (RFC 1349) - minimize delay (0x10)
    /// is interactive (6), maximize throughput (0x08) bulk (2), both interactive-bulk (4).
    static func rt_tos2priority(_ tos: UInt8) -> UInt32 { ip_tos2prio[Int(tos & 0x1e) >> 1] }
    static let ip_tos2prio: [UInt32] = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4]

    /// IPSKB_DOREDIRECT (`__mkroute_input`): the packet leaves by the device it came in on, and its
    /// source and the next hop share that device's network, so the sender could have gone direct.
    func shouldRedirect(_ skb: SkBuff, route: FIBEntry) -> Bool {
        guard route.dev == skb.dev, sysctl(.send_redirects) != 0 else { return false }
        let src = IPv4Address(raw: skb.data.be32(skb.networkHeader + 12))
        let next = route.gateway ?? IPv4Address(raw: skb.data.be32(skb.networkHeader + 16))
        return devices[skb.dev].config.addresses.contains { $0.contains(src) && $0.contains(next) }
    }

    /// `ip_rt_send_redirect`: ICMP host redirect to the better gateway, limited per source: at most
    /// ip_rt_redirect_number (9), spaced by redirect_load (20 ms) doubling each time, and forgotten
    /// after redirect_silence (20 ms << 10).
    func ip_rt_send_redirect(_ skb: SkBuff, route: FIBEntry) {
        let src = IPv4Address(raw: skb.data.be32(skb.networkHeader + 12))
        let now = clocks[skb.cpu]
        let load: UInt64 = 20_000_000, silence: UInt64 = 20_000_000 << 10, number = 9
        var (n, last) = redirectPeers[src] ?? (0, 0)
        if n > 0 && now > last &+ silence { n = 0 }
        if n >= number { redirectPeers[src] = (n, now); return }
        if n == 0 || now > last &+ (load << UInt64(n)) {
            let gw = route.gateway ?? IPv4Address(raw: skb.data.be32(skb.networkHeader + 16))
            icmp_send(skb, type: 5, code: 1, info: gw.raw)
            redirectPeers[src] = (n + 1, now)
        }
    }
}
