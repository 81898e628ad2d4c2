/// Every piece of SQL a query over trace packs is made of (migration 12), as `TraceSQL` is for
/// the traces table: literals only; what a request says is bound.
enum PackSQL: String {
    case selectPacks = "SELECT p.first_id, p.last_id, p.stack_id, p.rows FROM trace_packs p WHERE 1"
    case stack = " AND p.stack_id = ?"
    case firstBelow = " AND p.first_id < ?"
    case lastAbove = " AND p.last_id > ?"
    case firstAtMost = " AND p.first_id <= ?"
    case firstAbove = " AND p.first_id > ?"
    case startFrom = " AND p.start_max >= ?"
    case startTo = " AND p.start_min < ?"
    case wallFrom = " AND p.wall_max >= ?"
    case wallTo = " AND p.wall_min < ?"
    case stageLo = " AND (p.stages_lo & ?) != 0"
    case stageHi = " AND (p.stages_hi & ?) != 0"
    /// A pack holding a value of a kind (or of either of two kinds: a port before or after NAT).
    case key = " AND EXISTS (SELECT 1 FROM trace_pack_keys k WHERE k.pack = p.first_id AND k.kind = ? AND k.value = ?)"
    case keyEither = " AND EXISTS (SELECT 1 FROM trace_pack_keys k WHERE k.pack = p.first_id AND k.kind IN (?, ?) AND k.value = ?)"
    /// A network in a range (the address filters: either side is kinds 6 and 7).
    case keyRange = " AND EXISTS (SELECT 1 FROM trace_pack_keys k WHERE k.pack = p.first_id AND k.kind = ? AND k.value BETWEEN ? AND ?)"
    case keyRangeEither = " AND EXISTS (SELECT 1 FROM trace_pack_keys k WHERE k.pack = p.first_id AND k.kind IN (?, ?) AND k.value BETWEEN ? AND ?)"
    /// A rule named without its family: any of the six.
    case keyAnyOf6 = " AND EXISTS (SELECT 1 FROM trace_pack_keys k WHERE k.pack = p.first_id AND k.kind = ? AND k.value IN (?, ?, ?, ?, ?, ?))"
    case orderDown = " ORDER BY p.last_id DESC"
    case orderUp = " ORDER BY p.first_id"
    case limit = " LIMIT ?"

    /// Exact counts from the keys when nothing but the stack filters.
    case countKeys = "SELECT k.value, SUM(k.count) FROM trace_pack_keys k WHERE k.kind = ? GROUP BY k.value"
    case countKeysOfStack = "SELECT k.value, SUM(k.count) FROM trace_pack_keys k JOIN trace_packs p ON p.first_id = k.pack WHERE k.kind = ? AND p.stack_id = ? GROUP BY k.value"
    case countStacks = "SELECT p.stack_id, SUM(p.n) FROM trace_packs p WHERE 1"
    case groupStack = " GROUP BY p.stack_id"
}

extension TraceQueryText {
    mutating func pack(_ piece: PackSQL, _ v: Statement.Value...) {
        sql += piece.rawValue
        values += v
    }
}

extension TraceFilter {
    /// What prunes packs for this filter: the columns of `trace_packs` and the keys; each row of
    /// a pack found is still tested exactly (`matches`).
    func packConditions(into q: inout TraceQueryText, stackID: Int64?) {
        if let v = stackID { q.pack(.stack, .int(v)) }
        if let v = outcome { q.pack(.key, .int(TracePack.Key.outcome.rawValue), .text(v)) }
        if let v = dropReason { q.pack(.key, .int(TracePack.Key.dropReason.rawValue), .text(v)) }
        if let v = device { q.pack(.key, .int(TracePack.Key.device.rawValue), .text(v)) }
        if let v = lastStage { q.pack(.key, .int(TracePack.Key.lastStage.rawValue), .text(v)) }
        if let n = stage { q.pack(n < 64 ? .stageLo : .stageHi, .int(Int64(bitPattern: 1 << UInt64(n % 64)))) }
        if let v = startFrom { q.pack(.startFrom, .int(v)) }
        if let v = startTo { q.pack(.startTo, .int(v)) }
        if let v = wallFrom { q.pack(.wallFrom, .text(v)) }
        if let v = wallTo { q.pack(.wallTo, .text(v)) }
        if let v = proto { q.pack(.key, .int(TracePack.Key.proto.rawValue), .int(v)) }
        let src = TracePack.Key.srcNet.rawValue, dst = TracePack.Key.dstNet.rawValue
        if let r = addr { let (lo, hi) = r.networks; q.pack(.keyRangeEither, .int(src), .int(dst), .blob(lo), .blob(hi)) }
        if let r = self.src { let (lo, hi) = r.networks; q.pack(.keyRange, .int(src), .blob(lo), .blob(hi)) }
        if let r = self.dst { let (lo, hi) = r.networks; q.pack(.keyRange, .int(dst), .blob(lo), .blob(hi)) }
        if let v = dport { q.pack(.keyEither, .int(TracePack.Key.dport.rawValue), .int(TracePack.Key.natDport.rawValue), .int(v)) }
        if let t = table, let c = chain, handle != nil || policy {
            let kind = Statement.Value.int(TracePack.Key.rule.rawValue)
            if let f = family {
                q.pack(.key, kind, .text(TracePack.ruleKey(family: f, table: t, chain: c, handle: handle)))
            } else {
                let k = ["ip", "ip6", "inet", "arp", "bridge", "netdev"].map { Statement.Value.text(TracePack.ruleKey(family: $0, table: t, chain: c, handle: handle)) }
                q.pack(.keyAnyOf6, kind, k[0], k[1], k[2], k[3], k[4], k[5])
            }
        } else if let h = hook {
            q.pack(.key, .int(TracePack.Key.hook.rawValue), .text(h))
        }
        if let v = maxID { q.pack(.firstAtMost, .int(v)) }
    }
}

extension AddressRange {
    /// Bounds on the networks (`TracePack.network`) of the addresses in this range: exact within
    /// IPv4; otherwise loose (the /64s), which holds whatever mix of IPv4-mapped and IPv6 it spans.
    var networks: (lo: [UInt8], hi: [UInt8]) {
        if TracePack.isV4Mapped(lo) && TracePack.isV4Mapped(hi) { return (TracePack.network(lo), TracePack.network(hi)) }
        return (Array(lo.prefix(8)) + [UInt8](repeating: 0, count: 8), Array(hi.prefix(8)) + [UInt8](repeating: 0xff, count: 8))
    }
}
