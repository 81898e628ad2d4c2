import Wire

// net/ipv6/icmp.c (icmpv6_notify, icmpv6_err, icmpv6_err_convert), udp.c (__udp6_lib_err),
// tcp_ipv6.c (tcp_v6_err): an ICMPv6 error reaches what sent the packet it quotes.
extension Stack {
    /// `icmpv6_notify`: the quoted IPv6 header, its extension headers and 8 bytes of what follows
    /// must be there (else Icmp6InErrors); the error goes to the handler of the quoted protocol
    /// (UDP, TCP, ICMPv6; a later fragment's protocol has none, nor do the others).
    func icmpv6_notify(_ skb: SkBuff, type: UInt8, code: UInt8, info: UInt32) -> PathEnd {
        enter(.icmpv6_notify, skb)
        let quote = skb.transportHeader + 8
        guard skb.len - quote >= IPv6Packet.headerLength else {
            snmp.icmp6.InErrors += 1
            return drop(.PKT_TOO_SMALL, "the quoted packet lacks its IPv6 header")
        }
        // ipv6_skip_exthdr fails on a truncated header and on "no next header".
        guard let l4 = ipv6_skip_exthdr(skb.data, from: quote, end: skb.len), l4.proto != IPProtocol.noNextHeader else {
            snmp.icmp6.InErrors += 1
            return drop(.IPV6_BAD_EXTHDR, "the quoted packet's extension headers end before its upper-layer header")
        }
        guard skb.len - l4.offset >= 8 else {
            snmp.icmp6.InErrors += 1
            return drop(.PKT_TOO_SMALL, "the quoted packet lacks 8 bytes of its upper-layer header")
        }
        guard l4.fragOff == 0 else { return consume("ICMPv6 type \(type) quoting a later fragment: its protocol has no error handler") }
        switch l4.proto {
        case IPProtocol.udp: return udpv6_err(skb, type: type, code: code, info: info, l4: l4.offset)
        case IPProtocol.tcp: return tcp_v6_err(skb, type: type)
        case IPProtocol.icmpv6: return icmpv6_err(skb, type: type, info: info, l4: l4.offset)
        default: return consume("ICMPv6 type \(type) quoting protocol \(l4.proto): no socket takes it")
        }
    }

    /// `icmpv6_err_convert`: the errno of an ICMPv6 error, and whether it is hard (fatal).
    static func icmpv6_err_convert(type: UInt8, code: UInt8) -> (String, Bool) {
        switch type {
        case ICMPv6Repr.destUnreachable:
            // no route, administratively prohibited, beyond scope, address, port, policy, reject route
            let table: [(String, Bool)] = [("ENETUNREACH", false), ("EACCES", true), ("EHOSTUNREACH", false), ("EHOSTUNREACH", false),
                                           ("ECONNREFUSED", true), ("EACCES", true), ("EACCES", true)]
            return Int(code) < table.count ? table[Int(code)] : ("EPROTO", true)
        case ICMPv6Repr.packetTooBig: return ("EMSGSIZE", false)
        case ICMPv6Repr.parameterProblem: return ("EPROTO", true)
        case ICMPv6Repr.timeExceeded: return ("EHOSTUNREACH", false)
        default: return ("EPROTO", false)
        }
    }

    /// `__udp6_lib_err` on the socket that sent the quoted datagram (none: Icmp6InErrors).
    /// Packet too big teaches the path MTU (ip6_sk_update_pmtu) and is then a hard error
    /// (IPV6_MTU_DISCOVER is at its default, WANT). With IPV6_RECVERR the errno becomes the
    /// socket's sk_err, which its next call reports; without it, only a hard error on a connected
    /// socket does (recorded: scripts/record_udp6_connect.sh; IP_RECVERR does not count here).
    func udpv6_err(_ skb: SkBuff, type: UInt8, code: UInt8, info: UInt32, l4: Int) -> PathEnd {
        enter(.udpv6_err, skb)
        let quote = skb.transportHeader + 8, b = skb.data
        let saddr = IPv6Address(array: b, at: quote + 8), daddr = IPv6Address(array: b, at: quote + 24)
        let sport = b.be16(l4), dport = b.be16(l4 + 2)
        guard let sk = sockets.lookup6(.udp, dst: saddr, port: sport, src: daddr, sport: dport) else {
            snmp.icmp6.InErrors += 1
            return consume("ICMPv6 type \(type): no socket sent the quoted datagram ([\(saddr)]:\(sport) > [\(daddr)]:\(dport))")
        }
        var (err, hard) = Stack.icmpv6_err_convert(type: type, code: code)
        var learnt = ""
        if type == ICMPv6Repr.packetTooBig {
            learnt = __ip6_rt_update_pmtu(daddr, mtu: Int(info), now: clocks[skb.cpu]) + "; "
            hard = true
        }
        let port = sk.config.port
        guard sk.config.recverr6 || (hard && sk.config.connected) else {
            return consume(learnt + "\(err) for the socket on port \(port): without IPV6_RECVERR it does not see it" + (hard ? " (it is not connected)" : " (a soft error)"))
        }
        sk.pendingError = err
        return consume(learnt + "\(err) for the socket on port \(port): its sk_err (" + (sk.config.recverr6 ? "IPV6_RECVERR" : "connected") + ")")
    }

    /// `tcp_v6_err`: only an established connection takes an error, and TCP over IPv6 has
    /// listeners only here, so none does (Icmp6InErrors).
    func tcp_v6_err(_ skb: SkBuff, type: UInt8) -> PathEnd {
        enter(.tcp_v6_err, skb)
        snmp.icmp6.InErrors += 1
        return consume("ICMPv6 type \(type): no TCP connection sent the quoted segment (TCP over IPv6 has no connections in the model)")
    }

    /// `icmpv6_err`: a quoted ICMPv6 message (an echo request or reply the stack sent): packet too
    /// big teaches its destination's path MTU; echo requests go to ping sockets, which the model lacks.
    func icmpv6_err(_ skb: SkBuff, type: UInt8, info: UInt32, l4: Int) -> PathEnd {
        enter(.icmpv6_err, skb)
        let daddr = IPv6Address(array: skb.data, at: skb.transportHeader + 8 + 24)
        guard type == ICMPv6Repr.packetTooBig else { return consume("ICMPv6 type \(type) quoting ICMPv6 type \(skb.data[l4]): no ping socket takes it") }
        return consume(__ip6_rt_update_pmtu(daddr, mtu: Int(info), now: clocks[skb.cpu]))
    }
}
