/// Every piece of SQL a query over trace packs is made of (migration 12), as `TraceSQL` is for
/// the traces table: literals only; what a request says is bound.
enum PackSQL: String {
    case selectPacks = "SELECT p.first_id, p.last_id, p.stack_id, p.rows FROM trace_packs p WHERE 1"
    /// Without the rows, for a query that orders packs (a sort would carry every blob).
    case selectPackBounds = "SELECT p.first_id, p.last_id, p.stack_id FROM trace_packs p WHERE 1"
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
    /// A key condition (`PackKey`): a pack holding a value of a kind (or of either of two
    /// kinds), checked per pack when many packs hold it, or its packs listed from the keys'
    /// index when few do (the probe counts up to 256 key rows).
    case keyExists = " AND EXISTS (SELECT 1 FROM trace_pack_keys k WHERE k.pack = p.first_id"
    case keyIn = " AND p.first_id IN (SELECT k.pack FROM trace_pack_keys k WHERE 1"
    case keyProbe = "SELECT COUNT(*) FROM (SELECT 1 FROM trace_pack_keys k WHERE 1"
    case kind = " AND k.kind = ?"
    case kinds = " AND k.kind IN (?, ?)"
    case value = " AND k.value = ?"
    /// A rule named without its family: any of the six.
    case values6 = " AND k.value IN (?, ?, ?, ?, ?, ?)"
    /// A network in a range (the address filters).
    case valueRange = " AND k.value BETWEEN ? AND ?"
    case close = ")"
    case probeClose = " LIMIT 256)"
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

/// One condition on a pack's keys: a value (or one of six, or a range) of one kind or either of two.
struct PackKey {
    /// Fewer key rows than this (the probe's LIMIT) make a condition sparse.
    static let sparseBelow = 256

    var kinds: [TracePack.Key]
    var values: [Statement.Value]
    var range = false

    /// Appends the condition, in the form `sparse` says suits.
    func add(to q: inout TraceQueryText, sparse: Bool) {
        q.pack(sparse ? .keyIn : .keyExists)
        body(&q)
        q.pack(.close)
    }

    /// The query counting (up to 256) the key rows that match.
    var probe: TraceQueryText {
        var q = TraceQueryText()
        q.pack(.keyProbe)
        body(&q)
        q.pack(.probeClose)
        return q
    }

    private func body(_ q: inout TraceQueryText) {
        if kinds.count == 2 { q.pack(.kinds, .int(kinds[0].rawValue), .int(kinds[1].rawValue)) } else { q.pack(.kind, .int(kinds[0].rawValue)) }
        if range {
            q.pack(.valueRange, values[0], values[1])
        } else if values.count == 6 {
            q.pack(.values6, values[0], values[1], values[2], values[3], values[4], values[5])
        } else {
            q.pack(.value, values[0])
        }
    }
}

extension TraceFilter {
    /// The conditions on pack keys this filter puts (each row of a pack found is still tested exactly).
    var packKeys: [PackKey] {
        var out: [PackKey] = []
        if let v = outcome { out.append(PackKey(kinds: [.outcome], values: [.text(v)])) }
        if let v = dropReason { out.append(PackKey(kinds: [.dropReason], values: [.text(v)])) }
        if let v = device { out.append(PackKey(kinds: [.device], values: [.text(v)])) }
        if let v = lastStage { out.append(PackKey(kinds: [.lastStage], values: [.text(v)])) }
        if let v = proto { out.append(PackKey(kinds: [.proto], values: [.int(v)])) }
        if let r = addr { let (lo, hi) = r.networks; out.append(PackKey(kinds: [.srcNet, .dstNet], values: [.blob(lo), .blob(hi)], range: true)) }
        if let r = src { let (lo, hi) = r.networks; out.append(PackKey(kinds: [.srcNet], values: [.blob(lo), .blob(hi)], range: true)) }
        if let r = dst { let (lo, hi) = r.networks; out.append(PackKey(kinds: [.dstNet], values: [.blob(lo), .blob(hi)], range: true)) }
        if let v = dport { out.append(PackKey(kinds: [.dport, .natDport], values: [.int(v)])) }
        if let t = table, let c = chain, handle != nil || policy {
            let families = family.map { [$0] } ?? ["ip", "ip6", "inet", "arp", "bridge", "netdev"]
            out.append(PackKey(kinds: [.rule], values: families.map { .text(TracePack.ruleKey(family: $0, table: t, chain: c, handle: handle)) }))
        } else if let h = hook {
            out.append(PackKey(kinds: [.hook], values: [.text(h)]))
        }
        return out
    }

    /// What prunes packs for this filter: the columns of `trace_packs`, and the keys (`sparse`
    /// tells, per key condition, whether few packs hold it).
    func packConditions(into q: inout TraceQueryText, stackID: Int64?, sparse: [Bool]) {
        if let v = stackID { q.pack(.stack, .int(v)) }
        if let n = stage { q.pack(n < 64 ? .stageLo : .stageHi, .int(Int64(bitPattern: 1 << UInt64(n % 64)))) }
        if let v = startFrom { q.pack(.startFrom, .int(v)) }
        if let v = startTo { q.pack(.startTo, .int(v)) }
        if let v = wallFrom { q.pack(.wallFrom, .text(v)) }
        if let v = wallTo { q.pack(.wallTo, .text(v)) }
        for (k, key) in packKeys.enumerated() { key.add(to: &q, sparse: k < sparse.count && sparse[k]) }
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
