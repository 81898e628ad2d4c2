import Wire

// net/ipv4/tcp_ipv4.c
extension Stack {
    /// `tcp_v4_rcv`: header sanity, socket lookup, and the no-socket path (checksum, then reset).
    func tcp_v4_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.tcp_v4_rcv, skb)
        guard skb.pktType == .host else { return .drop(.NOT_SPECIFIED, "TCP segment not addressed to this host (\(skb.pktType.rawValue))") }
        snmp.tcp.InSegs += 1
        let th = skb.transportHeader
        let avail = skb.len - th
        guard avail >= TCPPacket.minHeaderLength else { return .drop(.NOT_SPECIFIED, "\(avail) bytes cannot hold a TCP header") }
        let doff = Int(skb.data[th + 12] >> 4)
        guard doff >= 5 else {
            snmp.tcp.InErrs += 1
            return .drop(.PKT_TOO_SMALL, "TCP data offset \(doff) is below 5")
        }
        guard avail >= doff * 4 else { return .drop(.NOT_SPECIFIED, "TCP header of \(doff * 4) bytes exceeds the \(avail) received") }
        let ip = IPv4Packet.addresses(skb)
        let t = try! TCPPacket(checking: skb.data, at: th)
        // no_tcp_socket: the checksum is verified before a reset would be sent.
        if !t.verifyChecksum(src: ip.src, dst: ip.dst, length: avail) {
            snmp.tcp.InCsumErrors += 1
            snmp.tcp.InErrs += 1
            return .drop(.TCP_CSUM, "TCP checksum does not verify")
        }
        return .drop(.NO_SOCKET, "no socket for port \(t.dstPort) (the RST reply is due with the TX path)")
    }
}
