import Wire

// net/ipv6/ip6_input.c and the input half of net/ipv6/route.c.
extension Stack {
    /// `ipv6_rcv` / `ip6_rcv_core`: the header checks in the kernel's order, with its drop reasons
    /// and Ip6 MIB counters; a hop-by-hop header is parsed here, before PREROUTING.
    func ipv6_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.ipv6_rcv, skb)
        if skb.pktType == .otherhost {
            devices[skb.dev].stats.rx_otherhost_dropped += 1
            return drop(.OTHERHOST, "destination MAC is not ours (PACKET_OTHERHOST)")
        }
        snmp.ip6.InReceives += 1
        if ipv6Disabled {
            snmp.ip6.InDiscards += 1
            return drop(.IPV6DISABLED, "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1)")
        }
        let nh = skb.networkHeader, b = skb.data
        let avail = skb.len - nh
        guard avail >= IPv6Packet.headerLength else { return inhdr6(.IP_INHDR, "\(avail) bytes cannot hold an IPv6 header") }
        guard b[nh] >> 4 == 6 else { return inhdr6(.UNHANDLED_PROTO, "version \(b[nh] >> 4) in an IPv6 packet") }
        let src = IPv6Address(array: b, at: nh + 8), dst = IPv6Address(array: b, at: nh + 24)
        // RFC 4291 2.5.3: the loopback address never arrives from outside (only by lo).
        if (src.isLoopback || dst.isLoopback) && !devices[skb.dev].isLoopback { return inhdr6(.IP_INHDR, "loopback address \(src.isLoopback ? src : dst) received on \(devices[skb.dev].name)") }
        // RFC 4291 errata 3480: interface-local multicast never arrives from another node.
        if dst.isMulticast && dst.multicastScope == 1 && !devices[skb.dev].isLoopback { return inhdr6(.IP_INHDR, "interface-local multicast \(dst) from another node") }
        // RFC 4291 2.7: multicast scope 0 is reserved; a multicast source is never valid.
        if dst.isMulticast && dst.multicastScope == 0 { return inhdr6(.IP_INHDR, "multicast \(dst) with the reserved scope 0") }
        if src.isMulticast { return inhdr6(.IP_INHDR, "multicast source \(src)") }
        skb.transportHeader = nh + IPv6Packet.headerLength
        skb.nhoff = nh + 6
        let pktLen = Int(b.be16(nh + 4))
        // A zero payload length is a jumbogram's, when a hop-by-hop header follows.
        if pktLen != 0 || b[nh + 6] != IPProtocol.hopByHop {
            if pktLen + IPv6Packet.headerLength > avail {
                snmp.ip6.InTruncatedPkts += 1
                return drop(.PKT_TOO_SMALL, "payload length \(pktLen) exceeds the \(avail - IPv6Packet.headerLength) bytes received")
            }
            // pskb_trim_rcsum: Ethernet padding goes.
            skb.len = nh + IPv6Packet.headerLength + pktLen
        }
        if b[nh + 6] == IPProtocol.hopByHop, let end = ipv6_parse_hopopts(skb) {
            snmp.ip6.InHdrErrors += 1
            return end
        }
        // NF_HOOK(NFPROTO_IPV6, NF_INET_PRE_ROUTING, ..., ip6_rcv_finish)
        if let end = netfilterVerdict(nf_hook(.prerouting, skb, inDev: skb.dev, outDev: nil), at: "prerouting") { return end }
        return ip6_rcv_finish(skb)
    }

    /// The `err:` exit of `ip6_rcv_core`: Ip6InHdrErrors, and IP_INHDR unless a reason was set.
    func inhdr6(_ r: DropReason, _ why: @autoclosure () -> String) -> PathEnd {
        snmp.ip6.InHdrErrors += 1
        return drop(r, why())
    }

    /// `ip6_rcv_finish` / `ip6_route_input`: multicast to `ip6_mc_input`; otherwise the FIB decides
    /// local delivery, forwarding, or `ip6_pkt_drop` when nothing routes the destination.
    func ip6_rcv_finish(_ skb: SkBuff) -> PathEnd {
        enter(.ip6_rcv_finish, skb)
        let dst = IPv6Address(array: skb.data, at: skb.networkHeader + 24)
        if dst.isMulticast { return ip6_mc_input(skb) }
        // Back from lo with its output route: a local one (dst.input is ip6_input).
        if keepsLoopRoute(skb, dst: dst.raw) { return ip6_input(skb) }
        let src = IPv6Address(array: skb.data, at: skb.networkHeader + 8)
        // An unreachable route's input is ip6_pkt_discard, as the null route's is.
        guard let route = fib6.lookup(dst, dev: skb.dev, src: src, mark: skb.mark, iif: skb.dev), route.type != .unreachable else {
            return ip6_pkt_drop(skb, dst: dst)
        }
        if route.type == .local { return ip6_input(skb) }
        return ip6_forward(skb, route: route)
    }

    /// `ip6_pkt_drop` (the null route's input): no route to `dst`, ICMPv6 no route to the source.
    func ip6_pkt_drop(_ skb: SkBuff, dst: IPv6Address) -> PathEnd {
        if dst.isUnspecified {
            snmp.ip6.InAddrErrors += 1
            icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: 0)
            return drop(.IP_INADDRERRORS, "destination is the unspecified address")
        }
        snmp.ip6.InNoRoutes += 1
        icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: 0)
        return drop(.IP_INNOROUTES, "no route to \(dst)")
    }

    /// `ip6_mc_input`: delivered when the receiving device has joined the group.
    func ip6_mc_input(_ skb: SkBuff) -> PathEnd {
        enter(.ip6_mc_input, skb)
        snmp.ip6.InMcastPkts += 1
        let dst = IPv6Address(array: skb.data, at: skb.networkHeader + 24)
        guard ipv6_chk_mcast_addr(skb.dev, dst) else { return drop(.NOT_SPECIFIED, "multicast group \(dst) not joined on \(devices[skb.dev].name)") }
        return ip6_input(skb)
    }

    /// `ip6_input`: NF_HOOK(NF_INET_LOCAL_IN, ..., ip6_input_finish). Fragments pass LOCAL_IN one
    /// by one: IPv6 reassembles after it (unless conntrack's nf_defrag_ipv6 did before PREROUTING).
    func ip6_input(_ skb: SkBuff) -> PathEnd {
        enter(.ip6_input, skb)
        if let end = nf_local_in(skb) { return end }
        return ip6_input_finish(skb)
    }

    /// `ip6_input_finish` / `ip6_protocol_deliver_rcu`: the inet6_protos dispatch. Extension
    /// headers are protocols too: each handler moves the transport header on and the loop
    /// resubmits with the next header; the first final protocol (UDP, TCP, ICMPv6) ends it.
    func ip6_input_finish(_ skb: SkBuff) -> PathEnd {
        enter(.ip6_input_finish, skb)
        var skb = skb
        let nh = skb.networkHeader
        let dst = IPv6Address(array: skb.data, at: nh + 24)
        while true {
            let next = skb.data[skb.nhoff]
            switch next {
            case IPProtocol.routing:
                if let end = ipv6_rthdr_rcv(skb) { return end }
            case IPProtocol.destinationOptions:
                if let end = ipv6_destopt_rcv(skb) { return end }
            case IPProtocol.fragment:
                switch ipv6_frag_rcv(skb) {
                case .queued: return .stolen
                case .failed(let end): return end
                case .reassembled(let whole): skb = whole
                }
            case IPProtocol.noNextHeader:
                // ipv6_nodata_rcv: nothing follows; the packet is consumed.
                snmp.ip6.InDelivers += 1
                return consume("no next header (59)")
            case IPProtocol.udp, IPProtocol.tcp, IPProtocol.icmpv6:
                // The first final protocol: a multicast destination must be a group of the device
                // (MLD excepted).
                if dst.isMulticast && !ipv6_chk_mcast_addr(skb.dev, dst) {
                    snmp.ip6.InDiscards += 1
                    return drop(.IP_INADDRERRORS, "multicast group \(dst) not joined on \(devices[skb.dev].name)")
                }
                let end: PathEnd
                switch next {
                case IPProtocol.udp: end = udpv6_rcv(skb)
                case IPProtocol.tcp: end = tcp_v6_rcv(skb)
                default: end = icmpv6_rcv(skb)
                }
                snmp.ip6.InDelivers += 1
                return end
            default:
                // No handler (a hop-by-hop header that is not first lands here too).
                snmp.ip6.InUnknownProtos += 1
                icmp6_send(skb, type: ICMPv6Repr.parameterProblem, code: 1, info: UInt32(skb.nhoff - nh))
                return drop(.IP_NOPROTO, "no handler for next header \(next)")
            }
        }
    }
}
