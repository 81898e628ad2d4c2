import Wire

// net/ipv6/udp.c and tcp_ipv6.c: AF_INET6 sockets (an AF_INET one never sees IPv6).
extension Stack {
    /// `__udp6_lib_rcv`: length (longer than the packet: short; shorter: trimmed), checksum (zero
    /// is an error over IPv6), multicast to its group's sockets, unicast to a socket or port unreachable.
    func udpv6_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.udpv6_rcv, skb)
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data
        let avail = skb.len - th
        guard avail >= 8 else {
            snmp.udp6.InErrors += 1
            return drop(.PKT_TOO_SMALL, "\(avail) bytes cannot hold a UDP header")
        }
        var ulen = Int(b.be16(th + 4))
        if ulen > avail {
            snmp.udp6.InErrors += 1
            return drop(.PKT_TOO_SMALL, "UDP length \(ulen) exceeds the \(avail) bytes of the IPv6 payload")
        }
        if ulen == 0 { ulen = avail }   // a jumbogram's
        if ulen < 8 {
            snmp.udp6.InErrors += 1
            return drop(.PKT_TOO_SMALL, "UDP length \(ulen) is below 8")
        }
        if ulen < avail { skb.len = th + ulen }
        // The source matters to connected sockets only: not read while there are none.
        let src = sockets.connectedUDP > 0 ? IPv6Address(array: b, at: nh + 8) : .any
        let dst = IPv6Address(array: b, at: nh + 24)
        let check = b.be16(th + 6)
        let sport = b.be16(th), dport = b.be16(th + 2)
        if dst.isMulticast {
            // __udp6_lib_mcast_deliver: a socket on the port bound to the group or `::` (IPV6_MULTICAST_ALL,
            // on by default, lets in what any socket joined).
            if let sk = sockets.lookup6(.udp, dst: dst, port: dport, src: src, sport: sport, dev: skb.dev) { return udp_queue_rcv_skb(skb, sk) }
            guard udpChecksumOK(skb) else { return udp6CsumError(.UDP_CSUM) }
            snmp.udp6.IgnoredMulti += 1
            return consume("multicast datagram with no socket in group \(dst)")
        }
        if case .sock(let sk)? = skb.assignedSock { return udp_queue_rcv_skb(skb, sk) }   // tproxy's (inet6_steal_sock)
        if let sk = sockets.lookup6(.udp, dst: dst, port: dport, src: src, sport: sport, dev: skb.dev) {
            // A zero checksum is refused even with a socket (udp6_csum_zero_error).
            if check == 0 { return udp6CsumError(.UDP_CSUM) }
            return udp_queue_rcv_skb(skb, sk)
        }
        guard check != 0, udpChecksumOK(skb) else { return udp6CsumError(check == 0 ? .NO_SOCKET : .UDP_CSUM) }
        snmp.udp6.NoPorts += 1
        icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: 4)
        return drop(.NO_SOCKET, "no IPv6 socket for port \(dport)")
    }

    private func udp6CsumError(_ r: DropReason) -> PathEnd {
        snmp.udp6.InCsumErrors += 1
        snmp.udp6.InErrors += 1
        return drop(r, "UDP checksum does not verify (zero is not allowed over IPv6)")
    }

    /// `tcp_v6_rcv`: header sanity and checksum, then the socket, as `tcp_v4_rcv` does: a
    /// connection or request sock by its four-tuple, else a listener (an AF_INET6 one); without
    /// either a reset answers (`tcp_v6_send_reset`). The state machine is the one IPv4 runs.
    func tcp_v6_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.tcp_v6_rcv, skb)
        guard skb.pktType == .host else { return drop(.NOT_SPECIFIED, "TCP segment not addressed to this host (\(skb.pktType.rawValue))") }
        snmp.tcp.InSegs += 1
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data
        let avail = skb.len - th
        guard avail >= TCPPacket.minHeaderLength else { return drop(.PKT_TOO_SMALL, "\(avail) bytes cannot hold a TCP header") }
        let doff = Int(b[th + 12] >> 4)
        guard doff >= 5 else {
            snmp.tcp.InErrs += 1
            return drop(.PKT_TOO_SMALL, "TCP data offset \(doff) is below 5")
        }
        guard avail >= doff * 4 else { return drop(.PKT_TOO_SMALL, "TCP header of \(doff * 4) bytes exceeds the \(avail) received") }
        if skb.ipSummed != .unnecessary {
            enter(.__skb_checksum_complete, skb)
            let s = PseudoHeader.v6(IPv6Address(array: b, at: nh + 8), IPv6Address(array: b, at: nh + 24)).sum(proto: IPProtocol.tcp, length: avail)
            guard Checksum.finish(Checksum.sum(b, from: th, count: avail, initial: s)) == 0 else {
                snmp.tcp.InCsumErrors += 1
                snmp.tcp.InErrs += 1
                return drop(.TCP_CSUM, "TCP checksum does not verify")
            }
        }
        let seg = TCPSegment(try! TCPPacket(checking: b, at: th), dataLength: avail - doff * 4)
        // inet6_steal_sock: the socket tproxy assigned, before any lookup.
        switch skb.assignedSock {
        case .conn(let c)?: return tcp_v4_do_rcv(c, skb, seg)
        case .sock(let sk)?: return tcp_listen_rcv(sk, skb, seg)
        case nil: break
        }
        let key = TCPKey(segment: skb)
        if let c = sockets.conn(key) { return tcp_v4_do_rcv(c, skb, seg) }
        if let sk = sockets.lookup6(.tcp, dst: key.local, port: key.lport, dev: skb.dev) { return tcp_listen_rcv(sk, skb, seg) }
        tcp_v6_send_reset(skb)
        return drop(.NO_SOCKET, "no IPv6 socket for port \(key.lport): answered with a reset")
    }

    /// `tcp_v6_send_reset`: not to a RST or a multicast destination; seq from the ACK, or RST|ACK
    /// acknowledging what the segment carried; traffic class 0, an automatic flow label,
    /// CHECKSUM_PARTIAL (a veth peer sees the pseudo-header sum). `fromReject`: nft's `reject with
    /// tcp reset` (nf_send_reset6): flow label 0, a full checksum, the cause's connection attached.
    func tcp_v6_send_reset(_ skb: SkBuff, fromReject: Bool = false) {
        enter(.tcp_v6_send_reset, skb)
        let nh = skb.networkHeader, b = skb.data
        guard let l4 = ipv6_skip_exthdr(b, from: nh, end: skb.len), l4.proto == IPProtocol.tcp, l4.fragOff == 0, skb.len >= l4.offset + 20 else { return }
        let th = l4.offset
        guard let rst = Stack.resetAnswering(b, th: th, end: skb.len) else { return }
        let src = IPv6Address(array: b, at: nh + 8), dst = IPv6Address(array: b, at: nh + 24)
        if dst.isMulticast { return }
        guard let route = routeOutput6(src, oif: src.isLinkLocal ? skb.dev : nil) else { return }
        let ports = UInt32(b.be16(th + 2)) << 16 | UInt32(b.be16(th))
        let ip = IPv6Repr(src: dst, dst: src, nextHeader: IPProtocol.tcp, hopLimit: hopLimit6[route.dev],
                          flowLabel: fromReject ? 0 : ip6_make_flowlabel(src: dst, dst: src, proto: IPProtocol.tcp, ports: ports), payloadLength: 20)
        var bytes = [UInt8](repeating: 0, count: 14 + 40 + 20)
        ip.emit(into: &bytes, at: 14)
        rst.emit(into: &bytes, at: 54, pseudo: ip.pseudoHeader)
        // tcp_v6_send_response counts a segment and a reset; nf_send_reset6 counts neither.
        if !fromReject { snmp.tcp.OutSegs += 1; snmp.tcp.OutRsts += 1 }
        ip6_local_out(bytes, route: route, cause: skb, csumPartialOffset: fromReject ? nil : 54 + 16, attachConntrack: fromReject, kernelSock: !fromReject)
    }
}
