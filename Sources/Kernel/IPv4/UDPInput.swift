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
            return drop(.NOT_SPECIFIED, "\(avail) bytes cannot hold a UDP header")
        }
        let ulen = Int(skb.data.be16(th + 4))
        guard ulen <= avail, ulen >= UDPPacket.headerLength else {
            snmp.udp.InErrors += 1
            return drop(.PKT_TOO_SMALL, "UDP length \(ulen) does not fit the \(avail) bytes of IP payload")
        }
        skb.len = th + ulen
        let ip = IPv4Packet.addresses(skb)
        let dport = skb.data.be16(th + 2)
        // inet_steal_sock: the socket tproxy assigned takes it, before any lookup.
        if case .sock(let sk)? = skb.assignedSock { return udp_queue_rcv_skb(skb, sk) }
        if isBroadcastRoute(skb) {
            // __udp4_lib_mcast_deliver: every matching socket gets a copy (bound to the group or
            // the wildcard; IP_MULTICAST_ALL, on by default, lets in what any socket joined); none
            // is not an error.
            guard let sk = sockets.lookup(.udp, dst: ip.dst, port: dport, src: ip.src, sport: skb.data.be16(th), dev: skb.dev) else {
                snmp.udp.IgnoredMulti += 1
                return consume("broadcast/multicast datagram with no socket bound")
            }
            return udp_queue_rcv_skb(skb, sk)
        }
        guard let sk = sockets.lookup(.udp, dst: ip.dst, port: dport, src: ip.src, sport: skb.data.be16(th), dev: skb.dev) else {
            if !udpChecksumOK(skb) {
                snmp.udp.InCsumErrors += 1
                snmp.udp.InErrors += 1
                return drop(.UDP_CSUM, "UDP checksum does not verify")
            }
            snmp.udp.NoPorts += 1
            icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: 3)
            return drop(.NO_SOCKET, "no socket on port \(dport)")
        }
        return udp_queue_rcv_skb(skb, sk)
    }

    /// The UDP checksum over the IPv4 or IPv6 pseudo-header (a zero one means "none" over IPv4 only).
    func udpChecksumOK(_ skb: SkBuff) -> Bool {
        if skb.ipSummed == .unnecessary { return true }
        let th = skb.transportHeader, nh = skb.networkHeader, b = skb.data
        let pseudo: PseudoHeader = skb.protocolType == EtherType.ipv6
            ? .v6(IPv6Address(array: b, at: nh + 8), IPv6Address(array: b, at: nh + 24))
            : .v4(IPv4Address(raw: b.be32(nh + 12)), IPv4Address(raw: b.be32(nh + 16)))
        if b.be16(th + 6) == 0 { return !pseudo.isIPv6 }
        enter(.__skb_checksum_complete, skb)
        let s = pseudo.sum(proto: IPProtocol.udp, length: skb.len - th)
        return Checksum.finish(Checksum.sum(b, from: th, count: skb.len - th, initial: s)) == 0
    }

    /// `udp_queue_rcv_skb` / `__udp_enqueue_schedule_skb`: checksum, then the receive buffer:
    /// refused once sk_rmem_alloc is over sk_rcvbuf (one datagram always fits an empty queue).
    /// Over IPv6 (`udpv6_queue_rcv_skb`) the Udp6 counters move; an AF_INET6 socket sees an IPv4
    /// sender as a v4-mapped address.
    func udp_queue_rcv_skb(_ skb: SkBuff, _ sk: Sock) -> PathEnd {
        enter(.udp_queue_rcv_skb, skb)
        let v6 = skb.protocolType == EtherType.ipv6
        if !udpChecksumOK(skb) {
            if v6 { snmp.udp6.InCsumErrors += 1; snmp.udp6.InErrors += 1 } else { snmp.udp.InCsumErrors += 1; snmp.udp.InErrors += 1 }
            return drop(.UDP_CSUM, "UDP checksum does not verify")
        }
        let size = skb.truesize
        if sk.rmemAlloc > sk.rcvbuf || sk.rmemAlloc + size > size + sk.rcvbuf {
            sk.drops += 1
            if v6 { snmp.udp6.RcvbufErrors += 1; snmp.udp6.InErrors += 1 } else { snmp.udp.RcvbufErrors += 1; snmp.udp.InErrors += 1 }
            return drop(.SOCKET_RCVBUFF, "socket \(sk.config.id) holds \(sk.rmemAlloc) of \(sk.rcvbuf) bytes (SO_RCVBUF)")
        }
        let th = skb.transportHeader, nh = skb.networkHeader, b = skb.data
        let src: SockAddr, dst: SockAddr
        if v6 {
            src = .v6(IPv6Address(array: b, at: nh + 8)); dst = .v6(IPv6Address(array: b, at: nh + 24))
        } else if sk.config.address6 != nil {
            src = .v6(IPv6Address(raw: 0xffff << 32 | UInt128(b.be32(nh + 12)))); dst = .v6(IPv6Address(raw: 0xffff << 32 | UInt128(b.be32(nh + 16))))
        } else {
            src = .v4(IPv4Address(raw: b.be32(nh + 12))); dst = .v4(IPv4Address(raw: b.be32(nh + 16)))
        }
        sk.rmemAlloc += size
        sk.rxhash = skb.hash
        sk.queue.append(Datagram(src: src, srcPort: b.be16(th), dst: dst,
                                 bytes: b, payloadRange: (th + 8)..<skb.len, timeNs: clocks[skb.cpu], truesize: size))
        if v6 { snmp.udp6.InDatagrams += 1 } else { snmp.udp.InDatagrams += 1 }
        if tracing, skb.packet >= 0, !skb.generated { packets[skb.packet].note = "queued on socket \(sk.config.id) (\(sk.queue.count) datagrams, \(sk.rmemAlloc) bytes)" }
        return .deliver
    }
}

extension IPv4Packet {
    /// Source and destination of the skb's IPv4 header.
    static func addresses(_ skb: SkBuff) -> (src: IPv4Address, dst: IPv4Address) {
        (IPv4Address(raw: skb.data.be32(skb.networkHeader + 12)), IPv4Address(raw: skb.data.be32(skb.networkHeader + 16)))
    }
}
