// Commands on named objects (`add|create|delete|destroy counter|quota|limit|synproxy|ct helper|
// ct timeout|ct expectation ...`), `destroy`, and `reset rules|rule`.
extension NFParser {
    /// The object kind a command names at the current token (`counter`, `ct helper`...), read.
    mutating func objectKind() -> NFObjectKind? {
        if tok.kind == .word, ["counter", "quota", "limit", "synproxy"].contains(tok.text) {
            defer { i += 1 }
            return NFObjectKind(rawValue: tok.text)
        }
        if isWord("ct"), i + 1 < toks.count, ["helper", "timeout", "expectation"].contains(toks[i + 1].text) {
            defer { i += 2 }
            return NFObjectKind(rawValue: "ct " + toks[i + 1].text)
        }
        return nil
    }

    /// `add|create KIND [FAMILY] TABLE NAME [{ BODY }]`: a named object, as in a table block (an
    /// object there already takes the new body if its kind can be updated; `create` refuses it: EEXIST).
    mutating func addObject(_ rs: inout NFRuleset, _ kind: NFObjectKind, create: Bool) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        // (nft's own cache lookup: its message has no "Could not process rule".)
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw refused("No such file or directory", at: toks[i - 1]) }
        let nt = tok
        let oname = kind.isConntrack ? try identifier("an object name") : try name("an object name")
        let existing = rs.tables[ti].objects.firstIndex { $0.kind == kind && $0.name == oname }
        if create, existing != nil { throw refused("Could not process rule: File exists", at: nt) }
        // The body in braces, or for a counter, quota or limit on the line (`add quota t q 25 mbytes`).
        let braced = isPunct("{")
        if braced { i += 1; skipNewlines() }
        var stmt: NFStatement
        switch kind {
        case .counter: stmt = try counterBody()
        case .quota: stmt = try quotaBody()
        case .limit: stmt = try limitBody()
        case .synproxy where braced: stmt = try synproxyObjectBody()
        default:
            guard braced else { throw err("syntax error, unexpected \(bisonName(tok)), expecting '{'") }
            stmt = try ctObjectBody(kind, family: rs.tables[ti].family, nameTok: nt)
        }
        if braced {
            skipNewlines()
            try expectPunct("}")
        }
        if let k = existing {
            if kind.updatable { rs.tables[ti].objects[k].statement = stmt }
        } else {
            rs.tables[ti].objects.append(NFObject(kind: kind, name: oname, handle: rs.tables[ti].nextHandle, statement: stmt))
            rs.tables[ti].nextHandle += 1
        }
    }

    /// `delete|destroy KIND [FAMILY] TABLE NAME|handle N`: an object no rule or map refers to
    /// (EBUSY otherwise); `destroy` of one not there does nothing.
    mutating func deleteObject(_ rs: inout NFRuleset, _ kind: NFObjectKind, ti: Int, destroy: Bool) throws(NFSyntaxError) {
        var nt = tok
        let k: Int?
        if isWord("handle") {
            i += 1
            nt = tok
            guard let h = Int(try word("a handle")) else { throw err("expected a number", at: nt) }
            k = rs.tables[ti].objects.firstIndex { $0.kind == kind && $0.handle == h }
        } else {
            let oname = try name("an object name")
            k = rs.tables[ti].objects.firstIndex { $0.kind == kind && $0.name == oname }
        }
        guard let k else {
            if destroy { return }
            throw refused("Could not process rule: No such file or directory", from: nt, to: toks[i - 1])
        }
        let o = rs.tables[ti].objects[k]
        let inMap = rs.tables[ti].sets.contains { $0.objectKind == kind && ($0.objectNames ?? []).contains(o.name) }
        let inRule = rs.tables[ti].chains.contains { c in c.rules.contains { r in r.statements.contains { s in
            switch s {
            case .objref(let sk, let n): sk == kind && n == o.name
            case .objrefMap(let sk, _, let entries): sk == kind && entries.contains { $0.1 == o.name }
            default: false
            }
        } } }
        if inMap || inRule { throw refused("Could not process rule: Device or resource busy", from: nt, to: toks[i - 1]) }
        rs.tables[ti].objects.remove(at: k)
    }

    /// `reset rules [FAMILY]`, `reset rules table [FAMILY] TABLE`, `reset rules chain [FAMILY]
    /// TABLE CHAIN`, `reset rule [FAMILY] TABLE CHAIN handle N` (nft 1.0.8's; 1.0.6 has none):
    /// the rules' counters and quotas start from zero.
    mutating func resetRules(_ rs: inout NFRuleset, one: Bool) throws(NFSyntaxError) {
        var tables = Array(rs.tables.indices)
        var chain: String? = nil, handle: Int? = nil
        let scope = one ? "rule" : isWord("table") || isWord("chain") ? tok.text : ""
        if !scope.isEmpty, !one { i += 1 }
        if scope.isEmpty {
            if tok.kind == .word, let f = NFFamily(rawValue: tok.text) { i += 1; tables = tables.filter { rs.tables[$0].family == f } }
        } else {
            let (f, n) = try familyAndName()
            guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == n }) else {
                throw refused("Could not process rule: No such file or directory", at: toks[i - 1])
            }
            tables = [ti]
            if scope != "table" {
                let ct = tok
                chain = try identifier("a chain name")
                guard rs.tables[ti].chains.contains(where: { $0.name == chain }) else { throw refused("Could not process rule: No such file or directory", at: ct) }
            }
            if one {
                try expectWord("handle")
                let ht = tok
                guard let h = Int(try word("a rule handle")), rs.tables[ti].chains.contains(where: { $0.name == chain && $0.rules.contains { $0.handle == h } }) else {
                    throw refused("Could not process rule: No such file or directory", at: ht)
                }
                handle = h
            }
        }
        for ti in tables {
            for c in rs.tables[ti].chains where chain == nil || c.name == chain {
                for r in c.rules where handle == nil || r.handle == handle { rs.resets.append((ti, r.handle)) }
            }
        }
    }

    /// `get element [FAMILY] TABLE SET { V, ... }`: printed once the batch is in, as nft prints
    /// it (the set with the element holding each value, a range for an interval set's); a value
    /// the set does not hold is ENOENT under the whole command (the stack checks its live sets).
    mutating func getElements(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let first = toks[i - 1]
        try expectWord("element")
        let (f, tname) = try familyAndName()
        guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == tname }) else {
            throw refused("Could not process rule: No such file or directory", at: toks[i - 1])
        }
        let st = tok
        let sname = try identifier("a set name")
        guard let set = rs.tables[ti].sets.first(where: { $0.name == sname }) else { throw refused("Could not process rule: No such file or directory", at: st) }
        var unused: [UInt64] = []
        let (vals, _, _) = try elementList(keys: set.keys, isMap: false, values: &unused)
        // (nft's carets run one past the command.)
        var missing = refused("Could not process rule: No such file or directory", from: first, to: toks[i - 1])
        missing.length += 1
        for v in vals { rs.elementChanges.append(.present(f, table: tname, set: sname, v, ifMissing: missing)) }
        rs.lists.append(.elements(f, tname, sname, vals))
    }
}
