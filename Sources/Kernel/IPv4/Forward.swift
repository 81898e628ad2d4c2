import Wire

// net/ipv4/ip_forward.c
extension Stack {
    /// `ip_forward`: only PACKET_HOST frames, TTL must outlive this hop (else ICMP time exceeded),
    /// DF packets must fit the MTU (else ICMP fragmentation needed); TTL is decremented with an
    /// incremental checksum update, then FORWARD and `ip_forward_finish`.
    func ip_forward(_ skb: SkBuff, route: FIBEntry) -> PathEnd {
        enter(.ip_forward, skb)
        guard skb.pktType == .host else { return drop(.OTHERHOST, "not addressed to our MAC (\(skb.pktType.rawValue)): not forwarded") }
        let nh = skb.networkHeader
        let ttl = skb.data[nh + 8]
        if ttl <= 1 {
            snmp.ip.InHdrErrors += 1
            icmp_send(skb, type: ICMPv4Repr.timeExceeded, code: 0)
            return drop(.IP_INHDR, "TTL \(ttl) expires in transit")
        }
        let mtu = devices[route.dev].config.mtu
        let len = skb.len - nh
        if len > mtu && skb.data.be16(nh + 6) & IPv4Packet.flagDF != 0 {
            snmp.ip.FragFails += 1
            icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: 4, info: UInt32(mtu))
            return drop(.PKT_TOO_BIG, "\(len) bytes with DF exceed MTU \(mtu) of \(devices[route.dev].name)")
        }
        // ip_decrease_ttl: the checksum gains what the TTL word loses, with the kernel's end-around carry.
        var check = UInt32(skb.data.be16(nh + 10)) + 0x0100
        check += check >= 0xffff ? 1 : 0
        skb.data[nh + 8] = ttl - 1
        skb.data.setBE16(nh + 10, UInt16(truncatingIfNeeded: check))
        // NF_HOOK(NF_INET_FORWARD, ..., ip_forward_finish)
        if let end = netfilterVerdict(nf_hook(.forward, skb, inDev: skb.dev, outDev: route.dev), at: "forward") { return end }
        return ip_forward_finish(skb, route: route)
    }

    /// `ip_forward_finish`: count it and hand it to `ip_output` toward the next hop.
    func ip_forward_finish(_ skb: SkBuff, route: FIBEntry) -> PathEnd {
        enter(.ip_forward_finish, skb)
        snmp.ip.ForwDatagrams += 1
        let dst = IPv4Address(raw: skb.data.be32(skb.networkHeader + 16))
        return ip_output(skb, dev: route.dev, nexthop: route.gateway ?? dst, outcome: .forwarded)
    }
}
