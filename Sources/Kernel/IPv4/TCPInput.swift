import Wire

// net/ipv4/tcp_ipv4.c
extension Stack {
    /// `tcp_v4_rcv`: header sanity, socket lookup; a listener takes SYNs (the handshake itself is
    /// not modelled yet); without a socket the checksum is verified before the reset would go.
    func tcp_v4_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.tcp_v4_rcv, skb)
        guard skb.pktType == .host else { return drop(.NOT_SPECIFIED, "TCP segment not addressed to this host (\(skb.pktType.rawValue))") }
        snmp.tcp.InSegs += 1
        let th = skb.transportHeader
        let avail = skb.len - th
        guard avail >= TCPPacket.minHeaderLength else { return drop(.NOT_SPECIFIED, "\(avail) bytes cannot hold a TCP header") }
        let doff = Int(skb.data[th + 12] >> 4)
        guard doff >= 5 else {
            snmp.tcp.InErrs += 1
            return drop(.PKT_TOO_SMALL, "TCP data offset \(doff) is below 5")
        }
        guard avail >= doff * 4 else { return drop(.NOT_SPECIFIED, "TCP header of \(doff * 4) bytes exceeds the \(avail) received") }
        let ip = IPv4Packet.addresses(skb)
        let t = try! TCPPacket(checking: skb.data, at: th)
        var csumOK = true
        if skb.ipSummed != .unnecessary {
            enter(.__skb_checksum_complete, skb)
            csumOK = t.verifyChecksum(src: ip.src, dst: ip.dst, length: avail)
        }
        if let sk = sockets.lookup(.tcp, dst: ip.dst, port: t.dstPort) {
            guard csumOK else {
                snmp.tcp.InCsumErrors += 1
                snmp.tcp.InErrs += 1
                return drop(.TCP_CSUM, "TCP checksum does not verify")
            }
            let f = t.flags
            if f.contains(.rst) { return drop(.TCP_RESET, "RST to a listener") }
            if f.contains(.syn) && !f.contains(.ack) {
                sk.synReceived += 1
                return consume("SYN taken by listener \(sk.config.id) (handshake and SYN-ACK come with the TCP state machine)")
            }
            return drop(.TCP_FLAGS, "segment without SYN to a listener with no connection (a RST would answer)")
        }
        // no_tcp_socket: the checksum is verified before a reset would be sent.
        guard csumOK else {
            snmp.tcp.InCsumErrors += 1
            snmp.tcp.InErrs += 1
            return drop(.TCP_CSUM, "TCP checksum does not verify")
        }
        tcp_v4_send_reset(skb)
        return drop(.NO_SOCKET, "no socket for port \(t.dstPort): answered with a reset")
    }
}
