import Wire

// net/ipv4/tcp_input.c, tcp_minisocks.c: the handshake, ACKs, data, FIN and RST. Not modelled:
// retransmission (no RTO: a lost segment stalls), out-of-order queueing, SACK, congestion
// control beyond a fixed window, PAWS, receive window growth, urgent data, simultaneous open.
extension Stack {
    /// `ipv4_default_advmss` / `ip6_default_advmss`: the route's MTU less the IP and TCP headers,
    /// at least ip_rt_min_advmss (256; IPv6's 1220), and IPv4's at most 65535 less them (lo's
    /// 65536 announces 65495, as recorded); an IPv6 MSS past the largest payload means "any".
    static func dst_metric_advmss(mtu: Int, v4: Bool) -> Int {
        if v4 { return min(max(mtu - 40, 256), 65535 - 40) }
        let mss = max(mtu - 60, 1220)
        return mss > 65535 - 20 ? 65535 : mss
    }

    /// `secure_tcp_seq` (`secure_tcpv6_seq`): the ISN from a keyed hash of the four-tuple plus the
    /// clock in 64 ns units.
    func secure_tcp_seq(_ k: TCPKey) -> UInt32 {
        let (a, b) = hashWords(k)
        let h = SipHash.hash3(a, b, UInt32(k.lport) << 16 | UInt32(k.rport), key: (ipIdents.key.1, ipIdents.key.0))
        return UInt32(truncatingIfNeeded: h) &+ UInt32(truncatingIfNeeded: clockNs >> 6)
    }

    /// The options this end offers, or takes from a SYN: net.ipv4.tcp_timestamps and tcp_sack
    /// (tcp_syn_options; tcp_parse_options ignores what they turn off). Window scaling is always
    /// offered (tcp_window_scaling 0 is not modelled: the kernel's unscaled windows then follow
    /// each skb's truesize, which the model's do not yet).
    func tcp_options_wanted(_ c: TCPConn) {
        c.tsOK = sysctl(.tcp_timestamps) != 0
        c.sackOK = sysctl(.tcp_sack) != 0
        c.wscaleOK = true
    }

    /// `secure_tcp_ts_off` (`secure_tcpv6_ts_off`): the TSval offset, keyed by the address pair;
    /// 0 with net.ipv4.tcp_timestamps 2.
    func secure_tcp_ts_off(_ k: TCPKey) -> UInt32 {
        guard sysctl(.tcp_timestamps) != 2 else { return 0 }
        let (a, b) = hashWords(k)
        return UInt32(truncatingIfNeeded: SipHash.hash3(a, b, 0, key: (ipIdents.key.0 ^ 0x5453, ipIdents.key.1)))
    }

    /// The addresses as the hashes take them: an IPv4 one whole, an IPv6 one folded to 32 bits.
    private func hashWords(_ k: TCPKey) -> (UInt32, UInt32) {
        k.isV4 ? (k.local4.raw.byteSwapped, k.remote4.raw.byteSwapped) : (k.local.folded32, k.remote.folded32)
    }

    /// The MTU of the device the route to the connection's peer leaves by (nil: no route), which
    /// the MSS this end announces is made from (`dst_metric_advmss`: less 40, or 60 over IPv6).
    func routeMTU(_ k: TCPKey) -> Int? {
        if k.isV4 { return routeOutput(k.remote4).map { devices[$0.dev].config.mtu } }
        return routeOutput6(k.remote).map { mtu6[$0.dev] }
    }

    /// Options the peer's SYN or SYN-ACK offered, with ours: what both use from now on.
    func tcp_apply_syn_options(_ c: TCPConn, _ s: TCPSegment) {
        c.tsOK = c.tsOK && s.tsval != nil
        c.sackOK = c.sackOK && s.sackOK
        if let w = s.wscale, c.wscaleOK { c.sndWscale = w } else {
            c.wscaleOK = false; c.sndWscale = 0; c.rcvWscale = 0
            c.windowClamp = min(c.windowClamp, 65535)
        }
        if let v = s.tsval { c.tsRecent = v }
        c.mssClamp = s.mss ?? 536
        // tcp_sync_mss on the route's MTU, a path MTU learnt for the peer included.
        if c.key.isV4 {
            let dev = routeOutput(c.key.remote4, oif: c.oif)?.dev
            tcp_sync_mss(c, pmtu: dev.map { ipv4_mtu(c.key.remote4, dev: $0, now: clockNs) } ?? c.advmss + 40)
        } else {
            let dev = routeOutput6(c.key.remote, oif: c.oif, strict: c.oif != nil)?.dev
            tcp_sync_mss(c, pmtu: dev.map { ip6_dst_mtu(c.key.remote, dev: $0, now: clockNs) } ?? c.advmss + 60)
        }
    }

    /// `tcp_conn_request`: a SYN to a listener makes a request sock (SYN-RECV) and answers
    /// with a SYN-ACK, unless the accept queue is full.
    func tcp_conn_request(_ sk: Sock, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        enter(.tcp_conn_request, skb)
        sk.synReceived += 1
        let key = TCPKey(segment: skb)
        // sk_acceptq_is_full (more than the backlog waiting): tcp_listendrop, and tcp_rcv_state_process
        // consumes the SYN (no drop reason).
        if sockets.acceptQueueLength(sk) > sk.backlog {
            snmp.tcpExt.ListenOverflows += 1
            snmp.tcpExt.ListenDrops += 1
            return consume("listener \(sk.config.id)'s accept queue is full (\(sk.backlog) + 1): ListenOverflows, the SYN consumed")
        }
        // inet_csk_reqsk_queue_is_full (more request socks than the backlog): the kernel would answer
        // with a SYN cookie (tcp_syncookies 1), which is not modelled: the SYN is dropped.
        if sockets.requestCount(sk) > sk.backlog {
            return drop(.NOT_SPECIFIED, "listener \(sk.config.id) has \(sk.backlog) request socks waiting: SYN cookies are not modelled")
        }
        guard let mtu = routeMTU(key) else { return drop(.IP_OUTNOROUTES, "no route back to \(key.remoteText)") }
        let c = TCPConn(state: .synRecv, key: key, serial: sockets.nextSerial())
        c.parent = sk; c.oif = sk.oif
        c.family6 = sk.config.address6 != nil
        c.rcvbuf = sk.config.rcvbuf != nil ? sk.rcvbuf : sysctl(.tcp_rmem_default)
        c.advmss = Stack.dst_metric_advmss(mtu: mtu, v4: key.isV4)
        // IP_TOS marks IPv4 segments, IPV6_TCLASS IPv6 ones. The child's priority is SO_PRIORITY's
        // alone: the one IP_TOS gave the listener does not pass on (recorded: child 0, listener 2).
        c.tos = sk.config.dsfield(ipv4: key.isV4)
        c.priority = sk.config.priority ?? 0
        tcp_options_wanted(c)
        // The request sock's window is chosen knowing the SYN's offer (tcp_openreq_init_rwin).
        c.wscaleOK = c.wscaleOK && s.wscale != nil
        c.iss = secure_tcp_seq(key)
        c.sndUna = c.iss; c.sndNxt = c.iss &+ 1; c.sndMax = c.sndNxt
        c.rcvNxt = s.seq &+ 1; c.copiedSeq = c.rcvNxt; c.rcvWup = c.rcvNxt
        c.sndWnd = Int(s.window)
        c.tsOffset = secure_tcp_ts_off(key)
        tcp_select_initial_window(c, mss: c.advmss - (c.tsOK && s.tsval != nil ? 12 : 0))
        tcp_apply_syn_options(c, s)
        sockets.insert(c)
        sk.requests.insert(c.serial)
        // The request sock lives until its SYN-ACK retries (tcp_synack_retries 5: 1+2+4+8+16+32 s)
        // run out; the retransmissions themselves are not modelled.
        c.timewaitDeadline = clocks[skb.cpu] + 63_000_000_000
        schedule(c.timewaitDeadline, .tcpTimewait(serial: c.serial))
        tcp_transmit_skb(c, flags: [.syn, .ack], seq: c.iss, cause: skb)
        return consume("SYN to listener \(sk.config.id): request sock made, SYN-ACK sent")
    }

    /// `tcp_v4_do_rcv`: a segment for a connection or request sock, by its state.
    func tcp_v4_do_rcv(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        switch c.state {
        case .synRecv: return tcp_check_req(c, skb, s)
        case .synSent: return tcp_rcv_synsent_state_process(c, skb, s)
        case .timeWait: return tcp_timewait_state_process(c, skb, s)
        default: return tcp_rcv_state_process(c, skb, s)
        }
    }

    /// `tcp_check_req`: the ACK that completes a passive open makes the child, which waits in
    /// the listener's accept queue; a wrong ACK is answered with a reset.
    func tcp_check_req(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        enter(.tcp_check_req, skb)
        if s.flags.contains(.rst) {
            sockets.remove(c)
            return drop(.TCP_RESET, "RST to a request sock: it is gone")
        }
        if s.flags.contains(.syn) {
            tcp_transmit_skb(c, flags: [.syn, .ack], seq: c.iss, cause: skb)
            return consume("SYN again: the SYN-ACK is sent again")
        }
        guard s.flags.contains(.ack), s.ack == c.sndNxt else {
            tcp_send_reset(skb)
            return drop(.TCP_FLAGS, "ACK \(s.ack) does not acknowledge the SYN-ACK (\(c.sndNxt)): answered with a reset")
        }
        // A TSecr no SYN-ACK of this request sock carried (tsecr_reject): answered with an ACK
        // (tcp_oow_rate_limited permitting) and dropped. PAWS is not modelled.
        if c.tsOK, s.tsval != nil, s.tsecr != 0, let first = c.sntTsvalFirst, c.sntTsvalLast &- first < s.tsecr &- first {
            tcp_reqsk_send_ack_limited(c, skb, s)
            snmp.tcpExt.TSEcrRejected += 1
            return drop(.TCP_RFC7323_TSECR, "TSecr \(s.tsecr) is not one of the SYN-ACK's TSvals (\(first)...\(c.sntTsvalLast))")
        }
        guard let parent = c.parent, sockets.acceptQueueLength(parent) <= parent.backlog else {
            // tcp_v4_syn_recv_sock's exit_overflow; tcp_abort_on_overflow 0 keeps the request sock.
            snmp.tcpExt.ListenOverflows += 1
            snmp.tcpExt.ListenDrops += 1
            return drop(.NOT_SPECIFIED, "accept queue full: the ACK is dropped (ListenOverflows)")
        }
        c.state = .established
        parent.requests.remove(c.serial)
        parent.pending.insert(c.serial)
        c.sndUna = s.ack
        c.sndWnd = Int(s.window) << Int(c.sndWscale)
        if let v = s.tsval { c.tsRecent = v }
        tcp_init_buffer_space(c)
        c.lrcvtime = clocks[skb.cpu]
        c.ipID = UInt16(truncatingIfNeeded: random.next())
        snmp.tcp.PassiveOpens += 1
        var cfg = c.key.socketConfig(id: nextSocketID, family6: c.family6)
        cfg.transparent = parent.config.transparent
        cfg.ttl = parent.config.ttl; cfg.unicastHops = parent.config.unicastHops   // inet_sk_clone_lock copies them
        let id = sockets.adopt(c, config: cfg)
        if s.dataLength == 0 && !s.flags.contains(.fin) {
            return consume("ACK completes the handshake: connection \(id) waits in listener \(parent.config.id)'s accept queue")
        }
        return tcp_rcv_state_process(c, skb, s)
    }

    /// `req->rsk_ops->send_ack` unless `tcp_oow_rate_limited`: a pure ACK is answered at most
    /// once per net.ipv4.tcp_invalid_ratelimit (500 ms; TCPACKSkippedSynRecv when not).
    private func tcp_reqsk_send_ack_limited(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) {
        let now = clocks[skb.cpu]
        if s.dataLength == 0 || s.flags.contains(.syn), let last = c.lastOowAck, now &- last < 500_000_000 {
            snmp.tcpExt.TCPACKSkippedSynRecv += 1
            return
        }
        if s.dataLength == 0 || s.flags.contains(.syn) { c.lastOowAck = now }
        tcp_reqsk_send_ack(c, skb)
    }

    /// `tcp_v4_reqsk_send_ack` / `tcp_v6_reqsk_send_ack`: an ACK from the request sock (seq
    /// after its SYN, its window scaled down, its TSval and the peer's last), sent as
    /// `tcp_v4_send_ack` sends (ip_send_unicast_reply: checksum complete, IPv4 ID 0, the default
    /// TTL and the segment's TOS) or `tcp_v6_send_response` (the default hop limit).
    private func tcp_reqsk_send_ack(_ c: TCPConn, _ skb: SkBuff) {
        let v4 = c.key.isV4
        enter(v4 ? .tcp_v4_reqsk_send_ack : .tcp_v6_reqsk_send_ack, skb)
        var opts: [UInt8] = []
        if c.tsOK {
            let v = tcpTSval(c), e = c.tsRecent
            opts = [1, 1, 8, 10, UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff),
                    UInt8(e >> 24), UInt8(e >> 16 & 0xff), UInt8(e >> 8 & 0xff), UInt8(e & 0xff)]
        }
        let tcp = TCPRepr(srcPort: c.key.lport, dstPort: c.key.rport, seq: c.iss &+ 1, ack: c.rcvNxt, flags: .ack,
                          window: UInt16(min(c.rcvWnd, 65535) >> Int(c.rcvWscale)), options: opts)
        snmp.tcp.OutSegs += 1
        let nh = skb.networkHeader
        if v4 {
            guard let route = routeOutput(c.key.remote4, oif: c.oif) else { return }
            let ip = IPv4Repr(src: c.key.local4, dst: c.key.remote4, proto: IPProtocol.tcp, ttl: UInt8(sysctl(.ip_default_ttl)),
                              tos: skb.data[nh + 1], ident: 0, dontFragment: true, payloadLength: tcp.bufferLength)
            var bytes = [UInt8](repeating: 0, count: 34 + tcp.bufferLength)
            tcp.emit(into: &bytes, at: 34, src: c.key.local4, dst: c.key.remote4)
            ip.emit(into: &bytes, at: 14)
            ip_local_out(bytes, route: route, cause: skb)
        } else {
            guard let route = routeOutput6(c.key.remote, oif: c.key.remote.isLinkLocal ? skb.dev : nil) else { return }
            let tclass = UInt8(skb.data.be16(nh) >> 4 & 0xff)
            let ip = IPv6Repr(src: c.key.local, dst: c.key.remote, nextHeader: IPProtocol.tcp, hopLimit: hopLimit6[route.dev], trafficClass: tclass,
                              flowLabel: ip6_make_flowlabel(src: c.key.local, dst: c.key.remote, proto: IPProtocol.tcp, ports: UInt32(c.key.lport) << 16 | UInt32(c.key.rport)),
                              payloadLength: tcp.bufferLength)
            var bytes = [UInt8](repeating: 0, count: 54 + tcp.bufferLength)
            ip.emit(into: &bytes, at: 14)
            tcp.emit(into: &bytes, at: 54, pseudo: ip.pseudoHeader)
            ip6_local_out(bytes, route: route, cause: skb)
        }
    }

    /// `tcp_rcv_synsent_state_process`: the SYN-ACK of an active open (the ACK goes at once),
    /// or the RST that refuses it.
    func tcp_rcv_synsent_state_process(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        enter(.tcp_rcv_state_process, skb)
        if s.flags.contains(.ack) {
            guard s.ack == c.sndNxt else {
                if !s.flags.contains(.rst) { tcp_send_reset(skb) }
                return drop(.NOT_SPECIFIED, "ACK \(s.ack) in SYN-SENT is not the SYN's (\(c.sndNxt))")
            }
            if s.flags.contains(.rst) {
                c.error = "ECONNREFUSED"
                snmp.tcp.AttemptFails += 1
                tcp_done(c)
                return drop(.TCP_RESET, "connection refused (RST|ACK to the SYN)")
            }
            guard s.flags.contains(.syn) else { return drop(.TCP_FLAGS, "ACK without SYN in SYN-SENT") }
            tcp_apply_syn_options(c, s)
            c.rcvNxt = s.seq &+ 1; c.copiedSeq = c.rcvNxt; c.rcvWup = c.rcvNxt
            c.sndUna = s.ack
            c.sndWnd = Int(s.window)
            c.state = .established
            if let e = s.tsval.map({ _ in s.tsecr }), e != 0 { tcp_rtt_sample(c, tsecr: e) }
            c.retransmits = 0
            tcp_rearm_rto(c, now: clocks[skb.cpu])
            tcp_init_buffer_space(c)
            c.lrcvtime = clocks[skb.cpu]
            tcp_send_ack(c, cause: skb)
            tcp_write_xmit(c, cause: skb)
            return consume("SYN-ACK: connection established, ACK sent")
        }
        if s.flags.contains(.rst) { return drop(.TCP_RESET, "RST without ACK in SYN-SENT") }
        return drop(.TCP_FLAGS, s.flags.contains(.syn) ? "simultaneous open is not modelled" : "segment without ACK in SYN-SENT")
    }

    /// `tcp_timewait_state_process`: a FIN again is ACKed again, a RST ends TIME-WAIT early
    /// (tcp_rfc1337 0); others are dropped.
    func tcp_timewait_state_process(_ c: TCPConn, _ skb: SkBuff, _ s: TCPSegment) -> PathEnd {
        enter(.tcp_timewait_state_process, skb)
        if s.flags.contains(.rst) {
            sockets.remove(c)
            return drop(.TCP_RESET, "RST ends TIME-WAIT")
        }
        if s.flags.contains(.fin) {
            tcp_send_ack(c, cause: skb)
            return consume("FIN again in TIME-WAIT: ACKed again")
        }
        return drop(.TCP_INVALID_SEQUENCE, "segment to a TIME-WAIT socket")
    }

    /// `tcp_done`: the connection is over; the process (if it still has the fd) sees its error.
    func tcp_done(_ c: TCPConn) {
        if c.state == .established || c.state == .closeWait { snmp.tcp.EstabResets += 1 }
        c.state = .close
        sockets.remove(c)
    }

    /// `tcp_time_wait`: the connection waits out TCP_TIMEWAIT_LEN (or `timeoNs`, an orphan's
    /// tcp_fin_time in FIN-WAIT-2) before it is gone.
    func tcp_time_wait(_ c: TCPConn, _ state: TCPState, cause: SkBuff, timeoNs: UInt64 = Stack.tcpTimewaitNs) {
        enter(.tcp_time_wait, cause)
        c.state = state
        c.timewaitDeadline = clocks[cause.cpu] + timeoNs
        schedule(c.timewaitDeadline, .tcpTimewait(serial: c.serial))
    }

    /// `tcp_fin_time`: net.ipv4.tcp_fin_timeout, but at least 3.5 retransmission timeouts.
    func tcp_fin_time(_ c: TCPConn) -> UInt64 {
        max(UInt64(sysctl(.tcp_fin_timeout)) * 1_000_000_000, (c.rto << 2) - (c.rto >> 1))
    }

    func tcp_timewait_expired(serial: Int) {
        guard let c = sockets.conn(serial: serial), c.state == .timeWait || c.state == .finWait2 || c.state == .synRecv,
              clockNs >= c.timewaitDeadline else { return }
        sockets.remove(c)
    }
}
