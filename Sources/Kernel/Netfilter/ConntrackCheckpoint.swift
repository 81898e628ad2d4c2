/// A conntrack entry as a checkpoint keeps it: both tuples, status bits, mark, TCP state, when it
/// was made and when it expires (virtual ns), and the NAT it was given.
public struct ConnRecord: Sendable, Equatable {
    public struct Tuple: Sendable, Equatable {
        public var src: UInt128, dst: UInt128, sport: UInt16, dport: UInt16
        public init(src: UInt128, dst: UInt128, sport: UInt16, dport: UInt16) { self.src = src; self.dst = dst; self.sport = sport; self.dport = dport }
    }
    public var proto: UInt8
    public var v6: Bool
    public var orig: Tuple, reply: Tuple
    public var status: UInt32, mark: UInt32
    public var tcp: String?
    public var created: UInt64, expires: UInt64
    public var snat: (addr: UInt128, port: UInt16)?, dnat: (addr: UInt128, port: UInt16)?
    /// The conntrack zone and the directions it applies to (1 original, 2 reply, 3 both).
    public var zone: UInt16, zoneDir: UInt8
    /// Conntrack labels (bit N: `ct label set N`).
    public var labels: UInt128
    public init(proto: UInt8, v6: Bool, orig: Tuple, reply: Tuple, status: UInt32, mark: UInt32, tcp: String?, created: UInt64, expires: UInt64,
                snat: (addr: UInt128, port: UInt16)?, dnat: (addr: UInt128, port: UInt16)?, zone: UInt16 = 0, zoneDir: UInt8 = 3, labels: UInt128 = 0) {
        self.proto = proto; self.v6 = v6; self.orig = orig; self.reply = reply; self.status = status; self.mark = mark; self.tcp = tcp
        self.created = created; self.expires = expires; self.snat = snat; self.dnat = dnat; self.zone = zone; self.zoneDir = zoneDir; self.labels = labels
    }
    public static func == (a: ConnRecord, b: ConnRecord) -> Bool {
        a.proto == b.proto && a.v6 == b.v6 && a.orig == b.orig && a.reply == b.reply && a.status == b.status && a.mark == b.mark && a.tcp == b.tcp
            && a.created == b.created && a.expires == b.expires && a.snat?.addr == b.snat?.addr && a.snat?.port == b.snat?.port
            && a.dnat?.addr == b.dnat?.addr && a.dnat?.port == b.dnat?.port && a.zone == b.zone && a.zoneDir == b.zoneDir && a.labels == b.labels
    }
}

extension Stack {
    /// The live conntrack entries in insertion order (what a checkpoint keeps).
    public func conntrackRecords() -> [ConnRecord] {
        let now = clockNs
        return conntrack.all.filter { $0.expires > now }.sorted { $0.seq < $1.seq }.map { c in
            ConnRecord(proto: c.orig.proto, v6: c.orig.v6,
                       orig: .init(src: c.orig.src, dst: c.orig.dst, sport: c.orig.sport, dport: c.orig.dport),
                       reply: .init(src: c.reply.src, dst: c.reply.dst, sport: c.reply.sport, dport: c.reply.dport),
                       status: c.status, mark: c.mark, tcp: c.tcp?.rawValue, created: c.created, expires: c.expires, snat: c.snat, dnat: c.dnat,
                       zone: c.zone.id, zoneDir: c.zone.dir, labels: c.labels)
        }
    }

    /// Puts checkpointed entries back, in their order (the oldest is still the first early_drop takes).
    /// An entry whose TCP state this model does not know is left out.
    public func restoreConntrack(_ records: [ConnRecord]) {
        for r in records {
            let zone = CTZone(id: r.zone, dir: r.zoneDir)
            let c = Conn(orig: CTTuple(proto: r.proto, src: r.orig.src, dst: r.orig.dst, sport: r.orig.sport, dport: r.orig.dport, v6: r.v6), zone: zone)
            c.reply = CTTuple(proto: r.proto, src: r.reply.src, dst: r.reply.dst, sport: r.reply.sport, dport: r.reply.dport, v6: r.v6, zone: zone.id(reply: true))
            if let t = r.tcp { guard let st = TCPCTState(rawValue: t) else { continue }; c.tcp = st }
            c.status = r.status; c.mark = r.mark; c.created = r.created; c.expires = r.expires
            c.snat = r.snat; c.dnat = r.dnat; c.labels = r.labels
            conntrack.insert(c)
        }
    }
}

/// The table as a checkpoint stores it: "PSC1", then each live connection in insertion order as
/// a little-endian record: protocol, flags (1 IPv6, 2 TCP state, 4 SNAT, 8 DNAT, 16 zone, 32
/// labels, 64 helper/master/timeout/event mask), TCP state, a zero byte, status, mark, created and expiry
/// (virtual ns), both tuples (source, destination, 16 bytes each; ports), then what the flags
/// announce: the SNAT and DNAT bindings (address, port), the zone (id, directions), the labels
/// (16 bytes), and the extensions record (ConntrackExtCodec).
/// Written straight from the table: a million connections as JSON took a gigabyte while the
/// checkpoint ran and held the stack's lock for seconds; this is 100 bytes a connection.
enum ConntrackCodec {
    static let magic: [UInt8] = Array("PSC1".utf8)
    /// TCP states by number (the stored form; never reorder).
    static let tcpStates: [TCPCTState] = [.SYN_SENT, .SYN_RECV, .ESTABLISHED, .FIN_WAIT, .CLOSE_WAIT, .LAST_ACK, .TIME_WAIT, .CLOSE]
    static let fixedSize = 4 + 4 + 4 + 8 + 8 + 2 * 36, natSize = 18

    static func encode(_ conns: [Conn], expectations: [CTExpectation] = []) -> [UInt8] {
        var out = magic
        // Masters by position, and each master's expectations in order (most entries have neither).
        var position: [ObjectIdentifier: Int] = [:]
        var expecting: [ObjectIdentifier: [CTExpectation]] = [:]
        for e in expectations { expecting[ObjectIdentifier(e.master), default: []].append(e) }
        if !expectations.isEmpty || conns.contains(where: { $0.master != nil }) {
            for (k, c) in conns.enumerated() { position[ObjectIdentifier(c)] = k }
        }
        out.reserveCapacity(4 + conns.count * (fixedSize + 4))
        for c in conns {
            var flags: UInt8 = c.orig.v6 ? 1 : 0
            if c.tcp != nil { flags |= 2 }
            let snat = c.snat, dnat = c.dnat
            if snat != nil { flags |= 4 }
            if dnat != nil { flags |= 8 }
            if c.zone != CTZone() { flags |= 16 }
            let labels = c.labels
            if labels != 0 { flags |= 32 }
            let hasExt = c.help != nil || c.master != nil || c.timeoutPolicy != nil || c.eventMask != .max || c.seqAdjust != nil || c.synproxy != nil || c.acct != nil
            if hasExt { flags |= 64 }
            out.append(c.orig.proto); out.append(flags)
            out.append(c.tcp.flatMap { tcpStates.firstIndex(of: $0) }.map(UInt8.init) ?? 0); out.append(0)
            put(&out, c.status); put(&out, c.mark); put(&out, c.created); put(&out, c.expires)
            put(&out, c.orig); put(&out, c.reply)
            if let snat { put(&out, snat.addr); put(&out, snat.port) }
            if let dnat { put(&out, dnat.addr); put(&out, dnat.port) }
            if flags & 16 != 0 { put(&out, c.zone.id); out.append(c.zone.dir) }
            if labels != 0 { put(&out, labels) }
            if hasExt { ConntrackExtCodec.encode(c, master: c.master.flatMap { position[ObjectIdentifier($0)] }, expecting[ObjectIdentifier(c)] ?? [], into: &out) }
        }
        return out
    }

    /// The connections of a stored table and their expectations, or nil when the bytes are not one
    /// (nothing is half read).
    static func decode(_ bytes: [UInt8]) -> (conns: [Conn], expectations: [CTExpectation])? {
        guard bytes.starts(with: magic) else { return nil }
        var conns: [Conn] = []
        var masters: [(Conn, Int)] = [], expectations: [(Int, ConntrackExtCodec.Expected)] = []
        var r = Reader(bytes: bytes, at: magic.count)
        while r.at < bytes.count {
            guard r.left >= fixedSize else { return nil }
            let proto = r.u8(), flags = r.u8(), tcp = r.u8(), _ = r.u8()
            let v6 = flags & 1 != 0
            let extra = (flags & 4 != 0 ? natSize : 0) + (flags & 8 != 0 ? natSize : 0) + (flags & 16 != 0 ? 3 : 0) + (flags & 32 != 0 ? 16 : 0)
            guard flags & 0x80 == 0, Int(tcp) < tcpStates.count, r.left >= fixedSize - 4 + extra else { return nil }
            let status: UInt32 = r.int(), mark: UInt32 = r.int(), created: UInt64 = r.int(), expires: UInt64 = r.int()
            let o = CTTuple(proto: proto, src: r.u128(), dst: r.u128(), sport: r.int(), dport: r.int(), v6: v6)
            let c = Conn(orig: o)
            c.reply = CTTuple(proto: proto, src: r.u128(), dst: r.u128(), sport: r.int(), dport: r.int(), v6: v6)
            c.status = status; c.mark = mark; c.created = created; c.expires = expires
            if flags & 2 != 0 { c.tcp = tcpStates[Int(tcp)] }
            if flags & 4 != 0 { c.snat = (r.u128(), r.int()) }
            if flags & 8 != 0 { c.dnat = (r.u128(), r.int()) }
            if flags & 16 != 0 {
                let zone = CTZone(id: r.int(), dir: r.u8())
                guard (1...3).contains(zone.dir) else { return nil }
                c.zone = zone; c.orig.zone = zone.id(reply: false); c.reply.zone = zone.id(reply: true)
            }
            if flags & 32 != 0 { c.labels = r.u128() }
            if flags & 64 != 0 {
                guard let ext = ConntrackExtCodec.decode(&r, into: c) else { return nil }
                if let m = ext.master { masters.append((c, m)) }
                for e in ext.expected { expectations.append((conns.count, e)) }
            }
            conns.append(c)
        }
        for (c, m) in masters {
            guard m < conns.count else { return nil }
            c.master = conns[m]
        }
        let exps = expectations.map { k, e in
            CTExpectation(proto: e.proto, v6: e.v6, src: e.src, dst: e.dst, dport: e.dport, zone: e.zone, master: conns[k], expires: e.expires,
                          natDir: e.natDir, savedPort: e.savedPort)
        }
        return (conns, exps)
    }

    static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
    private static func put(_ out: inout [UInt8], _ t: CTTuple) { put(&out, t.src); put(&out, t.dst); put(&out, t.sport); put(&out, t.dport) }

    /// Reads at `at`; callers check `left` first.
    struct Reader {
        let bytes: [UInt8]
        var at: Int
        var left: Int { bytes.count - at }
        mutating func u8() -> UInt8 { defer { at += 1 }; return bytes[at] }
        mutating func int<T: FixedWidthInteger>() -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: bytes[at + i]) << (8 * i) }
            at += MemoryLayout<T>.size
            return v
        }
        mutating func u128() -> UInt128 { int() }
    }
}

extension Stack {
    /// The live connections in the checkpoint's binary form (ConntrackCodec).
    public func conntrackCheckpoint() -> [UInt8] {
        let now = clockNs
        return ConntrackCodec.encode(conntrack.all.filter { $0.expires > now }.sorted { $0.seq < $1.seq },
                                     expectations: ctExpectations.filter { $0.expires > now && $0.master.confirmedInTable })
    }

    /// Puts a checkpoint's connections back in their order; false (and nothing restored) when the
    /// bytes do not read as one.
    public func restoreConntrack(checkpoint bytes: [UInt8]) -> Bool {
        guard let (conns, expectations) = ConntrackCodec.decode(bytes) else { return false }
        for c in conns { conntrack.insert(c) }
        ctExpectations = expectations
        return true
    }
}
