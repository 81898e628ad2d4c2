/// What the kernel checks when a ruleset is committed (`nft_chain_validate`, checked against
/// Linux 6.18): every jump/goto names a chain of its table (ENOENT), no chain a base chain
/// reaches sits 16 jumps down (NFT_JUMP_STACK_SIZE), which a loop always does (EMLINK), and an
/// expression of a chain a base chain reaches is allowed at that base chain's hook (its
/// `validate`: EOPNOTSUPP), as the parser checks it in base chains themselves.
public enum NFJumpCheck {
    public static let maxDepth = 16

    public struct Failure: Equatable, Sendable {
        public var target: String
        public var message: String
    }

    public static func check(_ rs: NFRuleset) -> Failure? {
        for t in rs.tables {
            var edges: [String: [String]] = [:]
            for c in t.chains { edges[c.name] = c.rules.flatMap { $0.statements.flatMap(targets) } }
            // A map's verdicts must name chains of the table too (nft_verdict_init: ENOENT).
            let mapTargets = t.sets.flatMap { $0.verdicts ?? [] }.compactMap(target)
            // Chains a named map's verdicts reach are reached from the rules that use the map.
            for c in t.chains {
                for r in c.rules {
                    for st in r.statements {
                        var name: String? = nil
                        if case .vmapNamed(_, let n) = st { name = n }
                        if case .concatVmapNamed(_, let n) = st { name = n }
                        if let name, let m = t.sets.first(where: { $0.name == name }) { edges[c.name, default: []] += (m.verdicts ?? []).compactMap(target) }
                    }
                }
            }
            for x in edges.values.joined() + mapTargets where !t.chains.contains(where: { $0.name == x }) {
                return Failure(target: x, message: "Could not process rule: No such file or directory (no chain '\(x)' in table \(t.id))")
            }
            if let bad = hooks(t, edges) { return bad }
            // From each base chain, the longest path (memoised); a loop on the way is endless depth.
            // As in nft_chain_validate (Linux 6.x), chains no base chain reaches are not checked.
            var height: [String: (Int, String?)] = [:]
            var onPath = Set<String>()
            var loopAt: String? = nil
            func longest(_ c: String) -> Int {
                if let h = height[c] { return h.0 }
                if onPath.contains(c) { loopAt = loopAt ?? c; return maxDepth + 1 }
                onPath.insert(c)
                defer { onPath.remove(c) }
                var best = (1, nil as String?)
                for x in edges[c] ?? [] {
                    let h = longest(x)
                    if loopAt != nil { return maxDepth + 1 }
                    if h + 1 > best.0 { best = (h + 1, x) }
                }
                height[c] = best
                return best.0
            }
            for c in t.chains where c.base != nil {
                _ = longest(c.name)
                if let l = loopAt {
                    return Failure(target: l, message: "Could not process rule: Too many links (chain '\(l)' can reach itself through jump/goto)")
                }
            }
            for c in t.chains where c.base != nil && longest(c.name) > maxDepth {
                var at = c.name
                for _ in 0..<maxDepth { at = height[at]!.1! }
                return Failure(target: at, message: "Could not process rule: Too many links (chain '\(at)' is \(maxDepth) jumps below base chain '\(c.name)')")
            }
        }
        return nil
    }

    /// The hook checks of expressions in chains that base chains jump or go to (`edges`: the
    /// table's jump and goto targets by chain, named maps' included).
    private static func hooks(_ t: NFTable, _ edges: [String: [String]]) -> Failure? {
        // The chains (not base ones) holding an expression only some hooks allow, and those hooks.
        var restricted: [String: Set<NFHook>] = [:]
        for c in t.chains where c.base == nil {
            for r in c.rules {
                for s in r.statements { if let a = s.allowedHooks { restricted[c.name] = restricted[c.name].map { $0.intersection(a) } ?? a } }
            }
        }
        guard !restricted.isEmpty else { return nil }
        for base in t.chains {
            guard let b = base.base else { continue }
            var seen: Set<String> = [base.name], todo = [base.name]
            while let name = todo.popLast() {
                if let allowed = restricted[name], !allowed.contains(b.hook) {
                    return Failure(target: name, message: "Could not process rule: Operation not supported (chain '\(name)' is reached from base chain '\(base.name)' at hook \(b.hook.rawValue))")
                }
                for x in edges[name] ?? [] where seen.insert(x).inserted { todo.append(x) }
            }
        }
        return nil
    }

    private static func targets(_ s: NFStatement) -> [String] {
        switch s {
        case .verdict(let v): target(v).map { [$0] } ?? []
        case .vmap(_, let entries): entries.compactMap { target($0.1) }
        case .concatVmap(_, let entries): entries.compactMap { target($0.1) }
        default: []
        }
    }
    private static func target(_ v: NFVerdict) -> String? {
        switch v {
        case .jump(let c), .goto(let c): c
        default: nil
        }
    }
}
