// `add`, `delete` and `flush` commands on a running ruleset.
extension NFParser {
    /// `delete table|chain|set|rule ... handle N|element`.
    mutating func delete(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let wt = tok
        let what = try word("'table', 'chain', 'set', 'rule' or 'element'")
        let (fam, tname) = try familyAndName()
        guard let ti = rs.tables.firstIndex(where: { $0.family == fam && $0.name == tname }) else {
            throw err("no table \(fam.rawValue) \(tname)", at: toks[i - 1])
        }
        switch what {
        case "table":
            rs.tables.remove(at: ti)
        case "chain":
            let ct = tok
            let cname = try name("a chain name")
            guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname }) else { throw err("no chain \(cname)", at: ct) }
            let referenced = rs.tables[ti].chains.contains { c in c.rules.contains { r in r.statements.contains { s in
                if case .verdict(.jump(let n)) = s { return n == cname }
                if case .verdict(.goto(let n)) = s { return n == cname }
                return false
            } } }
            guard rs.tables[ti].chains[ci].rules.isEmpty, !referenced else { throw err("chain \(cname) is not empty or is a jump target (Device or resource busy)", at: ct) }
            rs.tables[ti].chains.remove(at: ci)
        case "set":
            let st = tok
            let sname = try name("a set name")
            guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else { throw err("no set \(sname)", at: st) }
            rs.tables[ti].sets.remove(at: si)
        case "rule":
            let ct = tok
            let cname = try name("a chain name")
            guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname }) else { throw err("no chain \(cname)", at: ct) }
            try expectWord("handle")
            let ht = tok
            guard let h = Int(try word("a rule handle")), let k = rs.tables[ti].chains[ci].rules.firstIndex(where: { $0.handle == h }) else {
                throw err("no rule with that handle in chain \(cname)", at: ht)
            }
            rs.tables[ti].chains[ci].rules.remove(at: k)
        case "element":
            let st = tok
            let sname = try name("a set name")
            guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else { throw err("no set \(sname)", at: st) }
            let et = tok
            let (vals, _) = try elementList(keys: rs.tables[ti].sets[si].keys, isMap: rs.tables[ti].sets[si].verdicts != nil)
            for v in vals {
                guard let k = rs.tables[ti].sets[si].elements.firstIndex(of: v) else { throw err("element not in set \(sname) (No such file or directory)", at: et) }
                rs.tables[ti].sets[si].elements.remove(at: k)
                if rs.tables[ti].sets[si].verdicts != nil { rs.tables[ti].sets[si].verdicts!.remove(at: k) }
            }
        default:
            throw err("expected 'table', 'chain', 'set', 'rule' or 'element'", at: wt)
        }
    }

    mutating func addChain(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let cname = try name("a chain name")
        if !rs.tables[ti].chains.contains(where: { $0.name == cname }) {
            rs.tables[ti].chains.append(NFChain(name: cname, handle: rs.tables[ti].nextHandle, base: nil, rules: []))
            rs.tables[ti].nextHandle += 1
        }
        if isPunct("{") { i += 1; try chainBody(&rs.tables[ti], chain: cname) }
    }

    mutating func addRule(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let ct = tok
        let cname = try name("a chain name")
        guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname }) else { throw err("no chain \(cname) in table \(tname)", at: ct) }
        try rule(&rs.tables[ti], chainIndex: ci)
    }

    mutating func addSet(_ rs: inout NFRuleset, isMap: Bool) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let sname = try name("a set name")
        try expectPunct("{")
        try setBody(&rs.tables[ti], name: sname, isMap: isMap)
    }

    mutating func addElements(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let st = tok
        let sname = try name("a set name")
        guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else { throw err("no set \(sname)", at: st) }
        let et = tok
        let (vals, vs) = try elementList(keys: rs.tables[ti].sets[si].keys, isMap: rs.tables[ti].sets[si].verdicts != nil)
        if rs.tables[ti].sets[si].interval, NFParser.overlap(rs.tables[ti].sets[si].elements + vals) {
            throw refused("conflicting intervals specified", at: et)
        }
        if let max = rs.tables[ti].sets[si].size, rs.tables[ti].sets[si].elements.count + vals.count > max {
            throw refused("Could not process rule: Too many open files in system (set \(sname) holds at most \(max) elements)", at: et)
        }
        rs.tables[ti].sets[si].elements += vals
        if rs.tables[ti].sets[si].verdicts != nil { rs.tables[ti].sets[si].verdicts! += vs }
    }
}
