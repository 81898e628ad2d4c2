import Wire

/// A TCP socket's state, by the name `ss -tan` prints.
public enum TCPState: String, Sendable {
    case listen = "LISTEN", synSent = "SYN-SENT", synRecv = "SYN-RECV", established = "ESTAB"
    case finWait1 = "FIN-WAIT-1", finWait2 = "FIN-WAIT-2", closing = "CLOSING", timeWait = "TIME-WAIT"
    case closeWait = "CLOSE-WAIT", lastAck = "LAST-ACK", close = "UNCONN"
}

/// A connection's four-tuple, the key of `inet_ehash` (request socks live there too). The
/// addresses are IPv6 ones, an IPv4 connection's v4-mapped (as the kernel's sk_v6_daddr holds them).
struct TCPKey: Hashable {
    var local: IPv6Address, lport: UInt16, remote: IPv6Address, rport: UInt16
    init(local6: IPv6Address, lport: UInt16, remote6: IPv6Address, rport: UInt16) {
        self.local = local6; self.lport = lport; self.remote = remote6; self.rport = rport
    }
    init(local: IPv4Address, lport: UInt16, remote: IPv4Address, rport: UInt16) {
        self.init(local6: .mapped(local), lport: lport, remote6: .mapped(remote), rport: rport)
    }
    /// The connection a received segment belongs to (its destination is the local end).
    init(segment skb: SkBuff) {
        let b = skb.data, nh = skb.networkHeader, th = skb.transportHeader
        let lport = b.be16(th + 2), rport = b.be16(th)
        if skb.protocolType == EtherType.ipv6 {
            self.init(local6: IPv6Address(array: b, at: nh + 24), lport: lport, remote6: IPv6Address(array: b, at: nh + 8), rport: rport)
        } else {
            self.init(local: IPv4Address(raw: b.be32(nh + 16)), lport: lport, remote: IPv4Address(raw: b.be32(nh + 12)), rport: rport)
        }
    }
    /// An IPv4 connection (AF_INET, or an AF_INET6 socket's v4-mapped one).
    var isV4: Bool { remote.isV4Mapped }
    var local4: IPv4Address { local.embeddedV4 }
    var remote4: IPv4Address { remote.embeddedV4 }
    /// The ends as `ss` prints them: `198.18.0.1:80`, `[2001:db8::1]:80`.
    var localText: String { TCPKey.endpoint(local, lport) }
    var remoteText: String { TCPKey.endpoint(remote, rport) }
    static func endpoint(_ a: IPv6Address, _ port: UInt16) -> String { a.isV4Mapped ? "\(a.embeddedV4):\(port)" : "[\(a)]:\(port)" }
    /// The socket an accepted (or restored) connection is held by: bound to its local end, not
    /// listening; AF_INET6 (`family6`) for an IPv6 connection or an AF_INET6 listener's IPv4 one.
    func socketConfig(id: Int, family6: Bool) -> SocketConfig {
        var c = isV4 && !family6 ? SocketConfig(id: id, proto: .tcp, address: local4, port: lport) : SocketConfig(id: id, proto: .tcp, address6: local, v6only: !isV4, port: lport)
        c.listen = false
        return c
    }
}

/// `struct tcp_sock` reduced to what the minimal TCP uses. Sequence numbers are u32 and compared
/// with `before`/`after` (wrapping); windows are bytes.
public final class TCPConn {
    public internal(set) var state: TCPState
    let key: TCPKey
    /// Serial for timers (a socket the process has closed has no fd but still runs them).
    let serial: Int
    /// The listener that made it (until accepted), and whether the process has accepted it.
    weak var parent: Sock?
    var accepted = false { didSet { if accepted { parent?.pending.remove(serial) } } }
    /// The process has closed its fd: the socket lives on as an orphan until the end (`SOCK_DEAD`).
    var orphan = false
    /// What skb_to_full_sk of its segments is: a request sock's is its listener (held open); a
    /// child has no file until accepted, nor an orphan; TIME-WAIT, and an orphan's FIN-WAIT-2
    /// (which the kernel's tcp_time_wait made a timewait sock too), no full socket.
    var skOwner: SkOwner {
        switch state {
        case .timeWait: .none
        case .finWait2 where orphan: .none
        case .synRecv where !accepted && sock == nil: parent != nil ? .process : .fullSock
        default: !orphan && (parent == nil || accepted) ? .process : .fullSock
        }
    }
    /// When TIME-WAIT (or an orphan's FIN-WAIT-2) ends; a later entry into TIME-WAIT moves it.
    var timewaitDeadline: UInt64 = 0
    /// The retransmission timer: its timeout (TCP_TIMEOUT_INIT 1 s until an RTT is measured),
    /// when it fires (0: not armed), the retries so far; the congestion window in segments.
    var rto: UInt64 = 1_000_000_000
    /// icsk_backoff: the doublings since the last RTT measurement, and the timeout they doubled
    /// (tcp_set_rto's): what RFC 6069's revert goes back along.
    var backoff = 0, rtoBase: UInt64 = 1_000_000_000
    var rtoDeadline: UInt64 = 0
    var retransmits = 0
    var cwnd = 10

    // Send side: snd_una <= snd_nxt <= write_seq.
    var iss: UInt32 = 0, sndUna: UInt32 = 0, sndNxt: UInt32 = 0
    /// The highest sequence sent: a retransmission timeout moves snd_nxt back to snd_una, and an
    /// ACK of what went before it is still good.
    var sndMax: UInt32 = 0
    /// Where the FIN went, once it has.
    var finSeq: UInt32?
    /// Bytes written and not acknowledged; the front `sndNxt - sndUna` bytes are in flight.
    var sendQueue: [UInt8] = []
    /// The peer's window in bytes (its field shifted by snd_wscale) and its MSS.
    var sndWnd = 0
    var mssCache = 536
    /// `advmss`: the MSS this end announces (`Stack.dst_metric_advmss`).
    var advmss = 1460
    /// `rx_opt.mss_clamp`: the MSS the peer announced; `icsk_pmtu_cookie`: the path MTU the
    /// send MSS was made for (tcp_sync_mss).
    var mssClamp = 536
    var pmtuCookie = 0
    /// The data segments in flight, oldest first, by length (the retransmit queue's skbs): a
    /// smaller path MTU resends those longer than the new MSS.
    var sentLengths: [Int] = []
    /// `sk_err_soft`: an ICMP error the connection survives, reported if it then times out.
    var softError: String?
    /// `sk_err` of a live connection (an ICMP error with IP_RECVERR): the next call fails with it once.
    public internal(set) var pendingError: String?
    var finQueued = false
    var finSent = false, finAcked = false

    // Receive side.
    var rcvNxt: UInt32 = 0, rcvWup: UInt32 = 0, copiedSeq: UInt32 = 0
    var rcvWnd = 0, rcvSsthresh = 0, windowClamp = 0
    var rcvQueue: [UInt8] = []
    /// `sk_rmem_alloc`: the truesize of the skbs whose data waits in rcvQueue.
    var rmemAlloc = 0
    /// The queued skbs' data lengths and truesizes, oldest first: an skb's charge goes when
    /// the last of its bytes is read (`tcp_eat_recv_skb`).
    var rcvSkbs = Deque<(len: Int, truesize: Int)>()
    /// Bytes of the oldest queued skb already read.
    var rcvHeadRead = 0
    var rcvbuf = 0
    /// `icsk_ack.rcv_mss`: the peer's segment size as measured (TCP_MSS_DEFAULT 536 at first).
    var rcvMss = 536
    var finReceived = false

    // Options agreed in the handshake.
    var rcvWscale: UInt8 = 0, sndWscale: UInt8 = 0
    var tsOffset: UInt32 = 0, tsRecent: UInt32 = 0
    /// A request sock's first and last SYN-ACK TSval (snt_tsval_first/last: what a handshake ACK
    /// may echo), and when it last answered a segment it did not take (last_oow_ack_time).
    var sntTsvalFirst: UInt32? = nil, sntTsvalLast: UInt32 = 0
    var lastOowAck: UInt64? = nil
    var tsOK = false, sackOK = false, wscaleOK = false

    // Delayed ACKs (`icsk_ack`): quick ACKs left, ping-pong (interactive) mode, ACK timeout.
    var quick = 0, pingpong = false, ato: UInt64 = 0, lrcvtime: UInt64 = 0
    var ackPending = false
    /// A delayed-ACK timer is armed, and the packet whose trace the ACK it sends belongs to.
    var delackArmed = false
    var delackPacket = -1
    /// IP_TOS and SO_PRIORITY, from the socket (a child takes its listener's).
    var tos: UInt8 = 0, priority: UInt32 = 0
    /// `inet_id`: the IP ID of the next segment (DF set, so it only counts).
    var ipID: UInt16 = 0
    /// The errno the process sees next (ECONNRESET, ECONNREFUSED).
    public internal(set) var error: String?

    /// The fd the process holds (nil for an orphan or a request sock).
    weak var sock: Sock?
    /// The device its socket (or listener) is bound to (SO_BINDTODEVICE): its segments leave by it.
    var oif: Int?

    init(state: TCPState, key: TCPKey, serial: Int) { self.state = state; self.key = key; self.serial = serial }

    /// `ss` Recv-Q and Send-Q of a connection: bytes received and not read (a FIN counts one),
    /// bytes written and not acknowledged.
    public var recvQ: Int { state == .timeWait ? 0 : Int(rcvNxt &- copiedSeq) }
    public var sendQ: Int { state == .timeWait ? 0 : sendQueue.count + (finQueued && !finAcked ? 1 : 0) }
    /// An AF_INET6 socket's connection (an IPv4 one then has v4-mapped ends, as ss prints them).
    var family6 = false
    /// The ends as `ss` prints them: `[::ffff:198.18.0.1]:5000` for an AF_INET6 socket's IPv4 connection.
    public var localText: String { family6 ? "[\(key.local)]:\(key.lport)" : key.localText }
    public var remoteText: String { family6 ? "[\(key.remote)]:\(key.rport)" : key.remoteText }
}

/// `before(a, b)` of include/net/tcp.h: a comes before b in the wrapping sequence space.
@inline(__always) func seqBefore(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inline(__always) func seqAfter(_ a: UInt32, _ b: UInt32) -> Bool { seqBefore(b, a) }
