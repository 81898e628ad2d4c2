import Wire

// net/ipv4/tcp_ipv4.c
extension Stack {
    /// `tcp_v4_rcv`: header sanity and the checksum, then the socket: a connection or request
    /// sock by its four-tuple (`__inet_lookup_established`), else a listener; without either the
    /// checksum is verified before the reset goes.
    func tcp_v4_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.tcp_v4_rcv, skb)
        guard skb.pktType == .host else { return drop(.NOT_SPECIFIED, "TCP segment not addressed to this host (\(skb.pktType.rawValue))") }
        snmp.tcp.InSegs += 1
        let th = skb.transportHeader
        let avail = skb.len - th
        guard avail >= TCPPacket.minHeaderLength else { return drop(.PKT_TOO_SMALL, "\(avail) bytes cannot hold a TCP header") }
        let doff = Int(skb.data[th + 12] >> 4)
        guard doff >= 5 else {
            snmp.tcp.InErrs += 1
            return drop(.PKT_TOO_SMALL, "TCP data offset \(doff) is below 5")
        }
        guard avail >= doff * 4 else { return drop(.PKT_TOO_SMALL, "TCP header of \(doff * 4) bytes exceeds the \(avail) received") }
        let ip = IPv4Packet.addresses(skb)
        let t = try! TCPPacket(checking: skb.data, at: th)
        var csumOK = true
        if skb.ipSummed != .unnecessary {
            enter(.__skb_checksum_complete, skb)
            csumOK = t.verifyChecksum(src: ip.src, dst: ip.dst, length: avail)
        }
        guard csumOK else {
            snmp.tcp.InCsumErrors += 1
            snmp.tcp.InErrs += 1
            return drop(.TCP_CSUM, "TCP checksum does not verify")
        }
        let seg = TCPSegment(t, dataLength: avail - doff * 4)
        // inet_steal_sock: the socket tproxy assigned, before any lookup.
        switch skb.assignedSock {
        case .conn(let c)?: return tcp_v4_do_rcv(c, skb, seg)
        case .sock(let sk)?: return tcp_listen_rcv(sk, skb, seg)
        case nil: break
        }
        if let c = sockets.conn(TCPKey(local: ip.dst, lport: t.dstPort, remote: ip.src, rport: t.srcPort)) {
            return tcp_v4_do_rcv(c, skb, seg)
        }
        if let sk = sockets.lookup(.tcp, dst: ip.dst, port: t.dstPort, dev: skb.dev) { return tcp_listen_rcv(sk, skb, seg) }
        tcp_v4_send_reset(skb)
        return drop(.NO_SOCKET, "no socket for port \(t.dstPort): answered with a reset")
    }

    /// tcp_rcv_state_process in LISTEN: an ACK is answered with a reset, a RST dropped, a SYN
    /// makes a request sock (for the segment's own addresses, whatever port the listener has).
    func tcp_listen_rcv(_ sk: Sock, _ skb: SkBuff, _ seg: TCPSegment) -> PathEnd {
        let f = seg.flags
        if f.contains(.ack) && !f.contains(.rst) {
            tcp_send_reset(skb)
            return drop(.TCP_FLAGS, "ACK to listener \(sk.config.id) with no such connection: answered with a reset")
        }
        if f.contains(.rst) { return drop(.TCP_RESET, "RST to a listener") }
        if f.contains(.syn) && !f.contains(.fin) && !f.contains(.ack) { return tcp_conn_request(sk, skb, seg) }
        return drop(.TCP_FLAGS, "segment without SYN to a listener")
    }
}

/// The fields of a received segment the state machine reads, options parsed once
/// (`tcp_parse_options`).
struct TCPSegment {
    var seq: UInt32, ack: UInt32, flags: TCPFlags, window: UInt16
    var dataOffset: Int, dataLength: Int
    var mss: Int?, wscale: UInt8?, sackOK = false, tsval: UInt32?, tsecr: UInt32 = 0

    init(_ t: TCPPacket, dataLength: Int) {
        seq = t.seq; ack = t.ack; flags = t.flags; window = t.window
        dataOffset = t.headerLength; self.dataLength = dataLength
        let b = t.buffer, end = t.offset + t.headerLength
        var i = t.offset + 20
        while i < end {
            let kind = b[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard i + 1 < end else { break }
            let len = Int(b[i + 1])
            guard len >= 2, i + len <= end else { break }
            switch (kind, len) {
            case (2, 4) where flags.contains(.syn): mss = Int(b.be16(i + 2))
            case (3, 3) where flags.contains(.syn): wscale = min(b[i + 2], 14)
            case (4, 2) where flags.contains(.syn): sackOK = true
            case (8, 10): tsval = b.be32(i + 2); tsecr = b.be32(i + 6)
            default: break
            }
            i += len
        }
    }
    /// The sequence number after the segment (SYN and FIN count one).
    var endSeq: UInt32 {
        seq &+ UInt32(dataLength) &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
    }
}
