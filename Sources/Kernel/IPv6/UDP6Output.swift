import Wire

// net/ipv6/udp.c (udpv6_sendmsg, udp_v6_send_skb), net/ipv6/ip6_output.c (ip6_make_skb).
extension Stack {
    /// `udpv6_sendmsg` after `udp_sendmsg`'s start: route (`ip6_dst_lookup_flow`), the hop limit
    /// of the link, an automatic flow label, the traffic class from the socket's `tos`
    /// (IPV6_TCLASS); `ip6_make_skb` charges each fragment-sized skb to sk_wmem_alloc (EAGAIN at
    /// sk_sndbuf); larger than the path MTU (the device's, or one packet too big taught) is
    /// fragmented at the source unless IPV6_MTU_DISCOVER says otherwise (`pmtudisc6`: EMSGSIZE, or
    /// the device's MTU). IP_MTU_DISCOVER (`pmtudisc`) is an IPv4 option and does not apply here, as
    /// the kernel showed. The UDP checksum is mandatory: CHECKSUM_PARTIAL when the datagram fits one skb.
    func udpv6_sendmsg(index i: Int, skb: SkBuff, sk: Sock, dst: IPv6Address) {
        let c = sk.config
        let len = pendingSends[i].payload.count
        guard len <= 65527 else { return sendFailed(i, sk, "EMSGSIZE", "\(len) bytes do not fit one UDP datagram") }
        // Without a scope id a link-local or multicast destination takes the first route that
        // matches (the only device's, on a host with one), as the kernel's sendto does.
        let bound = c.address6 ?? .any
        guard case .some(let oif) = socketOif6(dst, scope: pendingSends[i].scope, sk: sk) else {
            snmp.ip6.OutNoRoutes += 1
            return sendFailed(i, sk, "ENETUNREACH", "the scope id names no device")
        }
        guard let route = routeOutput6(dst, oif: oif, strict: sk.oif != nil, src: bound) else {
            return sendFailed(i, sk, ip6_route_error(dst, src: bound), "no route to \(dst)")
        }
        guard let src = bound.isUnspecified ? route.src : bound else {
            return sendFailed(i, sk, "EADDRNOTAVAIL", "no source address for \(dst)")
        }
        packets[i].device = devices[route.dev].name
        // ip6_setup_cork: from IPV6_PMTUDISC_PROBE on, the device's MTU, not the path's.
        let mtu = c.pmtudisc6.usesDeviceMTU ? mtu6[route.dev] : ip6_dst_mtu(dst, dev: route.dev, now: clocks[0])
        let total = 48 + len
        enter(.ip6_make_skb, skb)
        // __ip6_append_data: what may not be fragmented (ip6_sk_ignore_df false) must fit.
        if !c.pmtudisc6.fragments && total > mtu {
            return sendFailed(i, sk, "EMSGSIZE", "\(total) bytes exceed the MTU \(mtu) of \(devices[route.dev].name) (IPV6_PMTUDISC_\(c.pmtudisc6.rawValue.uppercased()))")
        }
        // __ip6_append_data's error exit counts Ip6OutDiscards.
        guard sock_alloc_send_room(i, sk, counters: &snmp.udp6) else { snmp.ip6.OutDiscards += 1; return }
        let charge = SkBuff.txTruesize(ipLength: min(total, mtu))
        // IPV6_MULTICAST_HOPS (1 by default, IPV6_DEFAULT_MCASTHOPS), else IPV6_UNICAST_HOPS or the link's.
        let hops = dst.isMulticast ? c.multicastHops ?? 1 : c.unicastHops ?? Int(hopLimit6[route.dev])
        let ip = IPv6Repr(src: src, dst: dst, nextHeader: IPProtocol.udp, hopLimit: UInt8(hops), trafficClass: c.tclass,
                          flowLabel: ip6_make_flowlabel(src: src, dst: dst, proto: IPProtocol.udp, ports: UInt32(c.port) << 16 | UInt32(pendingSends[i].port)),
                          payloadLength: 8 + len)
        var bytes = [UInt8](repeating: 0, count: 14 + total)
        UDPRepr(srcPort: c.port, dstPort: pendingSends[i].port, payload: pendingSends[i].payload).emit(into: &bytes, at: 54, pseudo: .v6(src, dst))
        ip.emit(into: &bytes, at: 14)
        skb.data = bytes; skb.len = bytes.count
        skb.networkHeader = 14; skb.transportHeader = 54; skb.protocolType = EtherType.ipv6; skb.nhoff = 20
        skb.csumPartialOffset = total <= mtu ? 54 + 6 : nil
        skb.priority = c.skPriority
        skb.sock = sk; skb.wmemCharge = charge
        skb.skOwner = .process
        sk.wmemAlloc += charge
        packets[i].frame = Array(bytes[14...])
        if tracing { packets[i].startTuple = FlowTuple.network(bytes, at: 14, ethertype: EtherType.ipv6) }
        enter(.udp_v6_send_skb, skb)
        sk.sent += 1
        udp_send_result(i, sk, ip6_local_out(skb, route: route), v6: true, recverr: c.recverr6)
        packets[i].outq = sk.wmemAlloc
    }
}
