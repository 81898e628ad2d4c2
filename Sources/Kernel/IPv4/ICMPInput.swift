import Wire

// net/ipv4/icmp.c, the receive side (what each type does recorded: scripts/record_icmp_input.py)
extension Stack {
    /// `icmp_rcv`: checksum, the message counted by type (IcmpMsg), what a broadcast or multicast
    /// may be, echo replies to ping sockets, the type range, then the type's handler.
    func icmp_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.icmp_rcv, skb)
        snmp.icmp.InMsgs += 1
        let th = skb.transportHeader
        let len = skb.len - th
        if Checksum.compute(skb.data, from: th, count: len) != 0 {
            snmp.icmp.InCsumErrors += 1
            snmp.icmp.InErrors += 1
            return drop(.ICMP_CSUM, "ICMP checksum does not verify")
        }
        guard len >= ICMPv4Packet.headerLength else {
            snmp.icmp.InErrors += 1
            return drop(.NOT_SPECIFIED, "\(len) bytes cannot hold an ICMP header")
        }
        let type = skb.data[th]
        snmp.icmp.countIn(type)
        // ICMP_EXT_ECHO (PROBE): icmp_build_probe answers only with icmp_echo_enable_probe, which is 0.
        if type == 42 { return consume("extended echo (PROBE) not answered: icmp_echo_enable_probe is 0") }
        if isBroadcastRoute(skb) {
            // RFC 1122 3.2.2.6/3.2.2.8: a broadcast echo or timestamp is ignored by sysctl; other
            // types but address masks may not be broadcast at all.
            if (type == ICMPv4Repr.echoRequest || type == 13) && sysctl(.icmp_echo_ignore_broadcasts) != 0 {
                snmp.icmp.InErrors += 1
                return drop(.INVALID_PROTO, "broadcast ICMP type \(type) ignored (icmp_echo_ignore_broadcasts)")
            }
            if ![ICMPv4Repr.echoRequest, 13, 17, 18].contains(type) {
                snmp.icmp.InErrors += 1
                return drop(.INVALID_PROTO, "ICMP type \(type) to a broadcast or multicast address")
            }
        }
        // Echo replies (and extended ones) belong to ping sockets.
        if type == ICMPv4Repr.echoReply || type == 43 { return ping_rcv(skb) }
        guard type <= 18 else {
            snmp.icmp.InErrors += 1
            return drop(.UNHANDLED_PROTO, "ICMP type \(type) is above NR_ICMP_TYPES")
        }
        switch type {
        case ICMPv4Repr.echoRequest: return icmp_echo(skb)
        case 13: return icmp_timestamp(skb)
        case ICMPv4Repr.destUnreachable, 4, ICMPv4Repr.timeExceeded, 12: return icmp_unreach(skb, type: type)
        case 5: return icmp_redirect(skb)
        default: return consume("ICMP type \(type) discarded (icmp_discard)")
        }
    }

    /// `icmp_unreach` (destination unreachable, source quench, time exceeded, parameter problem):
    /// the quoted IP header checked, then the error passed to the quoted packet's protocol.
    private func icmp_unreach(_ skb: SkBuff, type: UInt8) -> PathEnd {
        let th = skb.transportHeader, b = skb.data
        let quote = th + ICMPv4Packet.headerLength
        guard skb.len - quote >= 20 else {
            snmp.icmp.InErrors += 1
            return drop(.NOT_SPECIFIED, "the quoted IP header is cut short (\(skb.len - quote) bytes)")
        }
        guard b[quote] & 0x0f >= 5 else {
            snmp.icmp.InErrors += 1
            return drop(.IP_INHDR, "the quoted IP header length is \(Int(b[quote] & 0x0f) * 4)")
        }
        let code = b[th + 1]
        // Codes above NR_ICMP_UNREACH, and reassembly timeouts, go no further.
        if type == ICMPv4Repr.destUnreachable && code > 15 { return consume("destination unreachable code \(code) is above NR_ICMP_UNREACH") }
        if type == ICMPv4Repr.timeExceeded && code == 1 { return consume("fragment reassembly time exceeded: not passed on") }
        // Fragmentation needed: the next hop's MTU (ip_no_pmtu_disc 0).
        let info = type == ICMPv4Repr.destUnreachable && code == 4 ? Int(b.be16(th + 6)) : 0
        return icmp_socket_deliver(skb, type: type, code: code, info: info)
    }

    /// `icmp_redirect`: the quoted header must be there; then, as for other errors, its socket.
    private func icmp_redirect(_ skb: SkBuff) -> PathEnd {
        guard skb.len - skb.transportHeader - ICMPv4Packet.headerLength >= 20 else {
            snmp.icmp.InErrors += 1
            return drop(.PKT_TOO_SMALL, "redirect without the quoted IP header")
        }
        // The new gateway rides where other errors have their info.
        return icmp_socket_deliver(skb, type: 5, code: skb.data[skb.transportHeader + 1], info: Int(skb.data.be32(skb.transportHeader + 4)))
    }

    /// `icmp_socket_deliver`: the quoted header and 8 bytes of its transport header must be there;
    /// the error goes to the protocol's error handler, which looks for the socket that sent the
    /// quoted packet (udp_err, tcp_v4_err: none is an InErrors).
    private func icmp_socket_deliver(_ skb: SkBuff, type: UInt8, code: UInt8, info: Int) -> PathEnd {
        let quote = skb.transportHeader + ICMPv4Packet.headerLength, b = skb.data
        let ihl = Int(b[quote] & 0x0f) * 4
        guard skb.len - quote >= ihl + 8 else {
            snmp.icmp.InErrors += 1
            return consume("the quoted packet lacks 8 bytes of its transport header")
        }
        let src = IPv4Address(raw: b.be32(quote + 12)), dst = IPv4Address(raw: b.be32(quote + 16))
        let sport = b.be16(quote + ihl), dport = b.be16(quote + ihl + 2)
        let now = clocks[skb.cpu]
        switch b[quote + 9] {
        case IPProtocol.udp:
            if let sk = sockets.lookup(.udp, dst: src, port: sport, src: dst, sport: dport, dev: skb.dev) { return udp_err(sk, skb, type: type, code: code, info: info, dst: dst, now: now) }
        case IPProtocol.tcp:
            if let c = sockets.conn(TCPKey(local: src, lport: sport, remote: dst, rport: dport)) {
                return consume(tcp_v4_err(c, type: type, code: code, info: info, seq: b.be32(quote + ihl + 4), cause: skb))
            }
        case IPProtocol.icmp:
            // icmp_err: a quoted echo reply the kernel sent teaches the path MTU or takes a
            // redirect; what else ICMP sent goes to ping_err.
            guard b[quote + ihl] == ICMPv4Repr.echoReply else { return ping_err(skb, type: type, code: code, info: info, icmp: quote + ihl, dst: dst) }
            if type == ICMPv4Repr.destUnreachable, code == 4 { __ip_rt_update_pmtu(dst, mtu: info, now: now) }
            if type == 5 { return consume(__ip_do_redirect(skb, daddr: dst, code: code, gateway: UInt32(info))) }
            return consume("ICMP type \(type) quoting an echo reply")
        default:
            return consume("ICMP type \(type) quoting protocol \(b[quote + 9]): no socket takes it")
        }
        snmp.icmp.InErrors += 1
        return consume("ICMP type \(type): no socket sent the quoted packet (\(src):\(sport) > \(dst):\(dport))")
    }

    /// icmp_err_convert: the errno of each destination-unreachable code, and whether it is fatal.
    static let icmp_err_convert: [(String, Bool)] = [
        ("ENETUNREACH", false), ("EHOSTUNREACH", false), ("ENOPROTOOPT", true), ("ECONNREFUSED", true), ("EMSGSIZE", false),
        ("EOPNOTSUPP", false), ("ENETUNREACH", true), ("EHOSTDOWN", true), ("ENONET", true), ("ENETUNREACH", true),
        ("EHOSTUNREACH", true), ("ENETUNREACH", false), ("EHOSTUNREACH", false), ("EHOSTUNREACH", true), ("EHOSTUNREACH", true),
        ("EHOSTUNREACH", true),
    ]

    /// `__udp4_lib_err` on the socket that sent the quoted datagram: the error's errno, and for
    /// fragmentation needed the path MTU (ipv4_sk_update_pmtu); with IP_RECVERR the errno becomes
    /// the socket's sk_err, which its next call reports; without it, only a hard error on a
    /// connected socket does.
    private func udp_err(_ sk: Sock, _ skb: SkBuff, type: UInt8, code: UInt8, info: Int, dst: IPv4Address, now: UInt64) -> PathEnd {
        let port = sk.config.port
        var err = "EHOSTUNREACH", hard = false   // time exceeded, and what has no errno of its own: soft
        switch type {
        case 4: return consume("source quench for the socket on port \(port): ignored")
        case 5: return consume(__ip_do_redirect(skb, daddr: dst, code: code, gateway: UInt32(info)))   // ipv4_sk_redirect
        case 12: err = "EPROTO"; hard = true
        case ICMPv4Repr.destUnreachable where code == 4:
            __ip_rt_update_pmtu(dst, mtu: info, now: now)
            if sk.config.pmtudisc == .dont { return consume("path MTU \(info) to \(dst) learnt; IP_PMTUDISC_DONT: no error for the socket") }
            err = "EMSGSIZE"; hard = true
        case ICMPv4Repr.destUnreachable where Int(code) < Stack.icmp_err_convert.count: (err, hard) = Stack.icmp_err_convert[Int(code)]
        default: break
        }
        // A connected socket (TCP_ESTABLISHED) takes a hard error without IP_RECVERR too.
        guard sk.config.recverr || (hard && sk.config.peer != nil) else {
            return consume("\(err) for the socket on port \(port): without IP_RECVERR it does not see it" + (hard ? " (it is not connected)" : " (a soft error)"))
        }
        sk.pendingError = err
        return consume("\(err) for the socket on port \(port): its sk_err (" + (sk.config.recverr ? "IP_RECVERR" : "connected") + ")")
    }
}
