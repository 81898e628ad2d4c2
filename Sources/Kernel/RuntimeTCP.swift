import Wire

extension StackRuntime {
    /// A TCP connection or request sock (`struct tcp_sock` as TCPConn models it), the socket that
    /// holds it (an accepted child's is made again), its listener and the serial its timers use.
    public struct TCPConnection: Codable, Sendable, Equatable {
        public var serial: Int, state: String
        public var local: String, lport: UInt16, remote: String, rport: UInt16
        public var socket: Int?, parent: Int?
        public var accepted: Bool, orphan: Bool
        public var timewaitDeadline: UInt64, rto: UInt64, rtoDeadline: UInt64, retransmits: Int, cwnd: Int
        public var iss: UInt32, sndUna: UInt32, sndNxt: UInt32, sndMax: UInt32, finSeq: UInt32?
        public var sendQueue: String, sndWnd: Int, mssCache: Int, advmss: Int
        public var finQueued: Bool, finSent: Bool, finAcked: Bool
        public var rcvNxt: UInt32, rcvWup: UInt32, copiedSeq: UInt32, rcvWnd: Int, rcvSsthresh: Int, windowClamp: Int
        public var rcvQueue: String, rmemAlloc: Int, rcvSkbs: [[Int]], rcvHeadRead: Int, rcvbuf: Int, rcvMss: Int, finReceived: Bool
        public var rcvWscale: UInt8, sndWscale: UInt8, tsOffset: UInt32, tsRecent: UInt32, tsOK: Bool, sackOK: Bool, wscaleOK: Bool
        public var quick: Int, pingpong: Bool, ato: UInt64, lrcvtime: UInt64, ackPending: Bool, delackArmed: Bool, delackPacket: Int
        public var tos: UInt8, priority: UInt32, ipID: UInt16, error: String?
        /// The peer's MSS, the path MTU the send MSS was made for, the lengths of the segments in
        /// flight, a soft error (nil in checkpoints from before they were kept).
        public var mssClamp: Int? = nil, pmtuCookie: Int? = nil, sentLengths: [Int]? = nil, softError: String? = nil
        /// An error the next call takes (IP_RECVERR); older checkpoints lack it.
        public var pendingError: String? = nil
        /// A request sock's SYN-ACK TSvals and its last out-of-window ACK (nil: none, or older checkpoints).
        public var sntTsval: [UInt32]? = nil, lastOowAck: UInt64? = nil
        /// The backoff and the timeout it doubled (nil in older checkpoints: none, and the RTO).
        public var backoff: Int? = nil, rtoBase: UInt64? = nil
    }
    /// A TCP timer among the queued events, in the order they run: TIME-WAIT's end or a retransmission.
    public struct TCPTimer: Codable, Sendable, Equatable {
        public var timeNs: UInt64, serial: Int, retransmit: Bool
    }
}

extension Stack {
    /// The connections, the serial counter and the TCP timers of `pending` (the queued events in order).
    func tcpRecords(_ pending: [(time: UInt64, event: Event)]) -> (conns: [StackRuntime.TCPConnection], serial: Int, timers: [StackRuntime.TCPTimer]) {
        let conns = sockets.allConns.map { c in
            StackRuntime.TCPConnection(
                serial: c.serial, state: c.state.rawValue, local: c.key.isV4 ? hex(c.key.local4.raw) : hex(c.key.local.raw), lport: c.key.lport,
                remote: c.key.isV4 ? hex(c.key.remote4.raw) : hex(c.key.remote.raw), rport: c.key.rport,
                socket: c.sock?.config.id, parent: c.parent?.config.id, accepted: c.accepted, orphan: c.orphan,
                timewaitDeadline: c.timewaitDeadline, rto: c.rto, rtoDeadline: c.rtoDeadline, retransmits: c.retransmits, cwnd: c.cwnd,
                iss: c.iss, sndUna: c.sndUna, sndNxt: c.sndNxt, sndMax: c.sndMax, finSeq: c.finSeq,
                sendQueue: Hex.encode(c.sendQueue), sndWnd: c.sndWnd, mssCache: c.mssCache, advmss: c.advmss,
                finQueued: c.finQueued, finSent: c.finSent, finAcked: c.finAcked,
                rcvNxt: c.rcvNxt, rcvWup: c.rcvWup, copiedSeq: c.copiedSeq, rcvWnd: c.rcvWnd, rcvSsthresh: c.rcvSsthresh, windowClamp: c.windowClamp,
                rcvQueue: Hex.encode(c.rcvQueue), rmemAlloc: c.rmemAlloc, rcvSkbs: c.rcvSkbs.all.map { [$0.len, $0.truesize] },
                rcvHeadRead: c.rcvHeadRead, rcvbuf: c.rcvbuf, rcvMss: c.rcvMss, finReceived: c.finReceived,
                rcvWscale: c.rcvWscale, sndWscale: c.sndWscale, tsOffset: c.tsOffset, tsRecent: c.tsRecent, tsOK: c.tsOK, sackOK: c.sackOK, wscaleOK: c.wscaleOK,
                quick: c.quick, pingpong: c.pingpong, ato: c.ato, lrcvtime: c.lrcvtime, ackPending: c.ackPending, delackArmed: c.delackArmed,
                delackPacket: c.delackPacket, tos: c.tos, priority: c.priority, ipID: c.ipID, error: c.error,
                mssClamp: c.mssClamp, pmtuCookie: c.pmtuCookie, sentLengths: c.sentLengths, softError: c.softError, pendingError: c.pendingError,
                sntTsval: c.sntTsvalFirst.map { [$0, c.sntTsvalLast] }, lastOowAck: c.lastOowAck, backoff: c.backoff, rtoBase: c.rtoBase)
        }
        let timers: [StackRuntime.TCPTimer] = pending.compactMap { t, e in
            switch e {
            case .tcpTimewait(let s): .init(timeNs: t, serial: s, retransmit: false)
            case .tcpRetransmit(let s): .init(timeNs: t, serial: s, retransmit: true)
            default: nil
            }
        }
        return (conns, sockets.serialCounter, timers)
    }

    /// Puts the connections back on the sockets the stack's document made (a listener, a
    /// connected socket) or on an accepted child's socket made again under its id; then their
    /// listeners' request and accept queues, then the timers. A connection whose socket,
    /// listener or addresses do not match this stack is left out.
    func restoreTCP(_ records: [StackRuntime.TCPConnection], serial: Int, timers: [StackRuntime.TCPTimer], queues: [StackRuntime.Socket]) {
        for r in records {
            guard let state = TCPState(rawValue: r.state), let local = UInt128(r.local, radix: 16), let remote = UInt128(r.remote, radix: 16),
                  let sendQueue = try? Hex.decode(r.sendQueue), let rcvQueue = try? Hex.decode(r.rcvQueue), r.rcvSkbs.allSatisfy({ $0.count == 2 }) else { continue }
            // Older checkpoints hold IPv4 addresses (8 hex digits): v4-mapped.
            let key = TCPKey(local6: IPv6Address(raw: local <= UInt32.max ? 0xffff << 32 | local : local), lport: r.lport,
                             remote6: IPv6Address(raw: remote <= UInt32.max ? 0xffff << 32 | remote : remote), rport: r.rport)
            guard sockets.conn(key) == nil, sockets.conn(serial: r.serial) == nil else { continue }
            let parent = r.parent.flatMap { sockets.byID[$0] }
            if r.parent != nil && parent?.listening != true { continue }
            let c = TCPConn(state: state, key: key, serial: r.serial)
            c.family6 = !key.isV4 || (r.socket.flatMap { sockets.byID[$0] } ?? parent)?.config.address6 != nil
            c.oif = (r.socket.flatMap { sockets.byID[$0] } ?? parent)?.oif
            c.accepted = r.accepted; c.orphan = r.orphan
            c.timewaitDeadline = r.timewaitDeadline; c.rto = r.rto; c.rtoDeadline = r.rtoDeadline; c.retransmits = r.retransmits; c.cwnd = r.cwnd
            c.iss = r.iss; c.sndUna = r.sndUna; c.sndNxt = r.sndNxt; c.sndMax = r.sndMax; c.finSeq = r.finSeq
            c.sendQueue = sendQueue; c.sndWnd = r.sndWnd; c.mssCache = r.mssCache; c.advmss = r.advmss
            c.finQueued = r.finQueued; c.finSent = r.finSent; c.finAcked = r.finAcked
            c.rcvNxt = r.rcvNxt; c.rcvWup = r.rcvWup; c.copiedSeq = r.copiedSeq; c.rcvWnd = r.rcvWnd; c.rcvSsthresh = r.rcvSsthresh; c.windowClamp = r.windowClamp
            c.rcvQueue = rcvQueue; c.rmemAlloc = r.rmemAlloc; c.rcvHeadRead = r.rcvHeadRead; c.rcvbuf = r.rcvbuf; c.rcvMss = r.rcvMss; c.finReceived = r.finReceived
            for s in r.rcvSkbs { c.rcvSkbs.append((s[0], s[1])) }
            c.rcvWscale = r.rcvWscale; c.sndWscale = r.sndWscale; c.tsOffset = r.tsOffset; c.tsRecent = r.tsRecent
            c.tsOK = r.tsOK; c.sackOK = r.sackOK; c.wscaleOK = r.wscaleOK
            c.quick = r.quick; c.pingpong = r.pingpong; c.ato = r.ato; c.lrcvtime = r.lrcvtime; c.ackPending = r.ackPending
            c.delackArmed = r.delackArmed; c.delackPacket = r.delackPacket
            c.tos = r.tos; c.priority = r.priority; c.ipID = r.ipID; c.error = r.error
            // An older checkpoint: the MSS as it was made, the data in flight as segments of it.
            c.mssClamp = r.mssClamp ?? r.mssCache + (r.tsOK ? 12 : 0)
            c.pmtuCookie = r.pmtuCookie ?? r.advmss + 40
            c.softError = r.softError
            c.pendingError = r.pendingError
            if let ts = r.sntTsval, ts.count == 2 { c.sntTsvalFirst = ts[0]; c.sntTsvalLast = ts[1] }
            c.lastOowAck = r.lastOowAck
            c.backoff = r.backoff ?? 0; c.rtoBase = r.rtoBase ?? r.rto
            if let l = r.sentLengths { c.sentLengths = l } else {
                var left = min(Int(r.sndNxt &- r.sndUna), sendQueue.count)
                while left > 0 { c.sentLengths.append(min(left, max(r.mssCache, 1))); left -= min(left, max(r.mssCache, 1)) }
            }
            if let id = r.socket {
                if let sk = sockets.byID[id] {
                    // A connected socket of the document (a listener or a socket holding another connection is not it).
                    guard sk.config.proto == .tcp, !sk.config.listen, sk.tcp == nil else { continue }
                    sk.tcp = c; c.sock = sk
                } else {
                    var cfg = key.socketConfig(id: id, family6: c.family6)
                    cfg.transparent = parent?.config.transparent ?? false
                    _ = sockets.adopt(c, config: cfg)
                }
            }
            c.parent = parent
            sockets.insert(c)
        }
        // The listeners' queues as they were (accepting or closing changed them since the connections were made).
        for q in queues {
            guard let sk = sockets.byID[q.id], sk.listening else { continue }
            let mine = { (s: Int) in self.sockets.conn(serial: s)?.parent === sk }
            if let r = q.requests { sk.requests = Set(r.filter(mine)) }
            if let p = q.pending { sk.pending = Set(p.filter(mine)) }
        }
        sockets.serialCounter = max(sockets.serialCounter, serial)
        for t in timers where sockets.conn(serial: t.serial) != nil {
            schedule(max(t.timeNs, clockNs), t.retransmit ? .tcpRetransmit(serial: t.serial) : .tcpTimewait(serial: t.serial))
        }
    }
}
