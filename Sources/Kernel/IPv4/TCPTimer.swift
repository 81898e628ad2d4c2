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
    }

    /// `tcp_retransmit_timer`: SYN again (up to tcp_syn_retries 6), or the data and FIN from
    /// snd_una (up to tcp_retries2 15), the timeout doubled each time (at most 120 s); past the
    /// retries the connection fails with ETIMEDOUT.
    func tcp_retransmit_timer(serial: Int, at t: UInt64) {
        guard let c = sockets.conn(serial: serial), c.rtoDeadline == t, c.sndNxt != c.sndUna else { return }
        let cpu = devices.first?.tx.cpu ?? 0
        if clocks[cpu] < t { clocks[cpu] = t }
        let cause = SkBuff(frame: [], dev: 0, packet: -1)
        cause.cpu = cpu
        c.retransmits += 1
        switch c.state {
        case .synSent:
            guard c.retransmits <= 6 else { c.error = c.softError ?? "ETIMEDOUT"; snmp.tcp.AttemptFails += 1; return tcp_done(c) }
            tcp_transmit_skb(c, flags: .syn, seq: c.iss, cause: cause, retransmit: true)
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            // tcp_write_err: a soft error an ICMP message left is the one reported.
            guard c.retransmits <= 15 else { c.error = c.softError ?? "ETIMEDOUT"; return tcp_done(c) }
            c.sndNxt = c.sndUna
            c.sentLengths.removeAll()
            if c.finSent && !c.finAcked { c.finSent = false }
            c.cwnd = 1
            tcp_write_xmit(c, cause: cause)
        default:
            return
        }
        c.rto = min(c.rto * 2, 120_000_000_000)
        tcp_rearm_rto(c, now: t)
    }
}
