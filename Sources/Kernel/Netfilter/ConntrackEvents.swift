import NFTables
import Wire

// net/netfilter/nf_conntrack_ecache.c and ctnetlink's event messages: what `conntrack -E` shows.
// A packet's changes to its entry are cached as IPCT_* bits and delivered when the packet leaves
// conntrack (nf_conntrack_confirm); an entry reports only events its mask (`ct event set`) names
// a bit of, and then with every bit the packet cached.

/// IPCT_* bits.
enum IPCT {
    static let new: UInt16 = 1 << 0, related: UInt16 = 1 << 1, destroy: UInt16 = 1 << 2, reply: UInt16 = 1 << 3
    static let assured: UInt16 = 1 << 4, protoinfo: UInt16 = 1 << 5, helper: UInt16 = 1 << 6, mark: UInt16 = 1 << 7
    static let seqadj: UInt16 = 1 << 8, label: UInt16 = 1 << 10, synproxy: UInt16 = 1 << 11
}

/// One delivered event: the entry as it was then.
struct CTEvent {
    let bits: UInt16
    let orig: CTTuple, reply: CTTuple
    let tcp: TCPCTState?
    let status: UInt32, mark: UInt32
    /// Seconds left (nf_ct_expires / HZ).
    let timeout: UInt64
    let zone: CTZone
    let helper: String?
    /// A DESTROY's counters (ctnetlink_conntrack_event dumps them with that event alone).
    var acct: CTAcct? = nil
    /// The stack's event number (from 1), so a reader can ask for what came after.
    let seq: UInt64
}

/// The events a stack delivered, the last `capacity` of them (a netlink listener that falls
/// behind loses the oldest, as ENOBUFS would).
struct CTEventLog {
    static let capacity = 4096
    private(set) var events: [CTEvent] = []
    private var start = 0
    private(set) var delivered: UInt64 = 0
    init() {}

    mutating func append(_ make: (UInt64) -> CTEvent) {
        delivered += 1
        let e = make(delivered)
        if events.count < CTEventLog.capacity { events.append(e); return }
        events[start] = e
        start = (start + 1) % CTEventLog.capacity
    }
    /// Oldest first.
    var ordered: [CTEvent] { Array(events[start...] + events[..<start]) }
}

extension Stack {
    /// Caches an event bit on the entry for delivery with the packet.
    @inline(__always) func nf_conntrack_event_cache(_ bit: UInt16, _ c: Conn) { c.eventCache |= bit }

    /// `nf_ct_deliver_cached_events`: a confirmed entry's cached events, if its mask names any.
    func nf_ct_deliver_cached_events(_ c: Conn) {
        let bits = c.eventCache
        guard bits != 0, c.status & IPS.confirmed != 0 else { return }
        c.eventCache = 0
        if bits & c.eventMask != 0 { report(c, bits) }
    }

    /// `nf_conntrack_event_report(IPCT_DESTROY)`: the entry leaves the table (killed, evicted or
    /// expired), with what it had cached.
    func nf_ct_destroy_event(_ c: Conn) {
        let bits = c.eventCache | IPCT.destroy
        c.eventCache = 0
        guard c.status & IPS.confirmed != 0, bits & c.eventMask != 0 else { return }
        report(c, bits)
    }

    private func report(_ c: Conn, _ bits: UInt16) {
        let now = clockNs
        ctEvents.append { seq in
            CTEvent(bits: bits, orig: c.orig, reply: c.reply, tcp: c.tcp, status: c.status, mark: c.mark,
                    timeout: c.expires > now ? (c.expires - now) / 1_000_000_000 : 0, zone: c.zone, helper: c.help?.helper,
                    acct: bits & IPCT.destroy != 0 ? c.acct : nil, seq: seq)
        }
    }

    /// The conntrack GC: entries past their time leave the table and report DESTROY. The kernel's
    /// gc worker gets to them some time after they expire; here, when the events are read.
    func nf_conntrack_gc() {
        let now = clockNs
        for c in conntrack.all.filter({ $0.expires <= now }).sorted(by: { ($0.expires, $0.seq) < ($1.expires, $1.seq) }) {
            conntrack.remove(c)
            nf_ct_destroy_event(c)
        }
    }

    /// `conntrack -E` as the stack saw it: the events after number `after`, oldest first.
    public func conntrackEvents(after: UInt64 = 0) -> [ConntrackEvent] {
        nf_conntrack_gc()
        return ctEvents.ordered.filter { $0.seq > after }.map(ConntrackEvent.init)
    }
}

/// An event as `conntrack -E` prints it (and the API's JSON form).
public struct ConntrackEvent: Sendable, Equatable {
    /// NEW (IPCT_NEW or IPCT_RELATED), UPDATE, or DESTROY, as ctnetlink types the message.
    public var type: String
    public var seq: UInt64
    /// The IPCT_* names the message carries.
    public var events: [String]
    public var entry: ConntrackEntry
    /// Whether the message carries the mark (ctnetlink_dump_mark: when it is set, or the event is about it).
    public var showsMark: Bool

    init(_ e: CTEvent) {
        seq = e.seq
        type = e.bits & IPCT.destroy != 0 ? "DESTROY" : e.bits & (IPCT.new | IPCT.related) != 0 ? "NEW" : "UPDATE"
        events = NFParser.ctEventNames.indices.filter { e.bits & (1 << UInt16($0)) != 0 }.map { NFParser.ctEventNames[$0] }
        // The TCP state comes with IPCT_PROTOINFO, and with a DESTROY.
        let showsState = e.bits & (IPCT.protoinfo | IPCT.destroy) != 0
        showsMark = e.mark != 0 || e.bits & IPCT.mark != 0
        entry = ConntrackEntry(protocol: [6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"][Int(e.orig.proto)] ?? "unknown", protonum: Int(e.orig.proto),
                               timeout: Int(e.timeout), state: showsState ? e.tcp?.rawValue : nil,
                               original: ConntrackEntry.Tuple(e.orig), reply: ConntrackEntry.Tuple(e.reply),
                               unreplied: e.status & IPS.seenReply == 0, assured: e.status & IPS.assured != 0,
                               mark: Int(e.mark), use: 1, zone: ConntrackEntry.Zone(e.zone),
                               helper: type == "DESTROY" ? nil : e.helper).counting(e.acct)
    }

    /// `conntrack -E`'s line: the type in brackets right-aligned in 9 columns, then the entry
    /// without its use count (and its mark only when the message carries one).
    public var line: String {
        let label = "[\(type)]"
        var s = String(repeating: " ", count: max(0, 9 - label.count)) + label + " "
        s += entry.protocol.padding(toLength: max(8, entry.protocol.count), withPad: " ", startingAt: 0) + " \(entry.protonum) \(entry.timeout) "
        if let state = entry.state { s += state + " " }
        s += entry.original.text + " "
        if case .original(let z) = entry.zone { s += "zone-orig=\(z) " }
        s += entry.original.counterText
        if entry.unreplied { s += "[UNREPLIED] " }
        s += entry.reply.text + " "
        if case .reply(let z) = entry.zone { s += "zone-reply=\(z) " }
        s += entry.reply.counterText
        if entry.assured { s += "[ASSURED] " }
        if showsMark { s += "mark=\(entry.mark) " }
        if case .both(let z) = entry.zone { s += "zone=\(z) " }
        if let helper = entry.helper { s += "helper=\(helper) " }
        return String(s.dropLast())
    }
}

extension CTEventLog {
    /// The log as a checkpoint keeps it (hex): how many were delivered, then each event oldest
    /// first, little-endian, as ConntrackCodec writes its numbers.
    var checkpoint: String {
        var out: [UInt8] = []
        ConntrackCodec.put(&out, delivered)
        for e in ordered {
            ConntrackCodec.put(&out, e.bits); ConntrackCodec.put(&out, e.orig.proto); out.append(e.orig.v6 ? 1 : 0)
            for t in [e.orig, e.reply] {
                ConntrackCodec.put(&out, t.src); ConntrackCodec.put(&out, t.dst); ConntrackCodec.put(&out, t.sport); ConntrackCodec.put(&out, t.dport)
            }
            // (A state byte with 64 set: a DESTROY's counters follow the event's number.)
            out.append((e.tcp.map { s in UInt8(CTEventLog.tcpStates.firstIndex(of: s)!) } ?? 63) | (e.acct != nil ? 64 : 0))
            ConntrackCodec.put(&out, e.status); ConntrackCodec.put(&out, e.mark); ConntrackCodec.put(&out, e.timeout)
            ConntrackCodec.put(&out, e.zone.id); out.append(e.zone.dir)
            let h = Array((e.helper ?? "").utf8.prefix(255))
            out.append(UInt8(h.count)); out += h
            ConntrackCodec.put(&out, e.seq)
            if let a = e.acct { for n in [a.packets.original, a.bytes.original, a.packets.reply, a.bytes.reply] { ConntrackCodec.put(&out, n) } }
        }
        return Hex.encode(out)
    }

    private static let tcpStates: [TCPCTState] = [.SYN_SENT, .SYN_RECV, .ESTABLISHED, .FIN_WAIT, .CLOSE_WAIT, .LAST_ACK, .TIME_WAIT, .CLOSE]

    /// A log read back from `checkpoint`; nil when the text is not one.
    init?(checkpoint text: String) {
        guard let bytes = try? Hex.decode(text) else { return nil }
        var r = ConntrackCodec.Reader(bytes: bytes, at: 0)
        guard r.left >= 8 else { return nil }
        let delivered: UInt64 = r.int()
        var events: [CTEvent] = []
        // Each event is at least 2+1+1 + 2*36 + 1 + 4+4+8 + 2+1 + 1 + 8 bytes.
        while r.left > 0 {
            guard r.left >= 105 else { return nil }
            let bits: UInt16 = r.int(), proto = r.u8(), v6 = r.u8() == 1
            var t: [CTTuple] = []
            for _ in 0..<2 { t.append(CTTuple(proto: proto, src: r.u128(), dst: r.u128(), sport: r.int(), dport: r.int(), v6: v6)) }
            let s8 = r.u8(), s = s8 == 255 ? 255 : s8 & 63
            let status: UInt32 = r.int(), mark: UInt32 = r.int(), timeout: UInt64 = r.int()
            let zone = CTZone(id: r.int(), dir: r.u8())
            let n = Int(r.u8())
            guard r.left >= n + 8 else { return nil }
            let helper = n == 0 ? nil : String(decoding: bytes[r.at..<r.at + n], as: UTF8.self)
            r.at += n
            let seq: UInt64 = r.int()
            var acct: CTAcct? = nil
            if s8 != 255 && s8 & 64 != 0 {
                guard r.left >= 32 else { return nil }
                acct = CTAcct(packets: (r.int(), 0), bytes: (r.int(), 0))
                (acct!.packets.reply, acct!.bytes.reply) = (r.int(), r.int())
            }
            events.append(CTEvent(bits: bits, orig: t[0], reply: t[1], tcp: Int(s) < CTEventLog.tcpStates.count ? CTEventLog.tcpStates[Int(s)] : nil,
                                  status: status, mark: mark, timeout: timeout, zone: zone, helper: helper, acct: acct, seq: seq))
        }
        guard events.count <= CTEventLog.capacity else { return nil }
        self.init()
        self.events = events
        self.delivered = delivered
    }
}
