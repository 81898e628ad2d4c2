import Wire

// net/ipv4/tcp_ipv4.c (tcp_v4_err, tcp_v4_mtu_reduced), tcp_output.c (tcp_sync_mss,
// tcp_simple_retransmit): what an ICMP error does to a connection.
extension Stack {
    /// `tcp_sync_mss`: the send MSS for a path MTU; the MTU becomes the connection's pmtu cookie.
    func tcp_sync_mss(_ c: TCPConn, pmtu: Int) {
        c.mssCache = tcp_mtu_to_mss(c, pmtu)
        c.pmtuCookie = pmtu
    }

    /// `tcp_mtu_to_mss`: the MTU less the IP (20, or 40 over IPv6) and TCP headers, at most the
    /// peer's MSS, at least tcp_min_snd_mss 48, less the timestamp option when used.
    func tcp_mtu_to_mss(_ c: TCPConn, _ pmtu: Int) -> Int {
        max(min(pmtu - (c.key.isV4 ? 20 : 40) - 20, c.mssClamp), 48) - (c.tsOK ? 12 : 0)
    }

    /// `tcp_v4_err` for an established (or connecting) connection: an error quoting a sequence
    /// outside snd_una..snd_nxt is ignored (OutOfWindowIcmps); fragmentation needed lowers the
    /// path MTU; any error fails a connection still in SYN-SENT or SYN-RECV; otherwise, with
    /// IP_RECVERR, the next call fails with it once (sk_err), and without, it is soft: kept, and
    /// reported only if the connection then times out.
    func tcp_v4_err(_ c: TCPConn, type: UInt8, code: UInt8, info: Int, seq: UInt32, cause: SkBuff) -> String {
        enter(.tcp_v4_err, cause)
        let flow = "\(c.key.localText) > \(c.key.remoteText)"
        guard c.state != .timeWait else { return "the connection \(flow) is in TIME-WAIT" }
        guard !seqBefore(seq, c.sndUna), !seqAfter(seq, c.sndNxt) else {
            snmp.tcpExt.OutOfWindowIcmps += 1
            return "sequence \(seq) is outside snd_una \(c.sndUna)..snd_nxt \(c.sndNxt) of \(flow) (OutOfWindowIcmps)"
        }
        let err: String
        switch type {
        case 5: return __ip_do_redirect(cause, daddr: c.key.remote4, code: code, gateway: UInt32(info))   // do_redirect
        case 4: return "source quench for \(flow): ignored"
        case 12: err = "EPROTO"
        case ICMPv4Repr.destUnreachable where code > 15: return "code \(code) is above NR_ICMP_UNREACH: ignored"
        case ICMPv4Repr.destUnreachable where code == 4: return tcp_v4_mtu_reduced(c, mtu: info, cause: cause)
        case ICMPv4Repr.destUnreachable: err = Stack.icmp_err_convert[Int(code)].0
        case ICMPv4Repr.timeExceeded: err = "EHOSTUNREACH"
        default: return "ICMP type \(type): ignored"
        }
        let reverted = type == ICMPv4Repr.destUnreachable && code <= 1 ? tcp_ld_RTO_revert(c, seq: seq, now: clocks[cause.cpu]) : ""
        return reverted + tcp_err_report(c, err, flow: flow, recverr: (c.sock ?? c.parent)?.config.recverr == true, option: "IP_RECVERR")
    }

    /// How tcp_v4_err and tcp_v6_err end: a connection still in SYN-SENT (or SYN-RECV) fails with
    /// the error; otherwise, with the family's RECVERR option, the next call fails with it once
    /// (sk_err), and without, it is soft (sk_err_soft).
    func tcp_err_report(_ c: TCPConn, _ err: String, flow: String, recverr: Bool, option: String) -> String {
        if c.state == .synSent || c.state == .synRecv {
            c.error = err
            tcp_done(c)
            return "\(flow) fails with \(err)"
        }
        if recverr {
            c.pendingError = err
            return "\(flow): \(err) for the next call (\(option))"
        }
        c.softError = err
        return "\(flow): soft error \(err), reported if the connection times out"
    }

    /// `tcp_v4_mtu_reduced`: the route's path MTU learnt (`inet_csk_update_pmtu`), and if it is
    /// below the one the send MSS was made for, the MSS for it and the segments now too long sent
    /// again at once. Not for an IP_PMTUDISC_DONT socket (the route learns it all the same).
    func tcp_v4_mtu_reduced(_ c: TCPConn, mtu info: Int, cause: SkBuff) -> String {
        enter(.tcp_v4_mtu_reduced, cause)
        let now = clocks[cause.cpu]
        __ip_rt_update_pmtu(c.key.remote4, mtu: info, now: now)
        guard let route = routeOutput(c.key.remote4, oif: c.oif) else { return "no route to \(c.key.remote4)" }
        let mtu = ipv4_mtu(c.key.remote4, dev: route.dev, now: now)
        guard (c.sock ?? c.parent)?.config.pmtudisc != .dont, c.pmtuCookie > mtu else {
            return "path MTU \(mtu) to \(c.key.remote4); the send MSS stays \(c.mssCache)"
        }
        tcp_sync_mss(c, pmtu: mtu)
        let n = tcp_simple_retransmit(c, cause: cause)
        return "path MTU \(mtu) to \(c.key.remote4): send MSS \(c.mssCache), \(n) segment(s) sent again"
    }

    /// `tcp_simple_retransmit`: the segments in flight longer than the MSS are lost, and their
    /// bytes go again at once in segments of the MSS, PSH on the last (as the kernel's resent
    /// queue goes out, collapsed and cut to the MSS); the window is not changed. From the first
    /// such segment to the last, the ones between included. Answers how many segments went.
    func tcp_simple_retransmit(_ c: TCPConn, cause: SkBuff) -> Int {
        enter(.tcp_simple_retransmit, cause)
        let mss = c.mssCache
        guard let first = c.sentLengths.firstIndex(where: { $0 > mss }), let last = c.sentLengths.lastIndex(where: { $0 > mss }) else { return 0 }
        let from = c.sentLengths[..<first].reduce(0, +), to = c.sentLengths[...last].reduce(0, +)
        var pieces: [Int] = []
        var off = from
        while off < to {
            let n = min(mss, to - off)
            let start = c.sendQueue.startIndex + off
            tcp_transmit_skb(c, flags: off + n == to ? [.ack, .psh] : .ack, seq: c.sndUna &+ UInt32(off),
                             payload: c.sendQueue[start..<(start + n)], cause: cause, retransmit: true)
            pieces.append(n)
            off += n
        }
        c.sentLengths.replaceSubrange(first...last, with: pieces)
        return pieces.count
    }
}
