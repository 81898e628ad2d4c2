/// What nft 1.0.6's cache holds when it prints the `list` commands of a batch (`nft -f`): it
/// evaluates the whole batch first, then runs its commands in order, printing lists from the
/// cache before anything is sent to the kernel. The cache starts as the kernel's ruleset (empty
/// when the batch has a `flush ruleset` anywhere) and evaluation adds and deletes tables, chains
/// (declared without a policy: listed without one), sets with their declared elements and named
/// objects, and empties flushed sets; rules, elements added or deleted, flushed or renamed chains
/// never reach it (recorded: scripts/record_list_in_batch.sh).
public enum NFCacheOp: Sendable {
    case flushRuleset
    /// A table as its command left it; its chains' rules are not kept.
    case addTable(NFTable)
    case deleteTable(NFFamily, String)
    case addChain(NFFamily, String, NFChain)
    case deleteChain(NFFamily, String, String)
    case addSet(NFFamily, String, NFSet)
    case deleteSet(NFFamily, String, String)
    case flushSet(NFFamily, String, String)
    case addObject(NFFamily, String, NFObject)
    case deleteObject(NFFamily, String, NFObjectKind, String)

    /// What one command (`word`, then the next word) changed between `before` and `after`.
    static func of(_ word: String, _ next: String, before: NFRuleset, after: NFRuleset, unsetPolicies: Set<String>) -> [NFCacheOp] {
        var ops: [NFCacheOp] = []
        func same(_ a: NFTable, _ b: NFTable) -> Bool { a.family == b.family && a.name == b.name }
        switch word {
        case "flush":
            if next == "ruleset" { return [.flushRuleset] }
            for case .flush(let f, let t, let s) in after.elementChanges.dropFirst(before.elementChanges.count) { ops.append(.flushSet(f, t, s)) }
        case "delete", "destroy":
            for t in before.tables {
                guard let now = after.tables.first(where: { same($0, t) }) else { ops.append(.deleteTable(t.family, t.name)); continue }
                for c in t.chains where !now.chains.contains(where: { $0.name == c.name }) { ops.append(.deleteChain(t.family, t.name, c.name)) }
                for s in t.sets where !now.sets.contains(where: { $0.name == s.name }) { ops.append(.deleteSet(t.family, t.name, s.name)) }
                for o in t.objects where !now.objects.contains(where: { $0.kind == o.kind && $0.name == o.name }) {
                    ops.append(.deleteObject(t.family, t.name, o.kind, o.name))
                }
            }
        case "table", "add", "create":
            for t in after.tables {
                let old = before.tables.first { same($0, t) }
                if old == nil {
                    var bare = t
                    bare.chains = []; bare.sets = []; bare.objects = []
                    ops.append(.addTable(bare))
                }
                for var c in t.chains where !(old?.chains.contains { $0.name == c.name } ?? false) {
                    if unsetPolicies.contains("\(t.family.rawValue) \(t.name) \(c.name)") { c.base?.policyUnset = true }
                    ops.append(.addChain(t.family, t.name, c))
                }
                for s in t.sets where !s.meter && !(old?.sets.contains { $0.name == s.name } ?? false) { ops.append(.addSet(t.family, t.name, s)) }
                for o in t.objects where !(old?.objects.contains { $0.kind == o.kind && $0.name == o.name } ?? false) {
                    ops.append(.addObject(t.family, t.name, o))
                }
            }
        default: break
        }
        return ops
    }

    /// The cache `ops` leave of `base` (the ruleset before the batch): what a batch's `list` prints.
    public static func view(_ base: NFRuleset, _ ops: [NFCacheOp]) -> NFRuleset {
        var rs = ops.contains { if case .flushRuleset = $0 { true } else { false } } ? NFRuleset() : NFRuleset(tables: base.tables)
        func ti(_ f: NFFamily, _ n: String) -> Int? { rs.tables.firstIndex { $0.family == f && $0.name == n } }
        for op in ops {
            switch op {
            case .flushRuleset: break
            case .addTable(let t): if ti(t.family, t.name) == nil { rs.tables.append(t) }
            case .deleteTable(let f, let n): if let k = ti(f, n) { rs.tables.remove(at: k) }
            case .addChain(let f, let n, var c):
                guard let k = ti(f, n), !rs.tables[k].chains.contains(where: { $0.name == c.name }) else { continue }
                c.rules = []
                rs.tables[k].chains.append(c)
            case .deleteChain(let f, let n, let c): if let k = ti(f, n) { rs.tables[k].chains.removeAll { $0.name == c } }
            case .addSet(let f, let n, let s):
                guard let k = ti(f, n), !rs.tables[k].sets.contains(where: { $0.name == s.name }) else { continue }
                rs.tables[k].sets.append(s)
            case .deleteSet(let f, let n, let s): if let k = ti(f, n) { rs.tables[k].sets.removeAll { $0.name == s } }
            case .flushSet(let f, let n, let s):
                guard let k = ti(f, n), let si = rs.tables[k].sets.firstIndex(where: { $0.name == s }) else { continue }
                rs.tables[k].sets[si].flushed()
            case .addObject(let f, let n, let o):
                guard let k = ti(f, n), !rs.tables[k].objects.contains(where: { $0.kind == o.kind && $0.name == o.name }) else { continue }
                rs.tables[k].objects.append(o)
            case .deleteObject(let f, let n, let kind, let o): if let k = ti(f, n) { rs.tables[k].objects.removeAll { $0.kind == kind && $0.name == o } }
            }
        }
        return rs
    }
}

extension NFSet {
    /// Without elements, as `flush set` leaves it.
    mutating func flushed() {
        elements = []; elementInfo = []
        if verdicts != nil { verdicts = [] }
        if data != nil { data = [] }
        if data6 != nil { data6 = [] }
        if objectNames != nil { objectNames = [] }
    }
}
