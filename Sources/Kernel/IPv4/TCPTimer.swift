// net/ipv4/tcp_timer.c: the retransmission timer. Simplified: go-back-N from snd_una (what the
// receiver dropped beyond a hole is sent again; there is no SACK), the window back to one
// segment and growing by one per ACK up to the fixed ten.
extension Stack {
    /// `inet_csk_reset_xmit_timer` / `inet_csk_clear_xmit_timer`: armed while something is unacknowledged.
    func tcp_rearm_rto(_ c: TCPConn, now: UInt64) {
        guard c.sndNxt != c.sndUna else { c.rtoDeadline = 0; return }
        c.rtoDeadline = now &+ c.rto
        schedule(c.rtoDeadline, .tcpRetransmit(serial: c.serial))
    }

    /// `tcp_ack_update_rtt` from the echoed timestamp (ms): the timeout becomes srtt plus the
    /// 200 ms floor of rttvar (`tcp_rto_min`), in whole jiffies (4 ms at HZ 250).
    func tcp_rtt_sample(_ c: TCPConn, tsecr: UInt32) {
        let rttMs = UInt64(tcpTSval(c) &- tsecr)
        guard rttMs < 60_000 else { return }
        let ns = rttMs * 1_000_000 + 200_000_000
        c.rto = (ns + 3_999_999) / 4_000_000 * 4_000_000
        // RFC 6298: a valid measurement ends the backoff.
        c.rtoBase = c.rto; c.backoff = 0
    }

    /// `tcp_write_err`: the connection gives up (TCPAbortOnTimeout).
    private func tcp_write_err(_ c: TCPConn) {
        snmp.tcpExt.TCPAbortOnTimeout += 1
        tcp_done(c)
    }

    /// `tcp_retransmit_timer` (TCPTimeouts): the SYN again at 1, 2, 3, 4, 5, 7, 11, 19, 35 and 67 s
    /// (tcp_syn_linear_timeouts 4, then doubling) until `tcp_model_timeout` has gone by (127 s for
    /// tcp_syn_retries 6: ETIMEDOUT at 131 s; 7 s for 2: SYNs at 0-5 s, as recorded), or the data
    /// and FIN from snd_una (up to tcp_retries2 15), the timeout doubled each time (at most
    /// 120 s); past that the connection fails with ETIMEDOUT.
    func tcp_retransmit_timer(serial: Int, at t: UInt64) {
        guard let c = sockets.conn(serial: serial), c.rtoDeadline == t, c.sndNxt != c.sndUna else { return }
        let cpu = devices.first?.tx.cpu ?? 0
        if clocks[cpu] < t { clocks[cpu] = t }
        let cause = SkBuff(frame: [], dev: 0, packet: -1)
        cause.cpu = cpu
        c.retransmits += 1
        switch c.state {
        case .synSent:
            snmp.tcpExt.TCPTimeouts += 1
            // tcp_write_timeout: retransmits_timed_out against tcp_model_timeout.
            guard Stack.synElapsed(c.retransmits) < Stack.tcp_model_timeout(sysctl(.tcp_syn_retries)) else {
                c.error = c.softError ?? "ETIMEDOUT"; snmp.tcp.AttemptFails += 1; return tcp_write_err(c)
            }
            snmp.tcpExt.TCPSynRetrans += 1
            tcp_transmit_skb(c, flags: .syn, seq: c.iss, cause: cause, retransmit: true)
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            snmp.tcpExt.TCPTimeouts += 1
            // tcp_write_err: a soft error an ICMP message left is the one reported.
            guard c.retransmits <= 15 else { c.error = c.softError ?? "ETIMEDOUT"; return tcp_write_err(c) }
            c.sndNxt = c.sndUna
            c.sentLengths.removeAll()
            if c.finSent && !c.finAcked { c.finSent = false }
            c.cwnd = 1
            tcp_write_xmit(c, cause: cause)
        default:
            return
        }
        // A SYN's first tcp_syn_linear_timeouts (4) timeouts keep the RTO; after them, and for
        // everything else, it doubles (at most TCP_RTO_MAX).
        if c.state != .synSent || c.retransmits > Stack.tcpSynLinearTimeouts {
            c.backoff += 1
            c.rto = min(c.rto * 2, 120_000_000_000)
        }
        tcp_rearm_rto(c, now: t)
    }

    /// `tcp_ld_RTO_revert` (RFC 6069): a net or host unreachable (ICMPv6 no route) quoting the
    /// segment at snd_una while it is being retransmitted after a backoff says the path, not
    /// congestion, lost it: one doubling is undone and the timer runs for what is left of the
    /// shorter timeout since that segment last left, or fires at once when nothing is (recorded:
    /// scripts/record_rto_revert.sh, both families).
    func tcp_ld_RTO_revert(_ c: TCPConn, seq: UInt32, now: UInt64) -> String {
        guard seq == c.sndUna, c.retransmits > 0, c.backoff > 0, c.rtoDeadline != 0 else { return "" }
        let sent = c.rtoDeadline &- c.rto   // armed when the segment last left
        c.backoff -= 1
        c.rto = min(c.rtoBase << UInt64(c.backoff), 120_000_000_000)
        let elapsed = now > sent ? now - sent : 0
        c.rtoDeadline = elapsed < c.rto ? now + (c.rto - elapsed) : now
        schedule(c.rtoDeadline, .tcpRetransmit(serial: c.serial))
        return "RTO reverted (RFC 6069): timeout \(c.rto / 1_000_000) ms, the segment again in \((c.rtoDeadline - now) / 1_000_000) ms; "
    }

    /// `tcp_model_timeout` for a SYN (rto_base TCP_TIMEOUT_INIT 1 s): the time `boundary` backoffs
    /// take, doubling up to TCP_RTO_MAX (120 s) and then adding it: (2^(boundary+1) - 1) s up to 6.
    static func tcp_model_timeout(_ boundary: Int) -> UInt64 {
        let thresh = 6   // ilog2(TCP_RTO_MAX / 1 s)
        let s = boundary <= thresh ? (2 << boundary) - 1 : (2 << thresh) - 1 + (boundary - thresh) * 120
        return UInt64(s) * 1_000_000_000
    }

    /// net.ipv4.tcp_syn_linear_timeouts (Linux 6.5 on).
    static let tcpSynLinearTimeouts = 4

    /// Time since the first SYN at a connect's `k`th timeout: 1 s apart for the linear ones
    /// (timeouts 1-5), then the RTO doubling from 2 s.
    static func synElapsed(_ k: Int) -> UInt64 {
        let linear = tcpSynLinearTimeouts + 1
        return (k <= linear ? UInt64(k) : UInt64(linear - 2) + (1 << UInt64(k - tcpSynLinearTimeouts))) * 1_000_000_000
    }
}
