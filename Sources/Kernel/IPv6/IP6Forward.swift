import Wire

// net/ipv6/ip6_output.c (ip6_forward)
extension Stack {
    /// `ip6_forward`: net.ipv6.conf.all.forwarding first (off: the packet vanishes, counted as an
    /// address error), PACKET_HOST only, hop limit (time exceeded), a link-local source never
    /// leaves its link, the egress MTU (packet too big: routers never fragment); the hop limit
    /// is decremented before FORWARD.
    func ip6_forward(_ skb: SkBuff, route: FIB6Entry) -> PathEnd {
        enter(.ip6_forward, skb)
        guard ipForward6 else {
            snmp.ip6.InAddrErrors += 1
            return drop(.IP_INADDRERRORS, "not ours and net.ipv6.conf.all.forwarding is 0")
        }
        guard skb.pktType == .host else { return drop(.NOT_SPECIFIED, "not addressed to our MAC (\(skb.pktType.rawValue)): not forwarded") }
        if skb.assignedSock != nil { return drop(.NOT_SPECIFIED, "a socket was assigned to it (tproxy): not forwarded") }
        let nh = skb.networkHeader
        let hop = skb.data[nh + 7]
        if hop <= 1 {
            icmp6_send(skb, type: ICMPv6Repr.timeExceeded, code: 0)
            snmp.ip6.InHdrErrors += 1
            return drop(.IP_INHDR, "hop limit \(hop) expires in transit")
        }
        let src = IPv6Address(array: skb.data, at: nh + 8), dst = IPv6Address(array: skb.data, at: nh + 24)
        if route.dev == skb.dev {
            // Back out the link it came in on: a redirect, at most one a second per destination.
            if xrlimAllow(&redirect6Peers[RedirectPeer(address: dst, source: false)], timeoutNs: 1_000_000_000) {
                ndisc_send_redirect(skb, target: route.gateway ?? dst)
            }
        } else {
            if src.isUnspecified || src.isMulticast || src.isLoopback {
                snmp.ip6.InAddrErrors += 1
                return drop(.IP_INADDRERRORS, "source \(src) may not be forwarded")
            }
            if src.isLinkLocal {
                icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: 2)
                snmp.ip6.InAddrErrors += 1
                return drop(.IP_INADDRERRORS, "link-local source \(src) would leave its link")
            }
        }
        snmp.ip6.OutForwDatagrams += 1
        let mtu = max(mtu6[route.dev], 1280)
        let len = skb.len - nh
        // ip6_pkt_too_big: a GSO skb whose segments each fit is not too big.
        if len > mtu && !(skb.gsoSize > 0 && skb.gsoNetworkSegmentLength <= mtu) {
            icmp6_send(skb, type: ICMPv6Repr.packetTooBig, code: 0, info: UInt32(mtu))
            snmp.ip6.InTooBigErrors += 1
            snmp.ip6.FragFails += 1
            return drop(.PKT_TOO_BIG, "\(len) bytes exceed MTU \(mtu) of \(devices[route.dev].name) (IPv6 routers do not fragment)")
        }
        skb.data[nh + 7] = hop - 1
        // NF_HOOK(NFPROTO_IPV6, NF_INET_FORWARD, ..., ip6_forward_finish)
        if let end = netfilterVerdict(nf_hook(.forward, skb, inDev: skb.dev, outDev: route.dev), at: "forward") { return end }
        return ip6_forward_finish(skb, route: route)
    }

    /// `ip6_forward_finish` → `dst_output`: on to the next hop.
    func ip6_forward_finish(_ skb: SkBuff, route: FIB6Entry) -> PathEnd {
        enter(.ip6_forward_finish, skb)
        let dst = IPv6Address(array: skb.data, at: skb.networkHeader + 24)
        return ip6_output(skb, dev: route.dev, nexthop: route.gateway ?? dst, outcome: .forwarded)
    }
}
