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
        case IPProtocol.tcp: return tcp_v6_err(skb, type: type, code: code, info: info, l4: l4.offset)
        case IPProtocol.icmpv6: return icmpv6_err(skb, type: type, code: code, info: info, l4: l4.offset)
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
        guard let sk = sockets.lookup6(.udp, dst: saddr, port: sport, src: daddr, sport: dport, dev: skb.dev) else {
            snmp.icmp6.InErrors += 1
            return consume("ICMPv6 type \(type): no socket sent the quoted datagram ([\(saddr)]:\(sport) > [\(daddr)]:\(dport))")
        }
        // ip6_sk_redirect: the lookup is scoped to the socket's device (sk_bound_dev_if), none
        // here, so no route's device matches (ip6_redirect_nh_match) and nothing changes (recorded).
        if type == ICMPv6Repr.redirect {
            return consume("redirect for the socket on port \(sk.config.port): it is bound to no device, so no route matches it (ip6_redirect_nh_match): ignored")
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

    /// `tcp_v6_err` for the connection that sent the quoted segment (none: Icmp6InErrors): an
    /// error quoting a sequence outside snd_una..snd_nxt is ignored (OutOfWindowIcmps); packet too
    /// big (not under 1280) lowers the path MTU (`tcp_v6_mtu_reduced`); a connection in SYN-SENT
    /// fails with the error, a request sock goes on a hard one (`tcp_req_err`); otherwise, with
    /// IPV6_RECVERR, the next call fails with it once (sk_err), and without, it is soft.
    func tcp_v6_err(_ skb: SkBuff, type: UInt8, code: UInt8, info: UInt32, l4: Int) -> PathEnd {
        enter(.tcp_v6_err, skb)
        let quote = skb.transportHeader + 8, b = skb.data
        let key = TCPKey(local6: IPv6Address(array: b, at: quote + 8), lport: b.be16(l4), remote6: IPv6Address(array: b, at: quote + 24), rport: b.be16(l4 + 2))
        guard let c = sockets.conn(key) else {
            snmp.icmp6.InErrors += 1
            return consume("ICMPv6 type \(type): no TCP connection sent the quoted segment (\(key.localText) > \(key.remoteText))")
        }
        let flow = "\(key.localText) > \(key.remoteText)", seq = b.be32(l4 + 4)
        guard c.state != .timeWait else { return consume("the connection \(flow) is in TIME-WAIT") }
        if type == ICMPv6Repr.redirect { return consume("not modelled yet: a redirect for the connection \(flow) (tcp_v6_err gives it to the connection's route)") }
        let (err, fatal) = Stack.icmpv6_err_convert(type: type, code: code)
        if c.state == .synRecv {
            // tcp_req_err: the request sock goes on a hard error quoting its SYN-ACK.
            guard seq == c.iss else {
                snmp.tcpExt.OutOfWindowIcmps += 1
                return consume("sequence \(seq) is not the SYN-ACK's \(c.iss) (OutOfWindowIcmps)")
            }
            guard fatal else { return consume("\(err) for the request sock \(flow): not fatal, it stays") }
            tcp_done(c)
            return consume("\(err): the request sock \(flow) is dropped")
        }
        guard !seqBefore(seq, c.sndUna), !seqAfter(seq, c.sndNxt) else {
            snmp.tcpExt.OutOfWindowIcmps += 1
            return consume("sequence \(seq) is outside snd_una \(c.sndUna)..snd_nxt \(c.sndNxt) of \(flow) (OutOfWindowIcmps)")
        }
        if type == ICMPv6Repr.packetTooBig {
            guard info >= 1280 else { return consume("MTU \(info) is below the IPv6 minimum 1280: ignored") }
            return consume(tcp_v6_mtu_reduced(c, mtu: Int(info), cause: skb))
        }
        let reverted = type == ICMPv6Repr.destUnreachable && code == 0 ? tcp_ld_RTO_revert(c, seq: seq, now: clocks[skb.cpu]) : ""
        return consume(reverted + tcp_err_report(c, err, flow: flow, recverr: (c.sock ?? c.parent)?.config.recverr6 == true, option: "IPV6_RECVERR"))
    }

    /// `tcp_v6_mtu_reduced`: nothing when the MSS the MTU allows is not below the send MSS;
    /// else the path MTU learnt (`inet6_csk_update_pmtu`), and if it is below the one the send MSS
    /// was made for, the MSS for it and the segments now too long sent again at once.
    func tcp_v6_mtu_reduced(_ c: TCPConn, mtu: Int, cause: SkBuff) -> String {
        enter(.tcp_v6_mtu_reduced, cause)
        let mss = tcp_mtu_to_mss(c, mtu)
        guard mss < c.mssCache else { return "MTU \(mtu) allows MSS \(mss), not below the send MSS \(c.mssCache)" }
        let now = clocks[cause.cpu]
        __ip6_rt_update_pmtu(c.key.remote, mtu: mtu, now: now)
        guard let route = routeOutput6(c.key.remote, oif: c.oif, strict: c.oif != nil) else { return "no route to \(c.key.remote)" }
        let pmtu = ip6_dst_mtu(c.key.remote, dev: route.dev, now: now)
        guard c.pmtuCookie > pmtu else { return "path MTU \(pmtu) to \(c.key.remote); the send MSS stays \(c.mssCache)" }
        tcp_sync_mss(c, pmtu: pmtu)
        let n = tcp_simple_retransmit(c, cause: cause)
        return "path MTU \(pmtu) to \(c.key.remote): send MSS \(c.mssCache), \(n) segment(s) sent again"
    }

    /// `icmpv6_err`: a quoted ICMPv6 message (an echo request or reply the stack sent): packet too
    /// big teaches its destination's path MTU; an error about an echo request goes to its ping
    /// socket (ping_err).
    func icmpv6_err(_ skb: SkBuff, type: UInt8, code: UInt8, info: UInt32, l4: Int) -> PathEnd {
        enter(.icmpv6_err, skb)
        let daddr = IPv6Address(array: skb.data, at: skb.transportHeader + 8 + 24)
        if type == ICMPv6Repr.redirect { return consume("not modelled yet: a redirect quoting an ICMPv6 message (icmpv6_err takes it for the route on this device)") }
        let learnt = type == ICMPv6Repr.packetTooBig ? __ip6_rt_update_pmtu(daddr, mtu: Int(info), now: clocks[skb.cpu]) : ""
        guard skb.data[l4] == ICMPv6Repr.echoRequest else {
            return consume(learnt.isEmpty ? "ICMPv6 type \(type) quoting ICMPv6 type \(skb.data[l4]): only echo requests have a socket to tell" : learnt)
        }
        return ping_err6(skb, type: type, code: code, icmp: l4, learnt: learnt.isEmpty ? "" : learnt + "; ")
    }
}
