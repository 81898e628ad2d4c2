import NFTables
import Wire

/// A connection's identity in one direction (`struct nf_conntrack_tuple`).
/// The addresses are kept as 64-bit halves: a UInt128 field aligns the tuple to 16 bytes and
/// pads it from 38 to 64, and a table holds two tuples per connection.
struct CTTuple: Hashable {
    private var srcLo: UInt64, srcHi: UInt64, dstLo: UInt64, dstHi: UInt64
    /// Ports for TCP/UDP; for ICMP and ICMPv6, sport holds the echo id and dport the type.
    var sport: UInt16, dport: UInt16
    var proto: UInt8
    var v6 = false
    /// The zone id this direction's tuple is kept under (`nf_ct_zone_id`; 0 without zones): the
    /// same tuple in two zones is two connections. Fits the tuple's padding (40 bytes either way).
    var zone: UInt16 = 0
    init(proto: UInt8, src: UInt128, dst: UInt128, sport: UInt16, dport: UInt16, v6: Bool = false, zone: UInt16 = 0) {
        srcLo = UInt64(truncatingIfNeeded: src); srcHi = UInt64(truncatingIfNeeded: src >> 64)
        dstLo = UInt64(truncatingIfNeeded: dst); dstHi = UInt64(truncatingIfNeeded: dst >> 64)
        self.proto = proto; self.sport = sport; self.dport = dport; self.v6 = v6; self.zone = zone
    }
    /// Addresses: an IPv4 one in the low 32 bits, or an IPv6 one (`v6`).
    var src: UInt128 {
        get { UInt128(srcHi) << 64 | UInt128(srcLo) }
        set { srcLo = UInt64(truncatingIfNeeded: newValue); srcHi = UInt64(truncatingIfNeeded: newValue >> 64) }
    }
    var dst: UInt128 {
        get { UInt128(dstHi) << 64 | UInt128(dstLo) }
        set { dstLo = UInt64(truncatingIfNeeded: newValue); dstHi = UInt64(truncatingIfNeeded: newValue >> 64) }
    }
    /// The conntrack index's hash (the kernel's is jhash with a boot-time seed; this one is fixed,
    /// so runs repeat).
    var tableHash: UInt64 {
        var h = srcLo &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ srcHi ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ dstLo ^ (h >> 32)) &* 0x94D0_49BB_1331_11EB
        h = (h ^ dstHi ^ (h >> 29)) &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(sport) << 24 | UInt64(dport) << 8 | UInt64(proto) | (v6 ? 1 << 40 : 0) | UInt64(zone) << 41
        h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 30)
    }
    init(proto: UInt8, src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16) {
        self.init(proto: proto, src: UInt128(src), dst: UInt128(dst), sport: sport, dport: dport)
    }
    var src4: UInt32 { UInt32(truncatingIfNeeded: src) }
    var dst4: UInt32 { UInt32(truncatingIfNeeded: dst) }
    /// TCP and UDP: the tuples NAT gives new ports (ICMP ids are left as they are).
    var hasPorts: Bool { proto == IPProtocol.tcp || proto == IPProtocol.udp }
    /// The source half (`same_src`): protocol, address and port.
    var sourceKey: CTTuple { CTTuple(proto: proto, src: src, dst: 0, sport: sport, dport: 0, v6: v6, zone: zone) }
    /// The reply direction (`nf_ct_invert_tuple`; an echo request's reply is an echo reply), kept
    /// under zone id `zone`.
    func inverted(zone: UInt16) -> CTTuple {
        if proto == IPProtocol.icmp {
            return CTTuple(proto: proto, src: dst, dst: src, sport: sport, dport: dport == 8 ? 0 : dport == 0 ? 8 : dport, zone: zone)
        }
        if proto == IPProtocol.icmpv6 {
            return CTTuple(proto: proto, src: dst, dst: src, sport: sport, dport: dport == 128 ? 129 : dport == 129 ? 128 : dport, v6: v6, zone: zone)
        }
        return CTTuple(proto: proto, src: dst, dst: src, sport: dport, dport: sport, v6: v6, zone: zone)
    }
}

/// A conntrack zone (`struct nf_conntrack_zone`): its id and the directions it applies to
/// (NF_CT_ZONE_DIR_ORIG 1, NF_CT_ZONE_DIR_REPL 2; both unless `ct original|reply zone set`).
struct CTZone: Equatable {
    var id: UInt16 = 0
    var dir: UInt8 = 3
    /// `nf_ct_zone_id`: the id a direction's tuple is kept under.
    func id(reply: Bool) -> UInt16 { dir & (reply ? 2 : 1) != 0 ? id : 0 }
}

/// TCP conntrack states (nf_conntrack_proto_tcp.c), printed as `conntrack -L` prints them.
enum TCPCTState: String { case SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE }

/// IPS_* status bits.
enum IPS {
    /// IPS_EXPECTED: made from an expectation (a helper's or `ct expectation set`'s).
    static let expected: UInt32 = 1
    static let seenReply: UInt32 = 2, assured: UInt32 = 4, confirmed: UInt32 = 8, srcNAT: UInt32 = 16, dstNAT: UInt32 = 32
    /// The NAT of that kind was decided (a binding, or none): the nat chains are not asked again.
    static let srcNATDone: UInt32 = 0x80, dstNATDone: UInt32 = 0x100
}

/// `struct nf_conn`.
public final class Conn {
    var orig: CTTuple
    var reply: CTTuple
    // Fields in this order, the small ones in one 8-byte word: an instance of 152 bytes is a
    // 160-byte malloc chunk (with the small ones apart it was 160, a 176-byte chunk: 16 MB a
    // million connections).
    var status: UInt32 = 0
    var mark: UInt32 = 0
    /// IPCT_* events this packet caused, not yet delivered, and the ones the entry reports
    /// (`ct event set`; all by default: a listener is always there).
    var eventCache: UInt16 = 0
    var eventMask: UInt16 = .max
    /// The zone it was made in (from the packet's template, `ct zone set`).
    var zone = CTZone()
    var tcp: TCPCTState?
    /// In the table (set by insert, cleared by remove).
    var confirmedInTable = false
    var expires: UInt64 = 0
    var created: UInt64 = 0
    /// Position in insertion order (set by ConntrackTable.insert).
    var seq: UInt64 = 0
    /// NAT bindings and labels live apart, as the kernel's ct extensions: most connections have
    /// none, and two inline bindings cost 64 bytes each.
    private var ext: ConnExtensions?
    /// NAT decided on the first packet: new source (SNAT) and destination (DNAT) of the original direction.
    var snat: (addr: UInt128, port: UInt16)? {
        get { ext?.snat }
        set { if newValue != nil || ext != nil { extensions().snat = newValue } }
    }
    var dnat: (addr: UInt128, port: UInt16)? {
        get { ext?.dnat }
        set { if newValue != nil || ext != nil { extensions().dnat = newValue } }
    }
    /// Conntrack labels (`ct label set N`: bit N of 128; nf_conn_labels).
    var labels: UInt128 {
        get { ext?.labels ?? 0 }
        set { if newValue != 0 || ext != nil { extensions().labels = newValue } }
    }
    /// The helper extension (nf_conn_help): the helper attached, expectations it holds, and the
    /// ftp helper's line positions.
    var help: CTHelp? {
        get { ext?.help }
        set { if newValue != nil || ext != nil { extensions().help = newValue } }
    }
    /// The connection whose expectation this one was made from (`ct->master`).
    var master: Conn? {
        get { ext?.master }
        set { if newValue != nil || ext != nil { extensions().master = newValue } }
    }
    /// nf_conn_seqadj per direction, once a helper changed a line's length.
    var seqAdjust: [SeqAdjust]? {
        get { ext?.seqAdjust }
        set { if newValue != nil || ext != nil { extensions().seqAdjust = newValue } }
    }
    /// The synproxy extension of a connection synproxy opened (nf_conn_synproxy).
    var synproxy: ConnSynproxy? {
        get { ext?.synproxy }
        set { if newValue != nil || ext != nil { extensions().synproxy = newValue } }
    }
    /// A `ct timeout` object's policy (nf_conn_timeout): seconds per state, in the protocol's order.
    var timeoutPolicy: [UInt32]? {
        get { ext?.timeouts }
        set { if newValue != nil || ext != nil { extensions().timeouts = newValue } }
    }
    /// nf_conn_acct, for connections made while accounting was on.
    var acct: CTAcct? {
        get { ext?.acct }
        set { if newValue != nil || ext != nil { extensions().acct = newValue } }
    }
    private func extensions() -> ConnExtensions {
        if let ext { return ext }
        let e = ConnExtensions()
        ext = e
        return e
    }
    init(orig: CTTuple, zone: CTZone = CTZone()) {
        self.orig = orig
        self.orig.zone = zone.id(reply: false)
        reply = orig.inverted(zone: zone.id(reply: true))
        self.zone = zone
    }
}

final class ConnExtensions {
    var snat: (addr: UInt128, port: UInt16)?
    var dnat: (addr: UInt128, port: UInt16)?
    var labels: UInt128 = 0
    var help: CTHelp?
    var master: Conn?
    var timeouts: [UInt32]?
    var seqAdjust: [SeqAdjust]?
    var synproxy: ConnSynproxy?
    var acct: CTAcct?
}

/// `struct nf_conn_acct`: packets and bytes (skb->len from the network header) each way.
struct CTAcct: Equatable {
    var packets: (original: UInt64, reply: UInt64) = (0, 0)
    var bytes: (original: UInt64, reply: UInt64) = (0, 0)
    static func == (a: CTAcct, b: CTAcct) -> Bool { a.packets == b.packets && a.bytes == b.bytes }
    /// `nft_ct_get_eval_counter`: one direction's, or (`dir` nil) both summed.
    func packets(_ reply: Bool?) -> UInt64 { reply.map { $0 ? packets.reply : packets.original } ?? packets.original &+ packets.reply }
    func bytes(_ reply: Bool?) -> UInt64 { reply.map { $0 ? bytes.reply : bytes.original } ?? bytes.original &+ bytes.reply }
}

/// `struct nf_conn_help`: the helper (by name; nil for `ct expectation set`'s bare extension),
/// how many expectations the connection holds, and nf_ct_ftp_master's positions after a newline
/// per direction (NUM_SEQ_TO_REMEMBER of them).
final class CTHelp {
    var helper: String?
    var expecting = 0
    var seqAfterNewline: [[UInt32]] = [[], []]
    init(helper: String?) { self.helper = helper }
}

/// `enum ip_conntrack_info` folded with nft's ct state bits.
enum CTInfo: Equatable {
    /// `related`: IP_CT_RELATED, an expected connection or an ICMP error in the original
    /// direction; `relatedReply`: IP_CT_RELATED_REPLY, an ICMP error in the reply direction.
    case invalid, new, established, related, relatedReply, reply, untracked
    var stateBit: UInt64 {
        switch self {
        case .invalid: 1
        case .established, .reply: 2
        case .related, .relatedReply: 4
        case .new: 8
        case .untracked: 64
        }
    }
}

/// The conntrack table: confirmed connections by tuple, both directions (`nf_conntrack_hash`).
/// An open-addressing index of connection references with a direction bit, 9 bytes a slot at
/// most half full: a Dictionary keyed by tuples took 80 bytes a slot, two slots a connection,
/// plus a second dictionary to iterate. A class, so a lookup does not copy the table.
final class ConntrackTable {
    private var slots: [Conn?] = []
    /// 1: the slot holds the connection's reply tuple.
    private var replyBit: [UInt8] = []
    private(set) var count = 0
    /// Source-NATed connections by original source (`nf_nat_bysource`), oldest first.
    var bySource: [CTTuple: [Conn]] = [:]
    /// Insertion sequence, so early_drop can find the oldest entry.
    private var nextSeq: UInt64 = 0

    @inline(__always) private func tuple(_ i: Int) -> CTTuple { replyBit[i] == 1 ? slots[i]!.reply : slots[i]!.orig }

    /// The connection with tuple `t` and whether `t` is its reply direction.
    func lookup(_ t: CTTuple) -> (Conn, Bool)? {
        let n = slots.count
        guard n > 0 else { return nil }
        var i = Int(truncatingIfNeeded: t.tableHash) & (n - 1)
        while let c = slots[i] {
            let reply = replyBit[i] == 1
            if (reply ? c.reply : c.orig) == t { return (c, reply) }
            i = (i + 1) & (n - 1)
        }
        return nil
    }

    func insert(_ c: Conn) {
        // A tuple already taken (the dictionary this replaced overwrote it): the newer wins.
        if let (old, _) = lookup(c.orig), old !== c { remove(old) }
        if let (old, _) = lookup(c.reply), old !== c { remove(old) }
        if (2 * count + 2) * 2 > slots.count { grow() }
        place(c, reply: false)
        place(c, reply: true)
        c.seq = nextSeq
        nextSeq &+= 1
        c.confirmedInTable = true
        count += 1
        if c.snat != nil { bySource[c.orig.sourceKey, default: []].append(c) }
    }

    private func place(_ c: Conn, reply: Bool) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: (reply ? c.reply : c.orig).tableHash) & mask
        while slots[i] != nil { i = (i + 1) & mask }
        slots[i] = c
        replyBit[i] = reply ? 1 : 0
    }

    func remove(_ c: Conn) {
        guard c.confirmedInTable else { return }
        unplace(c, reply: false)
        unplace(c, reply: true)
        c.confirmedInTable = false
        count -= 1
        if c.snat != nil {
            bySource[c.orig.sourceKey]?.removeAll { $0 === c }
            if bySource[c.orig.sourceKey]?.isEmpty == true { bySource[c.orig.sourceKey] = nil }
        }
    }

    /// Backward-shift deletion: later entries of the probe run move up into the hole.
    private func unplace(_ c: Conn, reply: Bool) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: (reply ? c.reply : c.orig).tableHash) & mask
        while let s = slots[i], !(s === c && (replyBit[i] == 1) == reply) { i = (i + 1) & mask }
        guard slots[i] != nil else { return }
        var j = i
        while true {
            j = (j + 1) & mask
            guard slots[j] != nil else { break }
            if mayFillHole(i, from: j, home: Int(truncatingIfNeeded: tuple(j).tableHash) & mask) {
                slots[i] = slots[j]; replyBit[i] = replyBit[j]; i = j
            }
        }
        slots[i] = nil
        replyBit[i] = 0
    }

    private func grow() {
        let old = all
        let n = max(64, slots.count * 2)
        slots = Array(repeating: nil, count: n)
        replyBit = Array(repeating: 0, count: n)
        for c in old {
            place(c, reply: false)
            place(c, reply: true)
        }
    }

    /// Every connection once, in no particular order.
    var all: [Conn] { slots.indices.compactMap { replyBit[$0] == 0 ? slots[$0] : nil } }

    /// The oldest connection never assured: the one `early_drop` evicts when the table is full.
    var oldestUnassured: Conn? {
        // Over the slots in place: `all` would copy every connection out for each early drop.
        var oldest: Conn? = nil
        for i in slots.indices where replyBit[i] == 0 {
            guard let c = slots[i], c.status & IPS.assured == 0 else { continue }
            if oldest.map({ c.seq < $0.seq }) ?? true { oldest = c }
        }
        return oldest
    }
}

// net/netfilter/nf_conntrack_core.c, nf_conntrack_proto_{tcp,udp,icmp}.c
extension Stack {
    static let tcpTimeouts: [TCPCTState: UInt64] = [.SYN_SENT: 120, .SYN_RECV: 60, .ESTABLISHED: 432_000, .FIN_WAIT: 120,
                                                     .CLOSE_WAIT: 60, .LAST_ACK: 30, .TIME_WAIT: 120, .CLOSE: 10]

    /// The tuple of a packet and whether it is an ICMP error quoting another flow (whose tuple is given).
    func ctTuple(_ skb: SkBuff) -> (tuple: CTTuple, quoted: CTTuple?)? {
        if skb.protocolType == EtherType.ipv6 { return ctTuple6(skb) }
        let b = skb.data, nh = skb.networkHeader
        let ihl = Int(b[nh] & 0x0f) * 4, th = nh + ihl
        let proto = b[nh + 9]
        let src = b.be32(nh + 12), dst = b.be32(nh + 16)
        switch proto {
        case IPProtocol.tcp, IPProtocol.udp:
            guard skb.len >= th + 4 else { return nil }
            return (CTTuple(proto: proto, src: src, dst: dst, sport: b.be16(th), dport: b.be16(th + 2)), nil)
        case IPProtocol.icmp:
            guard skb.len >= th + 8 else { return nil }
            let type = b[th]
            if type == 8 || type == 0 {
                return (CTTuple(proto: proto, src: src, dst: dst, sport: b.be16(th + 4), dport: UInt16(type)), nil)
            }
            if [3, 4, 5, 11, 12].contains(type), skb.len >= th + 8 + 20 + 4 {
                let inh = th + 8
                let iihl = Int(b[inh] & 0x0f) * 4
                let ip = b[inh + 9]
                var inner = CTTuple(proto: ip, src: b.be32(inh + 12), dst: b.be32(inh + 16), sport: 0, dport: 0)
                if (ip == IPProtocol.tcp || ip == IPProtocol.udp) && skb.len >= inh + iihl + 4 {
                    inner.sport = b.be16(inh + iihl); inner.dport = b.be16(inh + iihl + 2)
                } else if ip == IPProtocol.icmp && skb.len >= inh + iihl + 8 {
                    inner.sport = b.be16(inh + iihl + 4); inner.dport = UInt16(b[inh + iihl])
                }
                return (CTTuple(proto: proto, src: src, dst: dst, sport: 0, dport: UInt16(type)), inner)
            }
            return (CTTuple(proto: proto, src: src, dst: dst, sport: 0, dport: UInt16(type)), nil)
        default:
            return (CTTuple(proto: proto, src: src, dst: dst, sport: 0, dport: 0), nil)
        }
    }

    /// The IPv6 tuple (nf_conntrack_l3proto_ipv6, nf_conntrack_proto_icmpv6): past the extension
    /// headers; an ICMPv6 error quotes the IPv6 packet it is about.
    private func ctTuple6(_ skb: SkBuff) -> (tuple: CTTuple, quoted: CTTuple?)? {
        let b = skb.data, nh = skb.networkHeader
        guard let l4 = ipv6_skip_exthdr(b, from: nh, end: skb.len) else { return nil }
        let src = IPv6Address(array: b, at: nh + 8).raw, dst = IPv6Address(array: b, at: nh + 24).raw
        let th = l4.offset
        switch l4.proto {
        case IPProtocol.tcp, IPProtocol.udp:
            guard skb.len >= th + 4 else { return nil }
            return (CTTuple(proto: l4.proto, src: src, dst: dst, sport: b.be16(th), dport: b.be16(th + 2), v6: true), nil)
        case IPProtocol.icmpv6:
            guard skb.len >= th + 8 else { return nil }
            let type = b[th]
            if type < 128, skb.len >= th + 8 + 40, let inner = ipv6_skip_exthdr(b, from: th + 8, end: skb.len) {
                let inh = th + 8, ith = inner.offset
                var q = CTTuple(proto: inner.proto, src: IPv6Address(array: b, at: inh + 8).raw, dst: IPv6Address(array: b, at: inh + 24).raw,
                                sport: 0, dport: 0, v6: true)
                if (inner.proto == IPProtocol.tcp || inner.proto == IPProtocol.udp) && skb.len >= ith + 4 {
                    q.sport = b.be16(ith); q.dport = b.be16(ith + 2)
                } else if inner.proto == IPProtocol.icmpv6 && skb.len >= ith + 8 {
                    q.sport = b.be16(ith + 4); q.dport = UInt16(b[ith])
                }
                return (CTTuple(proto: l4.proto, src: src, dst: dst, sport: 0, dport: UInt16(type), v6: true), q)
            }
            return (CTTuple(proto: l4.proto, src: src, dst: dst, sport: b.be16(th + 4), dport: UInt16(type), v6: true), nil)
        default:
            return (CTTuple(proto: l4.proto, src: src, dst: dst, sport: 0, dport: 0, v6: true), nil)
        }
    }

    /// `tcp_valid_flags`: the combinations a TCP segment may carry (ECE/CWR aside).
    static func tcpFlagsValid(_ f: UInt8) -> Bool {
        let v = f & 0x3f
        let ok: Set<UInt8> = [0x02, 0x12, 0x04, 0x14, 0x11, 0x19, 0x10, 0x18, 0x30, 0x38, 0x31, 0x39]
        return ok.contains(v)
    }

    /// `nf_conntrack_in`: find or create the connection, classify the packet (new, established,
    /// related, reply, invalid) and run the protocol's state tracking.
    @discardableResult
    func nf_conntrack_in(_ skb: SkBuff, hook: NFHook) -> Bool {
        guard skb.ctInfo != .untracked, skb.conn == nil else { return true }
        // A `ct zone set` template gives the zone the packet is looked up and tracked in.
        let zone = skb.ctTemplate ?? CTZone()
        skb.ctTemplate = nil
        // synproxy's template (snet->tmpl): a connection it makes gets the synproxy extension.
        let synproxyTemplate = skb.synproxyTemplate
        skb.synproxyTemplate = false
        guard let (tuple, quoted) = ctTuple(skb) else { skb.ctInfo = .invalid; return true }
        let now = clockNs
        if tuple.v6 && tuple.proto == IPProtocol.icmpv6 && quoted == nil {
            // nf_conntrack_icmpv6_error: MLD and neighbour discovery are never tracked (noct_valid_new).
            if [130, 131, 132, 133, 134, 135, 136, 143].contains(tuple.dport) { skb.ctInfo = .untracked; return true }
        }
        if let inner = quoted {
            // An ICMP error about a tracked flow is RELATED to it (icmp_error_message: the quoted
            // packet's tuple inverted finds the entry; its direction is the error's).
            if let (c, r) = lookupConn(inner.inverted(zone: 0), zone: zone, now: now, replyID: false) {
                skb.conn = c; skb.ctInfo = r ? .relatedReply : .related
            } else { skb.ctInfo = .invalid }
            return true
        }
        let th = get_l4proto(skb)?.offset ?? skb.len
        let tcpFlags: UInt8? = tuple.proto == IPProtocol.tcp && skb.len >= th + 14 ? skb.data[th + 13] : nil
        if let f = tcpFlags, !Stack.tcpFlagsValid(f) { skb.ctInfo = .invalid; return true }
        if let (c, isReply) = lookupConn(tuple, zone: zone, now: now) {
            if let f = tcpFlags {
                guard tcpTrack(c, flags: f, reply: isReply) else { skb.ctInfo = .invalid; return true }
                nf_ct_acct_update(c, reply: isReply, skb)
                // tcp_packet: a reset before any reply ends the entry at once (nf_ct_kill), its
                // timeout left as it was.
                if f & 0x04 != 0 && c.status & IPS.seenReply == 0 {
                    conntrack.remove(c)
                    nf_ct_destroy_event(c)
                    skb.conn = c
                    skb.ctInfo = isReply ? .reply : .new
                    return true
                }
            } else {
                nf_ct_acct_update(c, reply: isReply, skb)
            }
            if isReply && c.status & IPS.seenReply == 0 {
                c.status |= IPS.seenReply
                nf_conntrack_event_cache(IPCT.reply, c)
            }
            if tuple.proto == IPProtocol.udp {
                // udp_packet: a stream (replied, and still going after 2 s) is assured and lives 120 s.
                if c.status & IPS.seenReply != 0 && now >= c.created + 2_000_000_000 && c.status & IPS.assured == 0 {
                    c.status |= IPS.assured
                    nf_conntrack_event_cache(IPCT.assured, c)
                }
                c.expires = now + c.udpTimeout(replied: c.status & IPS.assured != 0) * 1_000_000_000
            }
            skb.conn = c
            // resolve_normal_ct: an expected connection's original direction is RELATED until a reply.
            skb.ctInfo = isReply ? .reply : (c.status & IPS.seenReply != 0 ? .established : c.status & IPS.expected != 0 ? .related : .new)
            return true
        }
        // icmpv6_new: only an echo request (or node information query) starts a connection.
        if tuple.v6 && tuple.proto == IPProtocol.icmpv6 && tuple.dport != 128 && tuple.dport != 139 { skb.ctInfo = .invalid; return true }
        // Table full: evict the oldest connection never assured (early_drop), else drop the packet.
        if conntrack.count >= conntrackMax {
            guard let victim = conntrack.oldestUnassured else {
                conntrackFullDrops += 1
                return false
            }
            conntrack.remove(victim)
            nf_ct_destroy_event(victim)
            conntrackEarlyDrops += 1
        }
        // A new connection (unconfirmed until the packet survives its hooks).
        let c = Conn(orig: tuple, zone: zone)
        c.created = now
        if conntrackAcct { c.acct = CTAcct() }
        if synproxyTemplate { c.synproxy = ConnSynproxy() }
        // init_conntrack: an expectation it fulfils makes it RELATED to the expecting connection.
        let expected = ctExpectations.isEmpty ? nil : nf_ct_find_expectation(c.orig, now: now)
        if let f = tcpFlags {
            let syn = f & 0x02 != 0, ack = f & 0x10 != 0, rst = f & 0x04 != 0, fin = f & 0x01 != 0
            if syn && !ack { c.tcp = .SYN_SENT }
            else if ack && !syn && !rst && !fin && conntrackTCPLoose { c.tcp = .ESTABLISHED }
            else { skb.ctInfo = .invalid; return true }
            c.expires = now + Stack.tcpTimeouts[c.tcp!]! * 1_000_000_000
            nf_conntrack_event_cache(IPCT.protoinfo, c)
        } else {
            c.expires = now + 30 * 1_000_000_000
        }
        if let e = expected {
            c.status |= IPS.expected
            c.master = e.master
            c.mark = e.master.mark
            if let dir = e.natDir { nf_nat_follow_master(c, e.master, dir: dir, port: e.savedPort) }
        }
        nf_ct_acct_update(c, reply: false, skb)
        skb.conn = c
        skb.ctInfo = expected == nil ? .new : .related
        return true
    }

    /// `nf_ct_acct_update` (from the protocol's nf_ct_refresh_acct, or nf_ct_kill_acct): a packet
    /// the tracker took counts in its direction, skb->len from the network header.
    private func nf_ct_acct_update(_ c: Conn, reply: Bool, _ skb: SkBuff) {
        guard var a = c.acct else { return }
        let len = UInt64(skb.len - skb.networkHeader)
        if reply { a.packets.reply += 1; a.bytes.reply += len } else { a.packets.original += 1; a.bytes.original += len }
        c.acct = a
    }

    /// `resolve_normal_ct`'s lookup: the tuple under the zone's original-direction id, then under
    /// its reply-direction id; a hit counts only where the entry's id for the direction it was
    /// found in is the packet zone's (`nf_ct_zone_equal`). An ICMP error's quoted tuple is looked
    /// up under the first id alone (`nf_conntrack_find_get`).
    private func lookupConn(_ t: CTTuple, zone: CTZone, now: UInt64, replyID: Bool = true) -> (Conn, Bool)? {
        var key = t
        key.zone = zone.id(reply: false)
        var hit = conntrack.lookup(key)
        if let (_, r) = hit, r, zone.id(reply: true) != key.zone { hit = nil }
        if hit == nil, replyID, zone.id(reply: true) != key.zone {
            key.zone = zone.id(reply: true)
            hit = conntrack.lookup(key)
            if let (_, r) = hit, !r { hit = nil }
        }
        guard let (c, r) = hit else { return nil }
        if c.expires <= now {
            conntrack.remove(c)
            nf_ct_destroy_event(c)
            return nil
        }
        return (c, r)
    }

    /// `tcp_conntracks` for the handshake, teardown and resets (no window tracking): false for a
    /// segment the state does not allow (invalid).
    private func tcpTrack(_ c: Conn, flags f: UInt8, reply: Bool) -> Bool {
        let syn = f & 0x02 != 0, ack = f & 0x10 != 0, rst = f & 0x04 != 0, fin = f & 0x01 != 0
        guard var st = c.tcp else { return true }
        let old = st
        if rst { st = .CLOSE }
        else if syn && ack {
            guard reply, st == .SYN_SENT || st == .SYN_RECV else { return st != .SYN_SENT }
            st = .SYN_RECV
        } else if syn {
            if reply { return false }
            if st != .SYN_SENT && st != .CLOSE && st != .TIME_WAIT { return true }
            st = .SYN_SENT
        } else if fin {
            // Either way: SR/ES -> FIN_WAIT, FW/CW -> LAST_ACK; a FIN before the SYN-ACK is invalid.
            switch st {
            case .SYN_SENT: return false
            case .SYN_RECV, .ESTABLISHED: st = .FIN_WAIT
            case .FIN_WAIT, .CLOSE_WAIT: st = .LAST_ACK
            default: break
            }
        } else if ack {
            // SR -> ES from the client (the server's own ACK leaves it), FW -> CLOSE_WAIT,
            // LAST_ACK -> TIME_WAIT; a lone ACK after a SYN is invalid from the client, ignored
            // from the server.
            switch st {
            case .SYN_SENT: return reply
            case .SYN_RECV: if !reply { st = .ESTABLISHED }
            case .FIN_WAIT: st = .CLOSE_WAIT
            case .LAST_ACK: st = .TIME_WAIT
            default: break
            }
        }
        // Assured: ESTABLISHED after SYN_RECV (or a picked-up connection) once a reply was seen.
        if st == .ESTABLISHED && (old == .SYN_RECV || old == .ESTABLISHED) && c.status & (IPS.seenReply | IPS.assured) == IPS.seenReply {
            c.status |= IPS.assured
            nf_conntrack_event_cache(IPCT.assured, c)
        }
        if st != c.tcp { nf_conntrack_event_cache(IPCT.protoinfo, c) }
        c.tcp = st
        // A reset before any reply kills the entry (the caller): its timeout is not renewed.
        if !(rst && c.status & IPS.seenReply == 0) { c.expires = clockNs + c.tcpTimeout(st) * 1_000_000_000 }
        return true
    }

    /// `__nf_conntrack_confirm`: a new connection whose first packet made it through is entered in the table.
    /// Only the original direction confirms: an expected connection's first packet (RELATED), not
    /// an ICMP error about an entry still unconfirmed (IP_CT_RELATED_REPLY).
    func nf_conntrack_confirm(_ skb: SkBuff) -> PathEnd? {
        guard let c = skb.conn else { return nil }
        if c.status & IPS.confirmed == 0 {
            guard skb.ctInfo == .new || isExpectedOriginal(skb, c) else { return nil }
            if let winner = clashing(c) { return nf_ct_resolve_clash(skb, loser: c, winner: winner) }
            c.status |= IPS.confirmed
            conntrack.insert(c)
            nf_conntrack_event_cache(c.master != nil ? IPCT.related : IPCT.new, c)
        }
        if c.eventCache != 0 { nf_ct_deliver_cached_events(c) }
        return nil
    }

    /// `__nf_conntrack_confirm`'s search: a live confirmed entry that holds the new one's original
    /// or reply tuple (NAT mapped two flows onto one tuple: a single-port DNAT, a used-up range).
    private func clashing(_ c: Conn) -> Conn? {
        let now = clockNs
        for t in [c.orig, c.reply] {
            if let (other, _) = conntrack.lookup(t), other !== c, other.expires > now { return other }
        }
        return nil
    }

    /// `nf_ct_resolve_clash`: only protocols that allow clashes (UDP, UDP-Lite, ICMP, ICMPv6) keep
    /// the packet. It joins the entry there when that one has no NAT or is the same flow
    /// (`__nf_ct_resolve_clash`); else a NATed loser whose reply tuple is free passes
    /// (`nf_ct_resolve_clash_harder`: the kernel hides it from listings for its one second, as the
    /// model does by leaving it out of the table). Otherwise: insert_failed, the packet dropped.
    private func nf_ct_resolve_clash(_ skb: SkBuff, loser c: Conn, winner: Conn) -> PathEnd? {
        if [IPProtocol.udp, 136 /* UDP-Lite */, IPProtocol.icmp, IPProtocol.icmpv6].contains(c.orig.proto) {
            if winner.status & (IPS.srcNATDone | IPS.dstNATDone) == 0 || (winner.orig == c.orig && winner.reply == c.reply) {
                if let la = c.acct, var wa = winner.acct {
                    wa.packets.original &+= la.packets.original; wa.bytes.original &+= la.bytes.original
                    winner.acct = wa
                }
                skb.conn = winner
                return nil
            }
            if c.status & (IPS.srcNATDone | IPS.dstNATDone) != 0, conntrack.lookup(c.reply).map({ $0.0.expires <= clockNs }) ?? true { return nil }
        }
        return drop(.NETFILTER_DROP, "conntrack: the connection's tuple is taken (insert_failed)")
    }

    /// `conntrack -L`, normalised as the oracle prints it (no timeouts, ids or use counts), sorted.
    /// The table as `conntrack -L` prints it (libnetfilter_conntrack's default format: protocol
    /// name padded to 8, number, seconds left, TCP state, both tuples, [UNREPLIED] and [ASSURED],
    /// mark and use), in insertion order; live entries only.
    public var conntrackListing: [String] { conntrackEntries.map(\.line) }

    public var conntrackEntries: [ConntrackEntry] {
        let now = clockNs
        return conntrack.all.filter { $0.expires > now }.sorted { $0.seq < $1.seq }.map { c in
            ConntrackEntry(protocol: [6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"][Int(c.orig.proto)] ?? "unknown", protonum: Int(c.orig.proto),
                           timeout: Int((c.expires - now) / 1_000_000_000), state: c.tcp?.rawValue,
                           original: ConntrackEntry.Tuple(c.orig), reply: ConntrackEntry.Tuple(c.reply),
                           unreplied: c.status & IPS.seenReply == 0, assured: c.status & IPS.assured != 0, mark: Int(c.mark), use: 1,
                           zone: ConntrackEntry.Zone(c.zone), helper: c.help?.helper, id: c.ctID).counting(c.acct)
        }
    }
}

/// One connection as `conntrack -L` shows it (and the API's JSON form).
public struct ConntrackEntry: Sendable, Equatable {
    public struct Tuple: Sendable, Equatable {
        public var src: String, dst: String
        /// Ports for TCP/UDP; type, code and id for ICMP.
        public var sport: Int?, dport: Int?
        public var type: Int?, code: Int?, id: Int?
        init(_ t: CTTuple) {
            src = t.v6 ? IPv6Address.text(t.src) : NFConstants.ipv4Text(t.src4); dst = t.v6 ? IPv6Address.text(t.dst) : NFConstants.ipv4Text(t.dst4)
            if t.proto == IPProtocol.icmp || t.proto == IPProtocol.icmpv6 { type = Int(t.dport); code = 0; id = Int(t.sport) }
            else if t.proto == IPProtocol.tcp || t.proto == IPProtocol.udp { sport = Int(t.sport); dport = Int(t.dport) }
        }
        /// The direction's counters, when the entry has accounting (nf_conn_acct).
        public var packets: UInt64?, bytes: UInt64?
        var text: String {
            var s = "src=\(src) dst=\(dst)"
            if let sport, let dport { s += " sport=\(sport) dport=\(dport)" }
            if let type, let code, let id { s += " type=\(type) code=\(code) id=\(id)" }
            return s
        }
        /// `packets=N bytes=M ` after the tuple (and its zone), as conntrack prints them; nothing
        /// without accounting.
        var counterText: String { packets.map { "packets=\($0) bytes=\(bytes ?? 0) " } ?? "" }
    }
    public var `protocol`: String
    public var protonum: Int
    /// Seconds until it expires (nf_ct_expires / HZ).
    public var timeout: Int
    public var state: String?
    public var original: Tuple, reply: Tuple
    public var unreplied: Bool, assured: Bool
    public var mark: Int, use: Int
    /// The zone, as ctnetlink gives it: both directions' (CTA_ZONE), or one direction's alone
    /// (CTA_TUPLE_ZONE in that tuple); none for zone 0.
    public enum Zone: Sendable, Equatable {
        case both(Int), original(Int), reply(Int)
        init?(_ z: CTZone) {
            guard z.id != 0 else { return nil }
            switch z.dir { case 1: self = .original(Int(z.id)); case 2: self = .reply(Int(z.id)); default: self = .both(Int(z.id)) }
        }
    }
    public var zone: Zone?
    /// The helper attached (`helper=ftp`), and the entry's id (`conntrack -o id`, `ct id`).
    public var helper: String? = nil
    public var id: UInt32 = 0

    /// The entry with its tuples' counters, if it has any.
    func counting(_ acct: CTAcct?) -> ConntrackEntry {
        guard let acct else { return self }
        var e = self
        (e.original.packets, e.original.bytes) = (acct.packets.original, acct.bytes.original)
        (e.reply.packets, e.reply.bytes) = (acct.packets.reply, acct.bytes.reply)
        return e
    }

    public var line: String {
        var s = `protocol`.padding(toLength: max(8, `protocol`.count), withPad: " ", startingAt: 0) + " \(protonum) \(timeout) "
        if let state { s += state + " " }
        s += original.text + " "
        if case .original(let z) = zone { s += "zone-orig=\(z) " }
        s += original.counterText
        if unreplied { s += "[UNREPLIED] " }
        s += reply.text + " "
        if case .reply(let z) = zone { s += "zone-reply=\(z) " }
        s += reply.counterText
        if assured { s += "[ASSURED] " }
        s += "mark=\(mark) "
        if case .both(let z) = zone { s += "zone=\(z) " }
        if let helper { s += "helper=\(helper) " }
        return s + "use=\(use)"
    }
}
