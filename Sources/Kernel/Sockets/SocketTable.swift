import Wire

/// A datagram waiting in a UDP socket's receive queue.
public struct Datagram: Sendable, Equatable {
    public var src: IPv4Address
    public var srcPort: UInt16
    public var dst: IPv4Address
    /// The received bytes, shared with the skb they came in (no copy on the receive path).
    var bytes: [UInt8]
    var payloadRange: Range<Int>
    public var payload: ArraySlice<UInt8> { bytes[payloadRange] }
    public var timeNs: UInt64
    /// What it charges against the receive buffer (skb->truesize).
    public var truesize: Int
}

/// A bound socket and its receive state.
public final class Sock {
    public let config: SocketConfig
    public var rcvbuf: Int
    /// `sk_rmem_alloc`: bytes charged by queued datagrams.
    public var rmemAlloc = 0
    public var queue: [Datagram] = []
    public var drops = 0
    /// `sk->sk_rxhash`: the flow hash of the last packet, recorded for RFS when the socket is read.
    var rxhash: UInt32 = 0
    /// TCP only: SYNs seen while listening (no handshake is modelled yet).
    public var synReceived = 0

    init(config: SocketConfig, rcvbuf: Int) { self.config = config; self.rcvbuf = rcvbuf }
}

/// UDP and TCP sockets by local port; a specific address wins over INADDR_ANY (`__udp4_lib_lookup`).
struct SocketTable {
    private(set) var byID: [Int: Sock] = [:]
    private var udp: [UInt16: [Sock]] = [:]
    private var tcp: [UInt16: [Sock]] = [:]

    /// Why the bind fails (EADDRINUSE), or nil.
    mutating func bind(_ c: SocketConfig, rmemDefault: Int) -> String? {
        guard byID[c.id] == nil else { return "socket id \(c.id) exists" }
        let existing = (c.proto == .udp ? udp[c.port] : tcp[c.port]) ?? []
        if existing.contains(where: { $0.config.address == c.address || $0.config.address == .any || c.address == .any }) {
            return "address \(c.address):\(c.port) already in use (EADDRINUSE)"
        }
        let s = Sock(config: c, rcvbuf: c.rcvbuf ?? rmemDefault)
        byID[c.id] = s
        if c.proto == .udp { udp[c.port, default: []].append(s) } else { tcp[c.port, default: []].append(s) }
        return nil
    }

    mutating func close(_ id: Int) -> Bool {
        guard let s = byID.removeValue(forKey: id) else { return false }
        if s.config.proto == .udp { udp[s.config.port]?.removeAll { $0 === s } } else { tcp[s.config.port]?.removeAll { $0 === s } }
        return true
    }

    func lookup(_ proto: SocketConfig.Proto, dst: IPv4Address, port: UInt16) -> Sock? {
        guard let list = proto == .udp ? udp[port] : tcp[port] else { return nil }
        return list.first { $0.config.address == dst } ?? list.first { $0.config.address == .any }
    }

    var all: [Sock] { byID.values.sorted { $0.config.id < $1.config.id } }
}

extension Stack {
    /// Binds a socket (and keeps it in the configuration a restart rebuilds).
    public func bind(_ c: SocketConfig) -> String? { sockets.bind(c, rmemDefault: sysctl(.rmem_default)) }
    public func closeSocket(_ id: Int) -> Bool { sockets.close(id) }
    public func socket(_ id: Int) -> Sock? { sockets.byID[id] }
    public var allSockets: [Sock] { sockets.all }
    public var nextSocketID: Int { (sockets.byID.keys.max() ?? 0) + 1 }

    /// `recvmsg` on a UDP socket from a process on `cpu`: dequeues up to `max` datagrams, uncharges
    /// them, and records the flow's CPU for RFS (`sock_rps_record_flow`).
    /// Reads as a process on `cpu` would, which RFS learns (the API refuses a CPU the stack lacks).
    public func recv(socket id: Int, max: Int, cpu: Int) -> [Datagram]? {
        guard let s = sockets.byID[id] else { return nil }
        let n = min(max, s.queue.count)
        let out = Array(s.queue.prefix(n))
        s.queue.removeFirst(n)
        s.rmemAlloc -= out.reduce(0) { $0 + $1.truesize }
        if !sockFlowTable.isEmpty && s.rxhash != 0 && (0..<cpus.count).contains(cpu) {
            sockFlowTable[Int(s.rxhash) & (sockFlowTable.count - 1)] = cpu
        }
        return out
    }
}
