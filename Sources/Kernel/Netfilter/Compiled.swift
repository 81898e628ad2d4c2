import NFTables

/// A rule made ready for the packet path: matches hold integer ranges (no strings to copy),
/// named sets are resolved to their index. Built once when a ruleset loads.
final class CRule {
    enum Step {
        /// `sel [& mask] op value`; `anyBit` for flag lists without a mask (`ct state established,related`).
        case match(NFSelector, mask: UInt64?, op: NFOp, ranges: [(lo: UInt64, hi: UInt64)], anyBit: UInt64?)
        case matchSet(NFSelector, mask: UInt64?, negate: Bool, set: SetIndex)
        case matchName(NFSelector, negate: Bool, names: [String])
        case other(NFStatement)
    }
    let handle: Int
    let text: String
    let steps: [Step]

    init(_ r: NFRule, sets: [String: SetIndex]) {
        handle = r.handle
        text = r.text
        steps = r.statements.map { s in
            guard case .match(let sel, let mask, let op, let value) = s else { return .other(s) }
            if sel == .iif || sel == .iifname || sel == .oif || sel == .oifname {
                return .matchName(sel, negate: op == .ne, names: CRule.names(value))
            }
            if case .named(let n) = value, let idx = sets[n] { return .matchSet(sel, mask: mask, negate: op == .ne, set: idx) }
            let ranges = CRule.ranges(value)
            var anyBit: UInt64? = nil
            if mask == nil, sel == .ctState || sel == .ctStatus || sel == .tcpFlags {
                let bits = ranges.reduce(UInt64(0)) { $0 | ($1.lo == $1.hi ? $1.lo : 0) }
                if bits != 0 { anyBit = bits }
            }
            return .match(sel, mask: mask, op: op, ranges: ranges, anyBit: anyBit)
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
    init(rules: [CRule]) { self.rules = rules }
}
