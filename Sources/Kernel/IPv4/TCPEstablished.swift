import Wire

// net/ipv4/tcp_input.c: segments of a synchronized connection (tcp_rcv_state_process with the
// slow path of tcp_rcv_established folded in).
extension Stack {
    /// `tcp_rcv_state_process`: RST and SYN checks, the sequence check, `tcp_ack`, the FIN
    /// handshake's state changes, then data and FIN (`tcp_data_queue`), what waits to be sent,
    /// and the ACK owed (`__tcp_ack_snd_check`).
    func tcp_rcv_state_process(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        enter(.tcp_rcv_state_process, skb)
        if s.flags.contains(.rst) {
            // tcp_validate_incoming: only a RST at rcv_nxt resets (others get a challenge ACK).
            guard s.seq == c.rcvNxt else {
                tcp_send_ack(c, cause: skb)
                return drop(.TCP_RESET, "RST at \(s.seq), not rcv_nxt \(c.rcvNxt): challenge ACK sent")
            }
            c.error = c.state == .closeWait ? "EPIPE" : "ECONNRESET"
            tcp_done(c)
            return drop(.TCP_RESET, "connection reset by peer")
        }
        if s.flags.contains(.syn) {
            tcp_send_ack(c, cause: skb)
            return drop(.TCP_INVALID_SYN, "SYN on a synchronized connection: challenge ACK sent")
        }
        guard s.flags.contains(.ack) else { return drop(.TCP_FLAGS, "segment without ACK") }
        // tcp_sequence: some of it must fall in the receive window.
        let wnd = UInt32(max(0, Int(Int32(bitPattern: c.rcvWup &+ UInt32(c.rcvWnd) &- c.rcvNxt))))
        if seqBefore(s.endSeq, c.rcvWup) || seqAfter(s.seq, c.rcvNxt &+ wnd) {
            tcp_send_ack(c, cause: skb)
            return drop(.TCP_INVALID_SEQUENCE, "segment \(s.seq) outside the receive window: duplicate ACK sent")
        }
        if let v = s.tsval, !seqAfter(s.seq, c.rcvWup) { c.tsRecent = v }
        if let end = tcp_ack(c, skb, s) { return end }
        if c.state == .close || sockets.conn(serial: c.serial) == nil { return consume("ACK of the FIN: connection closed") }
        var end = consume("ACK processed")
        if s.dataLength > 0 || s.flags.contains(.fin) {
            switch c.state {
            case .established, .finWait1, .finWait2:
                if c.orphan && s.dataLength > 0 && seqAfter(s.seq &+ UInt32(s.dataLength), c.rcvNxt) {
                    // The process closed: data has nowhere to go (RCV_SHUTDOWN), the connection is reset.
                    tcp_done(c)
                    tcp_send_reset(skb)
                    return drop(.TCP_CLOSE, "data for a closed socket: answered with a reset")
                }
                end = tcp_data_queue(c, skb, s)
            default:
                break   // data and FIN after the peer's FIN are ignored
            }
        }
        tcp_write_xmit(c, cause: skb)
        tcp_ack_snd_check(c, cause: skb)
        return end
    }

    /// `tcp_clean_rtx_queue`: the data an ACK covers leaves the send queue and its segments the
    /// record of what is in flight.
    func tcp_clean_rtx_queue(_ c: TCPConn, acked: Int) {
        let n = min(acked, c.sendQueue.count)
        c.sendQueue.removeFirst(n)
        var left = n
        while left > 0, let len = c.sentLengths.first {
            if len <= left { c.sentLengths.removeFirst(); left -= len } else { c.sentLengths[0] = len - left; left = 0 }
        }
    }

    /// `tcp_ack`: an ACK of data not yet sent is refused (with an ACK); one of new data moves
    /// snd_una and frees what it covers, updates the peer's window, and may complete our FIN.
    /// Answers the path's end when processing stops here.
    func tcp_ack(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd? {
        enter(.tcp_ack, skb)
        if seqAfter(s.ack, c.sndMax) {
            tcp_send_ack(c, cause: skb)
            return drop(.TCP_ACK_UNSENT_DATA, "ACK \(s.ack) of data not sent yet (snd_nxt \(c.sndMax))")
        }
        // An ACK of what went before a timeout moved snd_nxt back: nothing to send again there.
        if seqAfter(s.ack, c.sndNxt) { c.sndNxt = s.ack }
        c.sndWnd = Int(s.window) << Int(c.sndWscale)
        guard seqAfter(s.ack, c.sndUna) else { return nil }
        var acked = Int(s.ack &- c.sndUna)
        c.sndUna = s.ack
        // New data acknowledged: the timer restarts, the window opens by a segment (up to ten).
        if s.tsval != nil && s.tsecr != 0 { tcp_rtt_sample(c, tsecr: s.tsecr) }
        c.retransmits = 0
        c.cwnd = min(c.cwnd + 1, 10)
        tcp_rearm_rto(c, now: clocks[skb.cpu])
        if let f = c.finSeq, !c.finAcked, seqAfter(s.ack, f) { c.finAcked = true; c.finSent = true; acked -= 1 }
        tcp_clean_rtx_queue(c, acked: acked)
        guard c.finAcked else { return nil }
        switch c.state {
        case .finWait1:
            // An orphan does not wait in FIN-WAIT-2 for ever: tcp_fin_time.
            tcp_time_wait(c, .finWait2, cause: skb, timeoNs: tcp_fin_time(c))
        case .closing:
            tcp_time_wait(c, .timeWait, cause: skb)
        case .lastAck:
            tcp_done(c)
        default: break
        }
        return nil
    }

    /// `tcp_data_queue`: in-order data joins the receive queue (no out-of-order queue), data
    /// already received gets a duplicate ACK, a FIN at rcv_nxt goes to `tcp_fin`.
    func tcp_data_queue(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        enter(.tcp_data_queue, skb)
        var end = consume("FIN received")
        if s.dataLength > 0 {
            let dataEnd = s.seq &+ UInt32(s.dataLength)
            if !seqAfter(dataEnd, c.rcvNxt) {
                c.quick = max(c.quick, 1)
                c.ackPending = true
                tcp_send_ack(c, cause: skb)
                return drop(.TCP_OLD_DATA, "data \(s.seq)..\(dataEnd) already received: duplicate ACK sent")
            }
            if seqAfter(s.seq, c.rcvNxt) {
                tcp_send_ack(c, cause: skb)
                return drop(.TCP_OFO_DROP, "data at \(s.seq) beyond rcv_nxt \(c.rcvNxt): the out-of-order queue is not modelled (duplicate ACK sent)")
            }
            let window = Int(Int32(bitPattern: c.rcvWup &+ UInt32(c.rcvWnd) &- c.rcvNxt))
            if window <= 0 {
                tcp_send_ack(c, cause: skb)
                return drop(.TCP_ZEROWINDOW, "the receive window is closed")
            }
            if c.rmemAlloc + skb.truesize > c.rcvbuf {
                tcp_send_ack(c, cause: skb)
                return drop(.PROTO_MEM, "receive buffer full (sk_rmem_alloc \(c.rmemAlloc), sk_rcvbuf \(c.rcvbuf))")
            }
            let skip = Int(c.rcvNxt &- s.seq)
            let from = skb.transportHeader + s.dataOffset + skip
            c.rcvQueue.append(contentsOf: skb.data[from..<(from + s.dataLength - skip)])
            c.rmemAlloc += skb.truesize
            c.rcvSkbs.append((s.dataLength - skip, skb.truesize))
            c.rcvNxt = dataEnd
            c.ackPending = true
            tcp_event_data_recv(c, length: s.dataLength - skip, now: clocks[skb.cpu])
            end = .deliver
        }
        if s.flags.contains(.fin) && s.seq &+ UInt32(s.dataLength) == c.rcvNxt {
            c.rcvNxt &+= 1
            tcp_fin(c, cause: skb)
        }
        return end
    }

    /// `tcp_event_data_recv`: measures the peer's segment size and adapts the ACK timeout; the
    /// first data (or data after a long pause) starts quick-ACK mode.
    func tcp_event_data_recv(_ c: TCPConn, length: Int, now: UInt64) {
        if length >= c.rcvMss { c.rcvMss = min(length, c.advmss) }
        let rto: UInt64 = 200_000_000
        if c.ato == 0 {
            tcp_incr_quickack(c)
            c.ato = Stack.tcpAtoMinNs
        } else {
            let m = now &- c.lrcvtime
            if m <= Stack.tcpAtoMinNs / 2 {
                c.ato = c.ato / 2 + Stack.tcpAtoMinNs / 2
            } else if m < c.ato {
                c.ato = min(c.ato / 2 + m, rto)
            } else if m > rto {
                tcp_incr_quickack(c)
            }
        }
        c.lrcvtime = now
    }

    /// `tcp_incr_quickack`: up to 16 ACKs go at once, half the window's worth of segments.
    func tcp_incr_quickack(_ c: TCPConn) {
        var n = c.rcvWnd / (2 * c.rcvMss)
        if n == 0 { n = 2 }
        c.quick = max(c.quick, min(n, 16))
    }

    /// `tcp_fin`: the peer is done sending. ESTABLISHED waits in CLOSE-WAIT for the process (its
    /// ACK delayed, as in ping-pong mode); FIN-WAIT-1 ACKs at once and goes to CLOSING;
    /// FIN-WAIT-2 ACKs at once and enters TIME-WAIT.
    func tcp_fin(_ c: TCPConn, cause: SkBuff) {
        enter(.tcp_fin, cause)
        c.ackPending = true
        c.finReceived = true
        switch c.state {
        case .synRecv, .established:
            c.state = .closeWait
            c.pingpong = true
        case .finWait1:
            tcp_send_ack(c, cause: cause)
            c.state = .closing
        case .finWait2:
            // An orphan is a TIME-WAIT mini sock already: its ACK has IP ID 0.
            if c.orphan { tcp_time_wait(c, .timeWait, cause: cause); tcp_send_ack(c, cause: cause) } else { tcp_send_ack(c, cause: cause); tcp_time_wait(c, .timeWait, cause: cause) }
        default:
            break
        }
    }

    /// `__tcp_ack_snd_check`: an owed ACK goes at once with more than one full segment
    /// unacknowledged or in quick-ACK mode, else it waits (`tcp_send_delayed_ack`).
    func tcp_ack_snd_check(_ c: TCPConn, cause: SkBuff) {
        guard c.ackPending, sockets.conn(serial: c.serial) != nil else { return }
        if Int(c.rcvNxt &- c.rcvWup) > c.rcvMss || (c.quick > 0 && !c.pingpong) {
            tcp_send_ack(c, cause: cause)
        } else {
            tcp_send_delayed_ack(c, cause: cause)
        }
    }
}
