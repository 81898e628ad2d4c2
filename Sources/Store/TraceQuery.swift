/// The columns a trace row is found by (migration 5), derived from the trace when it is stored.
public struct TraceIndex: Sendable, Equatable {
    public var startNs: Int64?
    public var endNs: Int64?
    public var length: Int64?
    public var lastStage: String?
    /// Bit n: the nth stage of the path's stage list was reached (n < 128).
    public var stagesLo: Int64 = 0
    public var stagesHi: Int64 = 0
    /// The 5-tuple as the packet arrived and as its path ended; addresses 16 bytes, most significant first.
    public var proto: Int64?
    public var saddr: [UInt8]?, daddr: [UInt8]?, sport: Int64?, dport: Int64?
    public var natSaddr: [UInt8]?, natDaddr: [UInt8]?, natSport: Int64?, natDport: Int64?
    public var rules: [TraceRuleHit] = []
    public init() {}
}

/// A rule (or a base chain's policy, handle nil) a trace hit.
public struct TraceRuleHit: Sendable, Equatable {
    public var hook: String, family: String, table: String, chain: String
    public var handle: Int64?
    public var verdict: String
    public init(hook: String, family: String, table: String, chain: String, handle: Int64?, verdict: String) {
        self.hook = hook; self.family = family; self.table = table; self.chain = chain; self.handle = handle; self.verdict = verdict
    }
}

/// Filters of `GET /v1/traces`, its aggregate and `DELETE`; nil means "any".
public struct TraceFilter: Sendable {
    public var stack: String?
    public var outcome: String?
    public var dropReason: String?
    public var device: String?
    public var lastStage: String?
    /// The index of a stage the packet reached.
    public var stage: Int?
    /// Virtual start time (ns) from (inclusive) and to (exclusive).
    public var startFrom: Int64?, startTo: Int64?
    /// Wall time of storage, RFC 3339 as stored, from (inclusive) and to (exclusive).
    public var wallFrom: String?, wallTo: String?
    public var proto: Int64?
    /// Address ranges (16-byte bounds): either side, the source or the destination, before or after NAT.
    public var addr: AddressRange?, src: AddressRange?, dst: AddressRange?
    /// Ports: either side, source or destination, before or after NAT.
    public var port: Int64?, sport: Int64?, dport: Int64?
    /// A rule hit: any of these set selects traces with a rule event matching all set.
    public var hook: String?, family: String?, table: String?, chain: String?, handle: Int64?
    /// A base chain's policy decided (rather than a rule).
    public var policy = false
    /// Return traces with an id above this one (the cursor); newest first, below it (0: from the newest).
    public var afterID: Int64
    /// At most this id (a delete stops at the last id handed out).
    public var maxID: Int64?
    public var limit: Int
    public var newestFirst = false
    public init(stack: String? = nil, outcome: String? = nil, dropReason: String? = nil, afterID: Int64 = 0, limit: Int = 100) {
        self.stack = stack; self.outcome = outcome; self.dropReason = dropReason; self.afterID = afterID; self.limit = limit
    }
}

/// Addresses from `lo` to `hi` inclusive, 16 bytes each (a CIDR or one address).
public struct AddressRange: Sendable, Equatable {
    public var lo: [UInt8], hi: [UInt8]
    public init(lo: [UInt8], hi: [UInt8]) { self.lo = lo; self.hi = hi }
}

/// What stored traces can be counted by: the SQL expression of each group is a literal.
public enum TraceAggregate: String, Sendable, CaseIterable {
    case dropReason = "drop_reason", outcome, device, stack
    case lastStage = "last_stage", proto, saddr, daddr, sport, dport
    case natSaddr = "nat_saddr", natDaddr = "nat_daddr", natSport = "nat_sport", natDport = "nat_dport"
    case rule, hook

    var expression: TraceSQL {
        switch self {
        case .dropReason: .groupDropReason
        case .outcome: .groupOutcome
        case .device: .groupDevice
        case .stack: .groupStack
        case .lastStage: .groupLastStage
        case .proto: .groupProto
        case .saddr: .groupSaddr
        case .daddr: .groupDaddr
        case .sport: .groupSport
        case .dport: .groupDport
        case .natSaddr: .groupNatSaddr
        case .natDaddr: .groupNatDaddr
        case .natSport: .groupNatSport
        case .natDport: .groupNatDport
        case .rule: .selectRuleGroup
        case .hook: .selectHookGroup
        }
    }
    /// Groups that come from the rules table (a trace counts once per rule it hit).
    var perRule: Bool { self == .rule || self == .hook }
    /// Groups whose values are addresses (16 bytes).
    public var isAddress: Bool { self == .saddr || self == .daddr || self == .natSaddr || self == .natDaddr }
}

/// A group's value as the store holds it.
public enum TraceValue: Sendable, Equatable, Hashable {
    case null, int(Int64), text(String), blob([UInt8])
}

/// Every piece of SQL a trace query is made of. Raw values of an enum are literals, so a query is
/// only ever these pieces in some order; what a request says is bound, never spliced.
enum TraceSQL: String {
    case selectRows = "SELECT t.id, t.stack_id, t.device, t.outcome, t.drop_reason, t.created_at, t.body, t.start_ns, t.end_ns, t.length, t.last_stage, t.proto, t.saddr, t.daddr, t.sport, t.dport, t.nat_saddr, t.nat_daddr, t.nat_sport, t.nat_dport, t.parts, t.indexed FROM traces t WHERE 1"
    case selectIDs = "SELECT t.id, t.stack_id FROM traces t WHERE 1"
    case selectGroup = "SELECT "
    case countFrom = ", COUNT(*) FROM traces t"
    /// Counts by rule or hook: from the rules table, joined to the traces only when a filter needs them.
    case selectRuleGroup = "SELECT g.family, g.tbl, g.chain, g.handle, COUNT(*) FROM trace_rules g"
    case selectHookGroup = "SELECT g.hook, COUNT(*) FROM trace_rules g"
    case joinTraces = " JOIN traces t ON t.id = g.trace_id"
    case whereAll = " WHERE 1"
    case groupBy = " GROUP BY 1"
    case groupBy4 = " GROUP BY 1, 2, 3, 4"
    /// How many rule events a filter's rule conditions select, up to a bound (which query shape suits).
    case probeRules = "SELECT COUNT(*) FROM (SELECT 1 FROM trace_rules r WHERE 1"
    case probeEnd = " LIMIT 5000)"

    case afterID = " AND t.id > ?"
    case beforeID = " AND t.id < ?"
    case maxID = " AND t.id <= ?"
    case stack = " AND t.stack_id = ?"
    case outcome = " AND t.outcome = ?"
    case dropReason = " AND t.drop_reason = ?"
    case device = " AND t.device = ?"
    case lastStage = " AND t.last_stage = ?"
    case stageLo = " AND (t.stages_lo & ?) != 0"
    case stageHi = " AND (t.stages_hi & ?) != 0"
    case startFrom = " AND t.start_ns >= ?"
    case startTo = " AND t.start_ns < ?"
    case wallFrom = " AND t.created_at >= ?"
    case wallTo = " AND t.created_at < ?"
    case proto = " AND t.proto = ?"
    case addr = " AND (t.saddr BETWEEN ? AND ? OR t.daddr BETWEEN ? AND ? OR t.nat_saddr BETWEEN ? AND ? OR t.nat_daddr BETWEEN ? AND ?)"
    case src = " AND (t.saddr BETWEEN ? AND ? OR t.nat_saddr BETWEEN ? AND ?)"
    case dst = " AND (t.daddr BETWEEN ? AND ? OR t.nat_daddr BETWEEN ? AND ?)"
    /// The same for addresses few traces carry: their traces by id through the address indexes.
    case addrIn = " AND t.id IN (SELECT id FROM traces WHERE saddr BETWEEN ? AND ? UNION ALL SELECT id FROM traces WHERE daddr BETWEEN ? AND ? UNION ALL SELECT id FROM traces WHERE nat_saddr BETWEEN ? AND ? UNION ALL SELECT id FROM traces WHERE nat_daddr BETWEEN ? AND ?)"
    case srcIn = " AND t.id IN (SELECT id FROM traces WHERE saddr BETWEEN ? AND ? UNION ALL SELECT id FROM traces WHERE nat_saddr BETWEEN ? AND ?)"
    case dstIn = " AND t.id IN (SELECT id FROM traces WHERE daddr BETWEEN ? AND ? UNION ALL SELECT id FROM traces WHERE nat_daddr BETWEEN ? AND ?)"
    case probeSaddr = "SELECT COUNT(*) FROM (SELECT 1 FROM traces WHERE saddr BETWEEN ? AND ? LIMIT 5000)"
    case probeDaddr = "SELECT COUNT(*) FROM (SELECT 1 FROM traces WHERE daddr BETWEEN ? AND ? LIMIT 5000)"
    case port = " AND (t.sport = ? OR t.dport = ? OR t.nat_sport = ? OR t.nat_dport = ?)"
    case sport = " AND (t.sport = ? OR t.nat_sport = ?)"
    case dport = " AND (t.dport = ? OR t.nat_dport = ?)"
    /// A port many traces carry: walk the ids (unary + keeps SQLite off the index, whose sampled
    /// statistics make every port look rare: 67 ms instead of 1.5 for a port in 1 of 12 traces).
    case dportScan = " AND (+t.dport = ? OR +t.nat_dport = ?)"
    case probeDport = "SELECT COUNT(*) FROM (SELECT 1 FROM traces WHERE dport = ? LIMIT 5000)"
    /// Rule conditions that select few rule events: their traces by id. Many: each trace checked
    /// (newest first, a page stops early).
    case ruleOpen = " AND t.id IN (SELECT r.trace_id FROM trace_rules r WHERE 1"
    case ruleExists = " AND EXISTS (SELECT 1 FROM trace_rules r WHERE r.trace_id = t.id"
    case ruleHook = " AND r.hook = ?"
    case ruleFamily = " AND r.family = ?"
    /// A table named without its family: every family, so the (family, table, ...) index serves it.
    case ruleAnyFamily = " AND r.family IN ('ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev')"
    case ruleTable = " AND r.tbl = ?"
    case ruleChain = " AND r.chain = ?"
    case ruleHandle = " AND r.handle = ?"
    case rulePolicy = " AND r.handle IS NULL"
    case close = ")"
    case orderUp = " ORDER BY t.id LIMIT ?"
    case orderDown = " ORDER BY t.id DESC LIMIT ?"

    case groupDropReason = "t.drop_reason"
    case groupOutcome = "t.outcome"
    case groupDevice = "t.device"
    case groupStack = "t.stack_id"
    case groupLastStage = "t.last_stage"
    case groupProto = "t.proto"
    case groupSaddr = "t.saddr"
    case groupDaddr = "t.daddr"
    case groupSport = "t.sport"
    case groupDport = "t.dport"
    /// After NAT: a NULL of a row written with indexed = 2 is the value as it arrived (migration 11).
    case groupNatSaddr = "CASE WHEN t.indexed = 2 THEN COALESCE(t.nat_saddr, t.saddr) ELSE t.nat_saddr END"
    case groupNatDaddr = "CASE WHEN t.indexed = 2 THEN COALESCE(t.nat_daddr, t.daddr) ELSE t.nat_daddr END"
    case groupNatSport = "CASE WHEN t.indexed = 2 THEN COALESCE(t.nat_sport, t.sport) ELSE t.nat_sport END"
    case groupNatDport = "CASE WHEN t.indexed = 2 THEN COALESCE(t.nat_dport, t.dport) ELSE t.nat_dport END"
}

/// A statement's pieces and the values bound to them, in order (every parameter is positional:
/// a piece that tests one value in several columns binds it once per column).
struct TraceQueryText {
    var sql = ""
    var values: [Statement.Value] = []

    mutating func add(_ piece: TraceSQL, _ v: Statement.Value...) {
        sql += piece.rawValue
        values += v
    }

    mutating func add(_ piece: TraceSQL, repeating v: [Statement.Value], _ times: Int) {
        sql += piece.rawValue
        for _ in 0..<times { values += v }
    }
}

extension TraceFilter {
    var hasRuleConditions: Bool { hook != nil || family != nil || table != nil || chain != nil || handle != nil || policy }

    /// True when any filter a request can give is set (the cursor, limit, order and `maxID` aside).
    public var hasConditions: Bool {
        stack != nil || outcome != nil || dropReason != nil || device != nil || lastStage != nil || stage != nil || startFrom != nil
            || startTo != nil || wallFrom != nil || wallTo != nil || proto != nil || addr != nil || src != nil || dst != nil
            || port != nil || sport != nil || dport != nil || hasRuleConditions
    }

    /// True when any condition reads the traces table (a count by rule then joins it).
    var hasTraceConditions: Bool { hasConditions || maxID != nil }

    /// The rule conditions alone (for the probe and inside either rule shape).
    func ruleConditions(into q: inout TraceQueryText) {
        if let v = hook { q.add(.ruleHook, .text(v)) }
        if let v = family { q.add(.ruleFamily, .text(v)) } else if table != nil { q.add(.ruleAnyFamily) }
        if let v = table { q.add(.ruleTable, .text(v)) }
        if let v = chain { q.add(.ruleChain, .text(v)) }
        if let v = handle { q.add(.ruleHandle, .int(v)) }
        if policy { q.add(.rulePolicy) }
    }

    /// The WHERE conditions of this filter, appended to `q` (which ends inside a WHERE); the stack
    /// by its id (resolved from its name), rule conditions in the shape `denseRules` says suits.
    func conditions(into q: inout TraceQueryText, stackID: Int64?, denseRules: Bool, sparseAddresses: Bool = false, densePort: Bool = false) {
        if let v = stackID { q.add(.stack, .int(v)) }
        if let v = outcome { q.add(.outcome, .text(v)) }
        if let v = dropReason { q.add(.dropReason, .text(v)) }
        if let v = device { q.add(.device, .text(v)) }
        if let v = lastStage { q.add(.lastStage, .text(v)) }
        if let n = stage {
            if n < 64 { q.add(.stageLo, .int(Int64(bitPattern: 1 << UInt64(n)))) } else { q.add(.stageHi, .int(Int64(bitPattern: 1 << UInt64(n - 64)))) }
        }
        if let v = startFrom { q.add(.startFrom, .int(v)) }
        if let v = startTo { q.add(.startTo, .int(v)) }
        if let v = wallFrom { q.add(.wallFrom, .text(v)) }
        if let v = wallTo { q.add(.wallTo, .text(v)) }
        if let v = proto { q.add(.proto, .int(v)) }
        if let r = addr { q.add(sparseAddresses ? .addrIn : .addr, repeating: [.blob(r.lo), .blob(r.hi)], 4) }
        if let r = src { q.add(sparseAddresses ? .srcIn : .src, repeating: [.blob(r.lo), .blob(r.hi)], 2) }
        if let r = dst { q.add(sparseAddresses ? .dstIn : .dst, repeating: [.blob(r.lo), .blob(r.hi)], 2) }
        if let v = port { q.add(.port, repeating: [.int(v)], 4) }
        if let v = sport { q.add(.sport, repeating: [.int(v)], 2) }
        if let v = dport { q.add(densePort ? .dportScan : .dport, repeating: [.int(v)], 2) }
        if hasRuleConditions {
            q.add(denseRules ? .ruleExists : .ruleOpen)
            ruleConditions(into: &q)
            q.add(.close)
        }
        if let v = maxID { q.add(.maxID, .int(v)) }
    }
}
