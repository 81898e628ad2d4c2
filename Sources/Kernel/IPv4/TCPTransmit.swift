import Wire

// net/ipv4/tcp_output.c: building segments, the advertised window, ACKs, data and FIN.
extension Stack {
    /// `TCP_ATO_MIN` (HZ/25) and `TCP_TIMEWAIT_LEN`; `tcp_fin_timeout`'s default.
    static let tcpAtoMinNs: UInt64 = 40_000_000
    static let tcpTimewaitNs: UInt64 = 60_000_000_000
    /// `tcp_sndbuf_expand` at the end of the handshake for a 1460-byte MSS: 2 × 10 segments ×
    /// (MSS + headers + skb_shared_info rounded up to 4096, + 256 for the sk_buff).
    static let tcpInitialSndbuf = 87_040

    /// `tcp_win_from_space` with tcp_adv_win_scale 1: half the buffer is for data.
    static func tcpWinFromSpace(_ space: Int) -> Int { space - (space >> 1) }

    /// TSval: `tcp_clock_ms` (the virtual clock in ms) plus the connection's random offset.
    func tcpTSval(_ c: TCPConn) -> UInt32 { UInt32(truncatingIfNeeded: clockNs / 1_000_000) &+ c.tsOffset }

    /// `tcp_select_initial_window`: the window of a SYN or SYN-ACK (the buffer's data share in
    /// whole segments of `mss`, at most 65535) and the receive window scale from the largest
    /// buffer the socket could grow to (`tcp_rmem[2]`, `rmem_max`).
    func tcp_select_initial_window(_ c: TCPConn, mss: Int) {
        var space = Stack.tcpWinFromSpace(c.rcvbuf)
        if space > mss { space = space / mss * mss }
        c.rcvWnd = min(space, 65535)
        let most = max(space, sysctl(.tcp_rmem_max), sysctl(.rmem_max))
        c.rcvWscale = c.wscaleOK ? UInt8(min(max(63 - most.leadingZeroBitCount - 15, 0), 14)) : 0
        c.rcvSsthresh = c.rcvWnd
        // The clamp no higher than the scale can say.
        c.windowClamp = 65535 << Int(c.rcvWscale)
    }

    /// `tcp_init_buffer_space` at the end of the handshake: the clamp is the buffer's data share.
    func tcp_init_buffer_space(_ c: TCPConn) {
        c.windowClamp = min(c.windowClamp, Stack.tcpWinFromSpace(c.rcvbuf))
        c.rcvSsthresh = min(c.rcvSsthresh, c.windowClamp)
    }

    /// `tcp_select_window`: what the window field says, never shrinking what was offered
    /// (`__tcp_select_window` rounds the free space up to the scale's unit).
    func tcp_select_window(_ c: TCPConn) -> UInt16 {
        let unit = 1 << Int(c.rcvWscale)
        let allowed = Stack.tcpWinFromSpace(c.rcvbuf)
        var free = Stack.tcpWinFromSpace(c.rcvbuf - c.rmemAlloc)
        let full = min(c.windowClamp, allowed)
        var newWin: Int
        if free < full >> 1, free & ~(unit - 1) < allowed >> 4 || free & ~(unit - 1) < c.rcvMss {
            c.quick = 0
            newWin = 0
        } else {
            if free < full >> 1 { c.quick = 0; free &= ~(unit - 1) }
            free = min(free, c.rcvSsthresh)
            if c.rcvWscale > 0 {
                newWin = (free + unit - 1) & ~(unit - 1)
            } else {
                // Unscaled: the window offered stays while within one MSS of the free space, else
                // the free space in whole segments.
                let mss = min(c.rcvMss, full)
                newWin = c.rcvWnd
                if newWin <= free - mss || newWin > free { newWin = free / mss * mss }
                else if mss == full && free > newWin + (full >> 1) { newWin = free }
            }
        }
        let cur = max(0, Int(Int32(bitPattern: c.rcvWup &+ UInt32(c.rcvWnd) &- c.rcvNxt)))
        if newWin < cur { newWin = (cur + unit - 1) & ~(unit - 1) }
        c.rcvWnd = newWin
        c.rcvWup = c.rcvNxt
        return UInt16(min(newWin, 65535 << Int(c.rcvWscale)) >> Int(c.rcvWscale))
    }

    /// `tcp_transmit_skb`: one segment with the connection's options (`tcp_syn_options`,
    /// `tcp_synack_options`, `tcp_established_options`), then `ip_queue_xmit` with DF set
    /// (`inet6_csk_xmit` → `ip6_xmit` for an IPv6 connection: the link's hop limit, the socket's
    /// traffic class, an automatic flow label). A SYN-ACK (from the request sock) and a TIME-WAIT
    /// ACK carry IP ID 0; others the socket's `inet_id`. `own`: the segment is the call's own
    /// packet (its outcome is the call's). `retransmit`: it carries what went before (RetransSegs,
    /// not OutSegs).
    @discardableResult
    func tcp_transmit_skb(_ c: TCPConn, flags: TCPFlags, seq: UInt32, payload: ArraySlice<UInt8> = [], cause: SkBuff, own: Bool = false,
                          retransmit: Bool = false) -> Bool {
        enter(.tcp_transmit_skb, cause)
        let v4 = c.key.isV4
        let route4 = v4 ? routeOutput(c.key.remote4, oif: c.oif) : nil
        let route6 = v4 ? nil : routeOutput6(c.key.remote, oif: c.oif, strict: c.oif != nil)
        guard let dev = route4?.dev ?? route6?.dev else { return false }
        let syn = flags.contains(.syn)
        // tcp_options_write's layout: MSS, SACK-permitted packed with timestamps, NOP + window
        // scale on a SYN; NOP NOP timestamps after. One buffer, no temporaries per segment.
        var opts: [UInt8] = []
        opts.reserveCapacity(20)
        func put32(_ v: UInt32) { opts.append(UInt8(v >> 24)); opts.append(UInt8(v >> 16 & 0xff)); opts.append(UInt8(v >> 8 & 0xff)); opts.append(UInt8(v & 0xff)) }
        func ts(_ echo: UInt32) {
            let v = tcpTSval(c)
            if syn && flags.contains(.ack) && c.state == .synRecv { c.sntTsvalLast = v; c.sntTsvalFirst = c.sntTsvalFirst ?? v }
            put32(v); put32(echo)
        }
        if syn {
            opts.append(contentsOf: [2, 4, UInt8(c.advmss >> 8), UInt8(c.advmss & 0xff)])
            if c.tsOK {
                opts.append(contentsOf: c.sackOK ? [4, 2, 8, 10] : [1, 1, 8, 10])
                ts(flags.contains(.ack) ? c.tsRecent : 0)
            } else if c.sackOK {
                opts.append(contentsOf: [1, 1, 4, 2])
            }
            if c.wscaleOK { opts.append(contentsOf: [1, 3, 3, c.rcvWscale]) }
        } else if c.tsOK {
            opts.append(contentsOf: [1, 1, 8, 10])
            ts(c.tsRecent)
        }
        let window = syn ? UInt16(min(c.rcvWnd, 65535)) : tcp_select_window(c)
        let ackNo = flags.contains(.ack) ? c.rcvNxt : 0
        let tcp = TCPRepr(srcPort: c.key.lport, dstPort: c.key.rport, seq: seq, ack: ackNo, flags: flags, window: window,
                          options: opts, payload: Array(payload))
        var bytes: [UInt8]
        let th = v4 ? 34 : 54
        if v4 {
            let ident: UInt16
            if c.state == .synRecv || c.state == .timeWait { ident = 0 } else { ident = c.ipID; c.ipID &+= 1 }
            // IP_TTL of the socket (a request sock's and a child's: the listener's).
            let ttl = (c.sock ?? c.parent)?.config.ttl ?? sysctl(.ip_default_ttl)
            let ip = IPv4Repr(src: c.key.local4, dst: c.key.remote4, proto: IPProtocol.tcp, ttl: UInt8(ttl), tos: c.tos,
                              ident: ident, dontFragment: true, payloadLength: tcp.bufferLength)
            bytes = [UInt8](repeating: 0, count: th + tcp.bufferLength)
            tcp.emit(into: &bytes, at: th, src: c.key.local4, dst: c.key.remote4)
            ip.emit(into: &bytes, at: 14)
        } else {
            let hops = (c.sock ?? c.parent)?.config.unicastHops ?? Int(hopLimit6[dev])
            let ip = IPv6Repr(src: c.key.local, dst: c.key.remote, nextHeader: IPProtocol.tcp, hopLimit: UInt8(hops), trafficClass: c.tos,
                              flowLabel: ip6_make_flowlabel(src: c.key.local, dst: c.key.remote, proto: IPProtocol.tcp, ports: UInt32(c.key.lport) << 16 | UInt32(c.key.rport)),
                              payloadLength: tcp.bufferLength)
            bytes = [UInt8](repeating: 0, count: th + tcp.bufferLength)
            tcp.emit(into: &bytes, at: th, pseudo: ip.pseudoHeader)
            ip.emit(into: &bytes, at: 14)
        }
        let ethertype = v4 ? EtherType.ipv4 : EtherType.ipv6
        let skb = generatedSkb(bytes, dev: dev, cause: cause, protocolType: ethertype, transportHeader: th, csumPartialOffset: th + 16, attachConntrack: false)
        if !v4 { skb.nhoff = 20 }
        skb.priority = c.priority
        skb.tcpSerial = c.serial
        skb.skOwner = c.skOwner
        if own, skb.packet >= 0 {
            skb.generated = false
            packets[skb.packet].frame = Array(bytes[14...])
            packets[skb.packet].device = devices[dev].name
            if tracing { packets[skb.packet].startTuple = FlowTuple.network(bytes, at: 14, ethertype: ethertype) }
        }
        if retransmit { snmp.tcp.RetransSegs += 1 } else { snmp.tcp.OutSegs += 1 }
        if flags.contains(.rst) { snmp.tcp.OutRsts += 1 }
        if flags.contains(.ack) { tcp_event_ack_sent(c) }
        if let route4 {
            ip_local_out(skb, route: route4)
        } else if let route6 {
            ip6_local_out(skb, route: route6)
        }
        return true
    }


    /// `tcp_event_ack_sent`: an ACK went (alone or on data), so none is owed; one quick ACK used.
    func tcp_event_ack_sent(_ c: TCPConn) {
        if c.quick > 0 { c.quick -= 1 }
        c.ackPending = false
    }

    /// `tcp_send_ack`.
    func tcp_send_ack(_ c: TCPConn, cause: SkBuff) {
        tcp_transmit_skb(c, flags: .ack, seq: c.sndNxt, cause: cause)
    }

    /// `tcp_send_delayed_ack`: the ACK waits for data to ride on, at most the ACK timeout
    /// (`ato`, 40 ms at first).
    func tcp_send_delayed_ack(_ c: TCPConn, cause: SkBuff) {
        enter(.tcp_send_delayed_ack, cause)
        if c.delackArmed { return }
        c.delackArmed = true
        c.delackPacket = cause.packet
        schedule(clocks[cause.cpu] + max(c.ato, Stack.tcpAtoMinNs), .tcpDelack(serial: c.serial))
    }

    /// `tcp_delack_timer_handler`: the owed ACK goes now.
    func tcp_delack_timer(serial: Int, at t: UInt64) {
        guard let c = sockets.conn(serial: serial), c.delackArmed else { return }
        c.delackArmed = false
        guard c.ackPending else { return }
        if clocks[0] < t { clocks[0] = t }
        let cause = SkBuff(frame: [], dev: 0, packet: c.delackPacket)
        enter(.tcp_delack_timer, cause)
        if !c.pingpong { c.ato = Stack.tcpAtoMinNs }
        tcp_send_ack(c, cause: cause)
        snmp.tcpExt.DelayedACKs += 1
    }

    /// `tcp_write_xmit`: queued data in segments of the send MSS while the peer's window has
    /// room, PSH on the last of what is queued, then the FIN once all data is out.
    /// Congestion control is a fixed window (`TCP_INIT_CWND` 10 segments in flight).
    func tcp_write_xmit(_ c: TCPConn, cause: SkBuff, own: Bool = false) {
        var first = own
        while true {
            let inFlight = Int(c.sndNxt &- c.sndUna) - (c.finSent && !c.finAcked ? 1 : 0)
            let unsent = c.sendQueue.count - inFlight
            guard unsent > 0 else { break }
            let room = min(c.sndWnd - inFlight, c.cwnd * c.mssCache - inFlight)
            guard room > 0 else { break }
            let n = min(unsent, c.mssCache, room)
            let from = c.sendQueue.startIndex + inFlight
            let last = n == unsent
            // After a timeout moved snd_nxt back, what goes up to snd_max is sent again.
            tcp_transmit_skb(c, flags: last ? [.ack, .psh] : .ack, seq: c.sndNxt, payload: c.sendQueue[from..<(from + n)], cause: cause, own: first,
                             retransmit: !seqAfter(c.sndNxt &+ UInt32(n), c.sndMax))
            c.sentLengths.append(n)
            first = false
            c.sndNxt &+= UInt32(n)
            if seqAfter(c.sndNxt, c.sndMax) { c.sndMax = c.sndNxt }
            tcp_event_data_sent(c)
        }
        let allOut = Int(c.sndNxt &- c.sndUna) - (c.finSent && !c.finAcked ? 1 : 0) >= c.sendQueue.count
        if c.finQueued && !c.finSent && allOut {
            tcp_transmit_skb(c, flags: [.fin, .ack], seq: c.sndNxt, cause: cause, own: first, retransmit: !seqAfter(c.sndNxt &+ 1, c.sndMax))
            c.finSent = true
            c.finSeq = c.sndNxt
            c.sndNxt &+= 1
            if seqAfter(c.sndNxt, c.sndMax) { c.sndMax = c.sndNxt }
        }
        if c.rtoDeadline == 0 { tcp_rearm_rto(c, now: clocks[cause.cpu]) }
    }

    /// `tcp_event_data_sent`: data sent soon after data came in makes the connection interactive
    /// (ping-pong), whose ACKs then wait for a reply to ride on.
    func tcp_event_data_sent(_ c: TCPConn) {
        if clockNs &- c.lrcvtime < c.ato { c.pingpong = true }
    }

    /// `tcp_send_active_reset`: RST|ACK at snd_nxt when the process closes with unread data.
    func tcp_send_active_reset(_ c: TCPConn, cause: SkBuff, own: Bool) {
        enter(.tcp_send_active_reset, cause)
        tcp_transmit_skb(c, flags: [.rst, .ack], seq: c.sndNxt, cause: cause, own: own)
    }
}
