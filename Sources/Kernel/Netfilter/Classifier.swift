import NFTables

/// A chain's rules indexed by one field they match on, built when the ruleset loads, so a packet
/// meets only the rules that can match it instead of every rule in turn.
///
/// A rule is indexed on its match of the chosen field when that match comes before any statement
/// that is not a pure match (a counter or limit before it would act even when the match fails):
/// a rule the index leaves out for a packet is one whose indexed match would fail, so skipping it
/// changes no verdict, trace event, counter or state. Rules without such a match ("wildcards")
/// are candidates for every packet. The field's values are cut into elementary intervals, each
/// holding the rules whose values cover it, in rule order.
final class RuleIndex {
    let sel: NFSelector
    /// Elementary intervals, sorted and disjoint, and the rules (chain positions, ascending) of each.
    let los: [UInt64], his: [UInt64]
    let rules: [[Int32]]
    /// Rules the index does not narrow, ascending.
    let wild: [Int32]

    private init(sel: NFSelector, los: [UInt64], his: [UInt64], rules: [[Int32]], wild: [Int32]) {
        self.sel = sel; self.los = los; self.his = his; self.rules = rules; self.wild = wild
    }

    /// Chains shorter than this run rule by rule: the lookup would cost more than it saves.
    static let minRules = 8

    /// The match of rule `r` an index on its selector may use, per selector.
    private static func indexable(_ r: CRule) -> [NFSelector: [(lo: UInt64, hi: UInt64)]] {
        var out: [NFSelector: [(lo: UInt64, hi: UInt64)]] = [:]
        for step in r.steps {
            switch step {
            case .match(let m):
                // An exact compare against values, ranges or an anonymous set: the rule fails unless
                // the field's value is in them (an unreadable field fails it too).
                // (`meta random` draws a number each time it is read: looking it up would change the draws.)
                if m.mask == nil, m.anyBit == nil, m.op == .implicit || m.op == .eq, m.sel != .random, !m.sel.isAddress6, out[m.sel] == nil { out[m.sel] = m.ranges }
            case .matchSet, .matchName, .anyDiffers: continue
            case .other: return out   // the pure prefix ends here
            }
        }
        return out
    }

    /// The best index for `rules`, or nil when no field narrows them enough to pay.
    static func build(_ rules: [CRule]) -> RuleIndex? {
        guard rules.count >= minRules else { return nil }
        let per = rules.map(indexable)
        var best: RuleIndex? = nil, bestCost = Double(rules.count) * 0.5   // must at least halve the work
        for sel in Set(per.flatMap(\.keys)) {
            guard let idx = make(sel, per) else { continue }
            // Expected candidates for a packet in an indexed interval, plus the wildcards.
            let covered = idx.rules.reduce(0) { $0 + $1.count }
            let cost = Double(idx.wild.count) + (idx.rules.isEmpty ? 0 : Double(covered) / Double(idx.rules.count))
            if cost < bestCost { best = idx; bestCost = cost }
        }
        return best
    }

    private static func make(_ sel: NFSelector, _ per: [[NFSelector: [(lo: UInt64, hi: UInt64)]]]) -> RuleIndex? {
        var bounds: [UInt64] = []
        var wild: [Int32] = []
        for (k, m) in per.enumerated() {
            guard let ranges = m[sel] else { wild.append(Int32(k)); continue }
            for r in ranges { bounds.append(r.lo); if r.hi < .max { bounds.append(r.hi + 1) } }
        }
        bounds = Array(Set(bounds)).sorted()
        guard !bounds.isEmpty else { return nil }
        // Elementary interval k is [bounds[k], bounds[k+1] - 1] (the last one runs to the top).
        let los = bounds
        let his = bounds.indices.map { $0 + 1 < bounds.count ? bounds[$0 + 1] - 1 : UInt64.max }
        var rules = [[Int32]](repeating: [], count: los.count)
        var coverage = 0
        for (k, m) in per.enumerated() {
            guard let ranges = m[sel] else { continue }
            var seen = Set<Int>()
            for r in ranges {
                var s = lowerBound(los, r.lo)
                while s < los.count, los[s] <= r.hi {
                    if seen.insert(s).inserted { rules[s].append(Int32(k)); coverage += 1 }
                    s += 1
                }
            }
            // Heavily overlapping ranges would make the table quadratic: no index on this field.
            if coverage > 16 * per.count + 4096 { return nil }
        }
        for s in rules.indices { rules[s].sort() }
        return RuleIndex(sel: sel, los: los, his: his, rules: rules, wild: wild)
    }

    private static func lowerBound(_ a: [UInt64], _ v: UInt64) -> Int {
        var lo = 0, hi = a.count
        while lo < hi { let mid = (lo + hi) / 2; if a[mid] < v { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// The indexed rules for a field value (nil: the field could not be read, so none of them matches).
    func lookup(_ v: UInt64?) -> [Int32] {
        guard let v else { return [] }
        var lo = 0, hi = los.count
        while lo < hi { let mid = (lo + hi) / 2; if his[mid] < v { lo = mid + 1 } else { hi = mid } }
        return lo < los.count && los[lo] <= v ? rules[lo] : []
    }
}

/// Walks the candidate rules of one chain visit in order: the indexed rules of the packet's
/// value merged with the wildcards. Holds the index's arrays, copies nothing.
struct RuleCursor {
    let hits: [Int32], wild: [Int32]
    var i = 0, j = 0

    /// The first candidate at or after position `r`, or Int.max when none is left.
    mutating func next(atLeast r: Int) -> Int {
        while i < hits.count, Int(hits[i]) < r { i += 1 }
        while j < wild.count, Int(wild[j]) < r { j += 1 }
        let a = i < hits.count ? Int(hits[i]) : Int.max
        let b = j < wild.count ? Int(wild[j]) : Int.max
        return min(a, b)
    }
}

/// A concatenated set's or map's exact tuples hashed (kube-proxy's `10.96.0.10 . tcp . 80`), so a
/// lookup reads the key once instead of trying every element; tuples with ranges, prefixes or
/// interface names are tried in order as before, and the first element that matches wins either way.
final class ConcatIndex {
    struct Key: Hashable { var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0 }
    /// Exact tuples (at most four parts) to the position of the first element holding them.
    let exact: [Key: Int]
    /// Positions of the other elements, ascending.
    let others: [Int]

    init(_ elements: [NFValue]) {
        var exact: [Key: Int] = [:], others: [Int] = []
        for (k, e) in elements.enumerated() {
            if let key = ConcatIndex.key(e) { if exact[key] == nil { exact[key] = k } } else { others.append(k) }
        }
        self.exact = exact; self.others = others
    }

    static func key(_ e: NFValue) -> Key? {
        guard case .tuple(let parts) = e, parts.count <= 4 else { return nil }
        var vs: [UInt64] = []
        for p in parts {
            guard case .range(let lo, let hi, _) = p, lo == hi else { return nil }
            vs.append(lo)
        }
        return Key(vs)
    }
}

extension ConcatIndex.Key {
    init(_ vs: [UInt64]) {
        self.init()
        if vs.count > 0 { a = vs[0] }
        if vs.count > 1 { b = vs[1] }
        if vs.count > 2 { c = vs[2] }
        if vs.count > 3 { d = vs[3] }
    }
}
