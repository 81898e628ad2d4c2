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
    public init(proto: UInt8, v6: Bool, orig: Tuple, reply: Tuple, status: UInt32, mark: UInt32, tcp: String?, created: UInt64, expires: UInt64,
                snat: (addr: UInt128, port: UInt16)?, dnat: (addr: UInt128, port: UInt16)?) {
        self.proto = proto; self.v6 = v6; self.orig = orig; self.reply = reply; self.status = status; self.mark = mark; self.tcp = tcp
        self.created = created; self.expires = expires; self.snat = snat; self.dnat = dnat
    }
    public static func == (a: ConnRecord, b: ConnRecord) -> Bool {
        a.proto == b.proto && a.v6 == b.v6 && a.orig == b.orig && a.reply == b.reply && a.status == b.status && a.mark == b.mark && a.tcp == b.tcp
            && a.created == b.created && a.expires == b.expires && a.snat?.addr == b.snat?.addr && a.snat?.port == b.snat?.port
            && a.dnat?.addr == b.dnat?.addr && a.dnat?.port == b.dnat?.port
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
                       status: c.status, mark: c.mark, tcp: c.tcp?.rawValue, created: c.created, expires: c.expires, snat: c.snat, dnat: c.dnat)
        }
    }

    /// Puts checkpointed entries back, in their order (the oldest is still the first early_drop takes).
    /// An entry whose TCP state this model does not know is left out.
    public func restoreConntrack(_ records: [ConnRecord]) {
        for r in records {
            let c = Conn(orig: CTTuple(proto: r.proto, src: r.orig.src, dst: r.orig.dst, sport: r.orig.sport, dport: r.orig.dport, v6: r.v6))
            c.reply = CTTuple(proto: r.proto, src: r.reply.src, dst: r.reply.dst, sport: r.reply.sport, dport: r.reply.dport, v6: r.v6)
            if let t = r.tcp { guard let st = TCPCTState(rawValue: t) else { continue }; c.tcp = st }
            c.status = r.status; c.mark = r.mark; c.created = r.created; c.expires = r.expires
            c.snat = r.snat; c.dnat = r.dnat
            conntrack.insert(c)
        }
    }
}
