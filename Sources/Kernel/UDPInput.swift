import Wire

// net/ipv4/udp.c
extension Stack {
    /// `udp_rcv` / `__udp4_lib_rcv`: length checks, broadcast delivery, socket lookup, checksum, NoPorts.
    func udp_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.udp_rcv, skb)
        let th = skb.transportHeader
        let avail = skb.len - th
        guard avail >= UDPPacket.headerLength else {
            snmp.udp.InErrors += 1
            return .drop(.NOT_SPECIFIED, "\(avail) bytes cannot hold a UDP header")
        }
        let ulen = Int(skb.data.be16(th + 4))
        guard ulen <= avail, ulen >= UDPPacket.headerLength else {
            snmp.udp.InErrors += 1
            return .drop(.PKT_TOO_SMALL, "UDP length \(ulen) does not fit the \(avail) bytes of IP payload")
        }
        skb.len = th + ulen
        if isBroadcastRoute(skb) {
            // __udp4_lib_mcast_deliver with no socket bound: ignored, not an error.
            snmp.udp.IgnoredMulti += 1
            return .consume("broadcast/multicast datagram with no socket bound")
        }
        // No socket table yet: every unicast datagram reaches the no-socket path.
        let ip = IPv4Packet.addresses(skb)
        let u = try! UDPPacket(checking: skb.data, at: th)
        if !u.verifyChecksum(src: ip.src, dst: ip.dst) {
            snmp.udp.InCsumErrors += 1
            snmp.udp.InErrors += 1
            return .drop(.UDP_CSUM, "UDP checksum does not verify")
        }
        snmp.udp.NoPorts += 1
        return .drop(.NO_SOCKET, "no socket on port \(u.dstPort) (ICMP port unreachable is due with the TX path)")
    }
}

extension IPv4Packet {
    /// Source and destination of the skb's IPv4 header.
    static func addresses(_ skb: SkBuff) -> (src: IPv4Address, dst: IPv4Address) {
        (IPv4Address(raw: skb.data.be32(skb.networkHeader + 12)), IPv4Address(raw: skb.data.be32(skb.networkHeader + 16)))
    }
}
