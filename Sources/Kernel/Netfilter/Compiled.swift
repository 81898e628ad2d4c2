import NFTables

/// A rule made ready for the packet path: matches hold integer ranges (no strings to copy),
/// named sets are resolved to their index. Built once when a ruleset loads.
final class CRule {
    /// `sel [& mask] op value`; `anyBit` for flag lists without a mask (`ct state established,related`).
    final class Match {
        let sel: NFSelector, mask: UInt64?, op: NFOp, ranges: [(lo: UInt64, hi: UInt64)], anyBit: UInt64?
        /// IPv6 address values and prefixes (128 bits), for `ip6 saddr`/`daddr` matches.
        let ranges6: [(lo: UInt128, hi: UInt128)]
        init(_ sel: NFSelector, _ mask: UInt64?, _ op: NFOp, _ ranges: [(lo: UInt64, hi: UInt64)], _ anyBit: UInt64?, ranges6: [(lo: UInt128, hi: UInt128)] = []) {
            self.sel = sel; self.mask = mask; self.op = op; self.ranges = ranges; self.anyBit = anyBit; self.ranges6 = ranges6
        }
    }
    final class SetMatch {
        let sel: NFSelector, mask: UInt64?, negate: Bool, set: SetIndex
        init(_ sel: NFSelector, _ mask: UInt64?, _ negate: Bool, _ set: SetIndex) { self.sel = sel; self.mask = mask; self.negate = negate; self.set = set }
    }
    final class NameMatch {
        let sel: NFSelector, negate: Bool, names: [String]
        init(_ sel: NFSelector, _ negate: Bool, _ names: [String]) { self.sel = sel; self.negate = negate; self.names = names }
    }
    /// One word per step, so walking a rule copies nothing heavy.
    enum Step {
        case match(Match)
        case matchSet(SetMatch)
        case matchName(NameMatch)
        /// Index into `statements` of a statement that is not a match.
        case other(Int)
        /// `!=` matches nft 1.0.6 merged into one compare: any of them differing is enough.
        case anyDiffers([Match])
    }
    let handle: Int
    let text: String
    let iptables: String?
    let steps: [Step]
    let statements: [NFStatement]
    /// Where each counter, quota and limit statement keeps its state (NFStateKey).
    let stateKeys: [Int]
    /// The rule changes what later rules read (a mark, a header field, the conntrack state): a
    /// chain index looked up before it is looked up again after it.
    let writes: Bool

    init(_ r: NFRule, sets: [String: SetIndex]) {
        handle = r.handle
        writes = r.statements.contains { s in
            switch s {
            case .setMark, .setCtMark, .setExpr, .setPayload, .setPayloadFrom, .setMapped, .setMapped6, .setMappedNamed, .setGenerated, .notrack: true
            default: false
            }
        }
        // As nft monitor trace prints the rule: with its comment (an iptables one is an xtables match, listed as nothing).
        text = r.text + (r.listed == nil ? r.comment.map { " comment \"\($0)\"" } ?? "" : "")
        iptables = r.iptables
        statements = r.statements
        stateKeys = NFStateKey.keys(r.statements, rule: r.handle)
        var steps: [Step] = r.statements.enumerated().map { k, s in
            guard case .match(let sel, let mask, let op, let value) = s else { return .other(k) }
            if sel == .ctLabel, mask == nil { return .other(k) }   // a bit test, not a compare: Engine
            if sel.isString {
                // `iifname @s` matches the names of the set.
                let names = if case .named(let n) = value { sets[n]?.names ?? [] } else { CRule.names(value) }
                return .matchName(NameMatch(sel, op == .ne, names))
            }
            if case .named(let n) = value, let idx = sets[n] { return .matchSet(SetMatch(sel, mask, op == .ne, idx)) }
            let ranges = CRule.ranges(value)
            var anyBit: UInt64? = nil
            // A bare flag list matches any of its bits; a braced set is an exact lookup.
            if mask == nil, op == .implicit, sel.isFlags, case .range = value {
                let bits = ranges.reduce(UInt64(0)) { $0 | ($1.lo == $1.hi ? $1.lo : 0) }
                if bits != 0 { anyBit = bits }
            }
            return .match(Match(sel, mask, op, ranges, anyBit, ranges6: CRule.ranges6(value)))
        }
        // Later groups first, so the earlier indices stay put.
        for g in r.neqMerged.reversed() {
            let ms = g.compactMap { k -> Match? in if case .match(let m) = steps[k] { m } else { nil } }
            guard ms.count == g.count else { continue }
            steps.replaceSubrange(g, with: [.anyDiffers(ms)])
        }
        self.steps = steps
    }

    static func ranges6(_ v: NFValue) -> [(lo: UInt128, hi: UInt128)] {
        switch v {
        case .range6(let lo, let hi, _): return [(lo, hi)]
        case .set(let vs): return vs.flatMap(ranges6)
        default: return []
        }
    }

    static func ranges(_ v: NFValue) -> [(lo: UInt64, hi: UInt64)] {
        switch v {
        case .range(let lo, let hi, _): return [(lo, hi)]
        case .set(let vs): return vs.flatMap(ranges)
        default: return []
        }
    }
    static func names(_ v: NFValue) -> [String] {
        switch v {
        case .string(let s): return [s]
        case .set(let vs): return vs.flatMap(names)
        default: return []
        }
    }
}

/// A chain's compiled rules, by chain index of its table.
final class CChain {
    let rules: [CRule]
    /// The rules indexed by the field that narrows them most (nil: the chain runs rule by rule).
    let index: RuleIndex?
    init(rules: [CRule]) { self.rules = rules; index = RuleIndex.build(rules) }
}
