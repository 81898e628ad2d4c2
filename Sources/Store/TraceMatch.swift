/// The filters of `TraceFilter` tested on one decoded row of a trace pack: the same conditions
/// `conditions(into:)` puts in SQL for the traces table, row by row (the cursor and order aside).
extension TraceFilter {
    func matches(_ r: TraceRecord, stackID: Int64?) -> Bool {
        let x = r.index
        if let v = stackID, r.stackID != v { return false }
        if let v = outcome, r.outcome != v { return false }
        if let v = dropReason, r.dropReason != v { return false }
        if let v = device, r.device != v { return false }
        if let v = lastStage, x.lastStage != v { return false }
        if let n = stage {
            let bits = n < 64 ? x.stagesLo : x.stagesHi
            if bits & Int64(bitPattern: 1 << UInt64(n % 64)) == 0 { return false }
        }
        if let v = startFrom { guard let s = x.startNs, s >= v else { return false } }
        if let v = startTo { guard let s = x.startNs, s < v else { return false } }
        if let v = wallFrom, r.createdAt < v { return false }
        if let v = wallTo, !(r.createdAt < v) { return false }
        if let v = proto, x.proto != v { return false }
        if let a = addr, !(a.holds(x.saddr) || a.holds(x.daddr) || a.holds(x.natSaddr) || a.holds(x.natDaddr)) { return false }
        if let a = src, !(a.holds(x.saddr) || a.holds(x.natSaddr)) { return false }
        if let a = dst, !(a.holds(x.daddr) || a.holds(x.natDaddr)) { return false }
        if let v = port, ![x.sport, x.dport, x.natSport, x.natDport].contains(v) { return false }
        if let v = sport, x.sport != v && x.natSport != v { return false }
        if let v = dport, x.dport != v && x.natDport != v { return false }
        if hasRuleConditions && !x.rules.contains(where: { matches($0) }) { return false }
        if let v = maxID, r.id > v { return false }
        return true
    }

    /// The address and port conditions on a row read in place (`TracePack.Peek`): false only for
    /// a row `matches` would refuse.
    func mayMatch(_ p: TracePack.Peek) -> Bool {
        if let a = addr, !(a.holds(p.saddr) || a.holds(p.daddr) || a.holds(p.natSaddr) || a.holds(p.natDaddr)) { return false }
        if let a = src, !(a.holds(p.saddr) || a.holds(p.natSaddr)) { return false }
        if let a = dst, !(a.holds(p.daddr) || a.holds(p.natDaddr)) { return false }
        if let v = port, p.sport != v && p.dport != v && p.natSport != v && p.natDport != v { return false }
        if let v = sport, p.sport != v && p.natSport != v { return false }
        if let v = dport, p.dport != v && p.natDport != v { return false }
        if let v = maxID, p.id > v { return false }
        return true
    }

    /// Whether `mayMatch` tests anything.
    var peeks: Bool { addr != nil || src != nil || dst != nil || port != nil || sport != nil || dport != nil || maxID != nil }

    /// The rule conditions on one rule event (a table named without its family: any family).
    func matches(_ h: TraceRuleHit) -> Bool {
        if let v = hook, h.hook != v { return false }
        if let v = family, h.family != v { return false }
        if let v = table, h.table != v { return false }
        if let v = chain, h.chain != v { return false }
        if let v = handle, h.handle != v { return false }
        if policy && h.handle != nil { return false }
        return true
    }

    /// No condition but the stack: the pack keys' counts answer for every row at once.
    var onlyStack: Bool {
        var rest = self
        rest.stack = nil
        return !rest.hasConditions && maxID == nil
    }
}

extension AddressRange {
    /// SQL's `BETWEEN` on blobs: byte order, then length.
    func holds<C: Collection<UInt8>>(_ a: C?) -> Bool {
        guard let a else { return false }
        return !a.lexicographicallyPrecedes(lo) && !hi.lexicographicallyPrecedes(a)
    }
}

extension TraceAggregate {
    /// A rule's group: "ip f input handle 2", or "... policy" for a chain's policy.
    static func ruleText(family: String, table: String, chain: String, handle: Int64?) -> String {
        "\(family) \(table) \(chain) \(handle.map { "handle \($0)" } ?? "policy")"
    }

    /// A row's group values (one, or one per rule event for rules and hooks), as the traces
    /// table's GROUP BY gives them; a rule as `ruleText`.
    func values(_ r: TraceRecord) -> [TraceValue] {
        let x = r.index
        func i(_ v: Int64?) -> TraceValue { v.map { .int($0) } ?? .null }
        func b(_ v: [UInt8]?) -> TraceValue { v.map { .blob($0) } ?? .null }
        switch self {
        case .dropReason: return [r.dropReason.map { .text($0) } ?? .null]
        case .outcome: return [.text(r.outcome)]
        case .device: return [.text(r.device)]
        case .stack: return [.int(r.stackID)]
        case .lastStage: return [x.lastStage.map { .text($0) } ?? .null]
        case .proto: return [i(x.proto)]
        case .saddr: return [b(x.saddr)]
        case .daddr: return [b(x.daddr)]
        case .sport: return [i(x.sport)]
        case .dport: return [i(x.dport)]
        case .natSaddr: return [b(x.natSaddr)]
        case .natDaddr: return [b(x.natDaddr)]
        case .natSport: return [i(x.natSport)]
        case .natDport: return [i(x.natDport)]
        case .rule: return x.rules.map { .text(Self.ruleText(family: $0.family, table: $0.table, chain: $0.chain, handle: $0.handle)) }
        case .hook: return x.rules.map { .text($0.hook) }
        }
    }

    /// The pack key that counts this group exactly (nil: the rows must be decoded).
    var packKey: TracePack.Key? {
        switch self {
        case .dropReason: .dropReason
        case .outcome: .outcome
        case .device: .device
        case .lastStage: .lastStage
        case .proto: .proto
        case .dport: .dport
        case .rule: .rule
        case .hook: .hook
        default: nil
        }
    }
}
