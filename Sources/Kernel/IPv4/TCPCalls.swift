import Wire

/// A process's call on a TCP socket; each runs at the stack's clock, in order.
public enum TCPCall: Sendable {
    /// `connect` of a socket bound with `listen` off (`connect6`: to an IPv6 address, of an AF_INET6 socket).
    case connect(socket: Int, to: IPv4Address, port: UInt16)
    case connect6(socket: Int, to: IPv6Address, port: UInt16)
    /// `send(fd, bytes, MSG_DONTWAIT)`: what the send buffer takes is queued and sent as the
    /// peer's window and the fixed congestion window allow.
    case send(socket: Int, bytes: [UInt8])
    /// `close`: FIN (or RST with unread data); the connection lives on as an orphan.
    case close(socket: Int)
}

/// A row of `ss -tan`.
public struct SSRow: Sendable, Equatable {
    public var state: String, recvQ: Int, sendQ: Int, local: String, peer: String
    public init(state: String, recvQ: Int, sendQ: Int, local: String, peer: String) {
        self.state = state; self.recvQ = recvQ; self.sendQ = sendQ; self.local = local; self.peer = peer
    }
}

// net/ipv4/tcp.c, tcp_ipv4.c, af_inet.c: the socket calls.
extension Stack {
    /// Runs the calls in one run (the process on CPU 0) and the stack until no packet work is
    /// left; each call's result carries the segments it sent, and `written` for a send.
    public func tcpCalls(_ calls: [TCPCall]) -> [PacketResult] {
        beginRun()
        pendingTCPCalls = calls
        for i in calls.indices {
            packets.append(PacketResult(device: "", outcome: .queued, dropReason: nil, stages: [], startNs: clockNs, endNs: 0, frame: [],
                                        note: nil, rxQueue: 0, segments: 1, emitted: []))
            schedule(clockNs, .tcpCall(index: i))
        }
        let results = endRun()
        pendingTCPCalls = []
        return results
    }

    func tcp_call(index i: Int, at t: UInt64) {
        if clocks[0] > t { return schedule(clocks[0], .tcpCall(index: i)) }
        clocks[0] = t
        let skb = SkBuff(frame: [], dev: 0, packet: i)
        switch pendingTCPCalls[i] {
        case .connect(let id, let to, let port): tcp_v4_connect(i, skb, socket: id, to: to, port: port)
        case .connect6(let id, let to, let port): tcp_v6_connect(i, skb, socket: id, to: to, port: port)
        case .send(let id, let bytes): tcp_sendmsg(i, skb, socket: id, bytes: bytes)
        case .close(let id): tcp_close(i, skb, socket: id)
        }
        // A call that sent nothing of its own ends here.
        if packets[i].outcome == .queued && packets[i].device.isEmpty {
            packets[i].outcome = .consumed
            packets[i].endNs = clocks[0]
        }
    }

    /// `tcp_v4_connect`: the route to an IPv4 peer and the local address (an AF_INET6 socket's
    /// v4-mapped one: not V6ONLY, ENETUNREACH), then `tcp_connect`.
    func tcp_v4_connect(_ i: Int, _ skb: SkBuff, socket id: Int, to: IPv4Address, port: UInt16) {
        enter(.tcp_v4_connect, skb)
        guard let sk = connectable(i, id) else { return }
        var bound = sk.config.address
        if let a6 = sk.config.address6 {
            guard !sk.config.v6only else { return sendFailed(i, sk, "ENETUNREACH", "an IPV6_V6ONLY socket cannot reach \(to)") }
            guard a6.isUnspecified || a6.isV4Mapped else { return sendFailed(i, sk, "ENETUNREACH", "a socket bound to \(a6) cannot reach \(to)") }
            bound = a6.embeddedV4
        }
        guard let route = routeOutput(to, oif: sk.oif) else {
            snmp.ip.OutNoRoutes += 1
            return sendFailed(i, sk, "ENETUNREACH", "no route to \(to)")
        }
        let key = TCPKey(local: bound == .any ? route.src : bound, lport: sk.config.port, remote: to, rport: port)
        tcp_connect(i, skb, sk, key: key, mtu: devices[route.dev].config.mtu, dev: route.dev)
    }

    /// `tcp_v6_connect`: an IPv6 peer (a v4-mapped one goes to `tcp_v4_connect`), not multicast
    /// (ENETUNREACH) nor link-local without a device (EINVAL: SO_BINDTODEVICE gives one); the
    /// route and the local address (the route's source for a socket on `::`), then `tcp_connect`.
    func tcp_v6_connect(_ i: Int, _ skb: SkBuff, socket id: Int, to: IPv6Address, port: UInt16) {
        // An AF_INET socket's connect is tcp_v4_connect, which refuses an AF_INET6 address.
        if let sk = sockets.byID[id], sk.config.address6 == nil {
            enter(.tcp_v4_connect, skb)
            return sendFailed(i, sk, "EAFNOSUPPORT", "an AF_INET socket cannot connect to \(to)")
        }
        enter(.tcp_v6_connect, skb)
        if to.isV4Mapped { return tcp_v4_connect(i, skb, socket: id, to: to.embeddedV4, port: port) }
        guard let sk = connectable(i, id), let bound = sk.config.address6 else { return }
        if to.isMulticast { return sendFailed(i, sk, "ENETUNREACH", "\(to) is a multicast address") }
        if to.isLinkLocal && sk.oif == nil { return sendFailed(i, sk, "EINVAL", "a link-local peer needs an interface: bind the socket to a device (bindtodevice)") }
        guard !bound.isV4Mapped else { return sendFailed(i, sk, "EAFNOSUPPORT", "not supported yet: an IPv6 peer for a socket bound to \(bound)") }
        guard let route = routeOutput6(to, oif: sk.oif, strict: sk.oif != nil, src: bound) else {
            return sendFailed(i, sk, ip6_route_error(to, src: bound), "no route to \(to)")
        }
        guard let src = bound.isUnspecified ? route.src : bound else { return sendFailed(i, sk, "EADDRNOTAVAIL", "no source address for \(to)") }
        tcp_connect(i, skb, sk, key: TCPKey(local6: src, lport: sk.config.port, remote6: to, rport: port), mtu: mtu6[route.dev], dev: route.dev)
    }

    /// The socket a connect is for: TCP, not connected, not listening.
    private func connectable(_ i: Int, _ id: Int) -> Sock? {
        guard let sk = sockets.byID[id], sk.config.proto == .tcp else { sendFailed(i, nil, "ENOTSOCK", "no TCP socket \(id)"); return nil }
        guard sk.tcp == nil else { sendFailed(i, sk, "EISCONN", "socket \(id) is connected"); return nil }
        guard !sk.config.listen else { sendFailed(i, sk, "EINVAL", "socket \(id) is listening"); return nil }
        return sk
    }

    /// `tcp_connect`: the connection in SYN-SENT (ISN, TS offset, the initial window for the MSS
    /// the route allows) and its SYN.
    private func tcp_connect(_ i: Int, _ skb: SkBuff, _ sk: Sock, key: TCPKey, mtu: Int, dev: Int) {
        guard sockets.conn(key) == nil else { return sendFailed(i, sk, "EADDRNOTAVAIL", "\(key.localText) -> \(key.remoteText) is in use") }
        let c = TCPConn(state: .synSent, key: key, serial: sockets.nextSerial())
        c.sock = sk; sk.tcp = c; c.accepted = true; c.oif = sk.oif
        c.family6 = sk.config.address6 != nil
        c.rcvbuf = sk.config.rcvbuf != nil ? sk.rcvbuf : sysctl(.tcp_rmem_default)
        c.advmss = Stack.dst_metric_advmss(mtu: mtu, v4: key.isV4)
        c.tos = sk.config.dsfield(ipv4: key.isV4)
        c.priority = sk.config.skPriority
        tcp_options_wanted(c)
        c.iss = secure_tcp_seq(key)
        c.sndUna = c.iss; c.sndNxt = c.iss &+ 1; c.sndMax = c.sndNxt
        c.tsOffset = secure_tcp_ts_off(key)
        c.ipID = UInt16(truncatingIfNeeded: random.next())
        tcp_select_initial_window(c, mss: c.advmss)
        sockets.insert(c)
        packets[i].device = devices[dev].name
        // tcp_connect counts the open when the SYN goes (a refused one too: recorded over lo).
        snmp.tcp.ActiveOpens += 1
        tcp_transmit_skb(c, flags: .syn, seq: c.iss, cause: skb, own: true)
        tcp_rearm_rto(c, now: clocks[skb.cpu])
    }

    /// `tcp_sendmsg`, non-blocking: as much as the send buffer takes (EAGAIN when none), then
    /// `tcp_push`. The buffer counts payload bytes against SO_SNDBUF, or 87040 without it
    /// (`tcp_sndbuf_expand`'s first figure for a 1460-byte MSS).
    func tcp_sendmsg(_ i: Int, _ skb: SkBuff, socket id: Int, bytes: [UInt8]) {
        enter(.tcp_sendmsg, skb)
        guard let sk = sockets.byID[id], sk.config.proto == .tcp else { return sendFailed(i, nil, "ENOTSOCK", "no TCP socket \(id)") }
        guard let c = sk.tcp else { return sendFailed(i, sk, sk.listening ? "ENOTCONN" : "EPIPE", "socket \(id) is not connected") }
        c.accepted = true
        if let e = c.error { return sendFailed(i, sk, e, "the connection failed") }
        if let e = c.pendingError {
            c.pendingError = nil
            return sendFailed(i, sk, e, "an ICMP error the socket takes at its next call (IP_RECVERR; sock_error clears it)")
        }
        switch c.state {
        case .established, .closeWait: break
        case .synSent, .synRecv: return sendFailed(i, sk, "EAGAIN", "the handshake is not complete")
        default: return sendFailed(i, sk, "EPIPE", "socket \(id) is shutting down (\(c.state.rawValue))")
        }
        let limit = sk.config.sndbuf != nil ? sk.sndbuf : Stack.tcpInitialSndbuf
        let n = min(bytes.count, max(0, limit - c.sendQueue.count))
        guard n > 0 || bytes.isEmpty else { return sendFailed(i, sk, "EAGAIN", "the send buffer holds \(c.sendQueue.count) of \(limit) bytes") }
        c.sendQueue.append(contentsOf: bytes[0..<n])
        packets[i].written = n
        sk.sent += 1
        tcp_write_xmit(c, cause: skb, own: true)
        packets[i].outq = c.sendQ
    }

    /// `tcp_close`: a listener resets the children nobody accepted; a connection with unread
    /// data is reset (RST|ACK); else the FIN goes after what is queued (ESTABLISHED to
    /// FIN-WAIT-1, CLOSE-WAIT to LAST-ACK). The connection outlives the fd as an orphan.
    func tcp_close(_ i: Int, _ skb: SkBuff, socket id: Int) {
        enter(.tcp_close, skb)
        guard let sk = sockets.byID[id], sk.config.proto == .tcp else { return sendFailed(i, nil, "EBADF", "no TCP socket \(id)") }
        let wasListening = sk.listening
        _ = sockets.close(id)
        if wasListening {
            for child in sockets.allConns where child.parent === sk && !child.accepted {
                if child.state != .synRecv { tcp_send_active_reset(child, cause: skb, own: false) }
                child.sock.map { _ = sockets.close($0.config.id) }
                tcp_done(child)
            }
            return
        }
        guard let c = sk.tcp else { return }
        c.accepted = true
        // sock_orphan comes after the FIN or reset went out: they still carry the process's socket.
        defer { c.orphan = true }
        switch c.state {
        case .synSent:
            tcp_done(c)
        case .established, .closeWait:
            if !c.rcvQueue.isEmpty {
                tcp_send_active_reset(c, cause: skb, own: true)
                tcp_done(c)
                return
            }
            c.state = c.state == .established ? .finWait1 : .lastAck
            c.finQueued = true
            tcp_write_xmit(c, cause: skb, own: true)
        default:
            break
        }
    }

    /// `accept`: the oldest child of the listener that completed its handshake (its socket id),
    /// or nil when none waits (EAGAIN) or there is no such listener.
    public func tcpAccept(listener id: Int) -> Int? {
        guard let sk = sockets.byID[id], sk.listening else { return nil }
        guard let serial = sk.pending.min(), let c = sockets.conn(serial: serial) else { return nil }
        c.accepted = true
        return c.sock?.config.id
    }

    /// `tcp_recvmsg`, non-blocking: up to `max` bytes in order; at the end of the data a FIN read
    /// answers end-of-file (and is consumed). Nil without such a socket.
    /// Not modelled: the window update a read may send (`tcp_cleanup_rbuf`).
    public func tcpRecv(socket id: Int, max: Int) -> (data: [UInt8], eof: Bool, error: String?)? {
        guard let sk = sockets.byID[id], let c = sk.tcp else { return nil }
        c.accepted = true
        // Nothing to read and an error waiting: the call answers it (and clears it).
        if c.rcvQueue.isEmpty, let e = c.pendingError {
            c.pendingError = nil
            return ([], false, e)
        }
        let n = min(max, c.rcvQueue.count)
        let data = Array(c.rcvQueue.prefix(n))
        c.rcvQueue.removeFirst(n)
        c.copiedSeq &+= UInt32(n)
        // Each skb read to its end is freed and its truesize uncharged.
        var left = n
        while left > 0, let head = c.rcvSkbs.first {
            let take = min(left, head.len - c.rcvHeadRead)
            left -= take
            c.rcvHeadRead += take
            guard c.rcvHeadRead == head.len else { break }
            _ = c.rcvSkbs.popFirst()
            c.rmemAlloc -= head.truesize
            c.rcvHeadRead = 0
        }
        var eof = false
        if c.rcvQueue.isEmpty && c.finReceived {
            eof = true
            if c.rcvNxt &- c.copiedSeq == 1 { c.copiedSeq &+= 1 }
        }
        return (data, eof, c.error)
    }

    /// `ss -tan`: listeners (Recv-Q the accept queue, Send-Q the backlog), then connections. ss
    /// prints an AF_INET6 address in brackets, `::` as `*` unless the socket is V6ONLY.
    public var ssTCP: [SSRow] {
        var rows: [SSRow] = []
        for sk in sockets.all where sk.listening {
            func text(_ a: IPv6Address) -> String { a.isUnspecified && !sk.config.v6only ? "*" : "[\(a)]" }
            let local = sk.config.address6.map(text) ?? sk.config.address.description
            let any = sk.config.address6 != nil ? text(.any) : "0.0.0.0"
            rows.append(SSRow(state: TCPState.listen.rawValue, recvQ: sockets.acceptQueueLength(sk), sendQ: sk.backlog,
                              local: "\(local):\(sk.config.port)", peer: "\(any):*"))
        }
        for c in sockets.allConns where c.state != .close {
            rows.append(SSRow(state: c.state.rawValue, recvQ: c.recvQ, sendQ: c.sendQ, local: c.localText, peer: c.remoteText))
        }
        return rows
    }
}
