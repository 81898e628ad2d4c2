// `add`, `delete` and `flush` commands on a running ruleset.
extension NFParser {
    /// `delete table|chain|set|map|rule ... handle N|element|OBJECT`; `destroy` (nft 1.0.8's; 1.0.6
    /// has none) is the same but does nothing where the thing is not there.
    mutating func delete(_ rs: inout NFRuleset, destroy: Bool = false) throws(NFSyntaxError) {
        let wt = tok
        let kind = objectKind()
        let what = kind == nil ? try word("'table', 'chain', 'set', 'map', 'rule', 'element' or an object kind") : "object"
        let (fam, tname) = try familyAndName()
        guard let ti = rs.tables.firstIndex(where: { $0.family == fam && $0.name == tname }) else {
            if destroy { try skipStatement(); return }
            throw err("no table \(fam.rawValue) \(tname)", at: toks[i - 1])
        }
        if let kind { return try deleteObject(&rs, kind, ti: ti, destroy: destroy) }
        switch what {
        case "table":
            rs.tables.remove(at: ti)
        case "chain":
            let ct = tok
            let cname = try identifier("a chain name")
            guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname }) else {
                if destroy { return }
                throw err("no chain \(cname)", at: ct)
            }
            let referenced = rs.tables[ti].chains.contains { c in c.rules.contains { r in r.statements.contains { s in
                if case .verdict(.jump(let n)) = s { return n == cname }
                if case .verdict(.goto(let n)) = s { return n == cname }
                return false
            } } }
            guard rs.tables[ti].chains[ci].rules.isEmpty, !referenced else { throw err("chain \(cname) is not empty or is a jump target (Device or resource busy)", at: ct) }
            rs.tables[ti].chains.remove(at: ci)
        case "set", "map":
            let st = tok
            let sname = try identifier("a set name")
            guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else {
                if destroy { return }
                throw err("no set \(sname)", at: st)
            }
            rs.tables[ti].sets.remove(at: si)
        case "rule":
            let ct = tok
            let cname = try identifier("a chain name")
            let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname })
            if ci == nil, !destroy { throw err("no chain \(cname)", at: ct) }
            try expectWord("handle")
            let ht = tok
            let h = Int(try word("a rule handle"))
            guard let ci, let h, let k = rs.tables[ti].chains[ci].rules.firstIndex(where: { $0.handle == h }) else {
                if destroy, h != nil { return }
                throw err("no rule with that handle in chain \(cname)", at: ht)
            }
            rs.tables[ti].chains[ci].rules.remove(at: k)
        case "element":
            let st = tok
            let sname = try identifier("a set name")
            guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else {
                if destroy { try skipStatement(); return }
                throw err("no set \(sname)", at: st)
            }
            let (et, ei) = (tok, i)
            var unused: [UInt64] = []
            // A map's elements are named by their keys, with or without their data.
            var open = 0
            let close = toks[i...].firstIndex { t in
                if t.kind == .punct, t.text == "{" { open += 1 } else if t.kind == .punct, t.text == "}" { open -= 1 }
                return open == 0
            } ?? i
            let withData = toks[i..<close].contains { $0.kind == .punct && $0.text == ":" }
            let (vals, _, _) = try elementList(keys: rs.tables[ti].sets[si].keys, isMap: rs.tables[ti].sets[si].isMap && withData,
                                               data: rs.tables[ti].sets[si].dataType, values: &unused)
            // Each element's tokens (between the commas of the brace), to point at one not there.
            var spans: [(NFToken, NFToken)] = []
            var depth = 0, first: NFToken? = nil, last = et
            for t in toks[ei..<i] {
                if t.kind == .punct, t.text == "{" { depth += 1; if depth == 1 { continue } }
                if t.kind == .punct, t.text == "}" { depth -= 1 }
                if depth == 0 || depth == 1 && t.kind == .punct && t.text == "," {
                    if let f = first { spans.append((f, last)) }
                    first = nil
                    continue
                }
                if first == nil { first = t }
                last = t
            }
            for (n, v) in vals.enumerated() {
                guard let k = rs.tables[ti].sets[si].elements.firstIndex(of: v) else {
                    // nft's own check of an interval set, else the kernel's ENOENT (recorded).
                    let set = rs.tables[ti].sets[si]
                    let why = set.interval ? "element does not exist" : "Could not process rule: No such file or directory"
                    let (a, b) = n < spans.count ? spans[n] : (et, et)
                    // A set rules add to may hold it all the same: the stack decides.
                    if !set.interval, set.dynamic || set.timeouts {
                        rs.elementChanges.append(.delete(fam, table: tname, set: sname, v, ifMissing: destroy ? nil : refused(why, from: a, to: b)))
                        continue
                    }
                    if destroy { continue }
                    throw refused(why, from: a, to: b)
                }
                rs.tables[ti].sets[si].removeElement(at: k)
            }
        default:
            throw err("expected 'table', 'chain', 'set', 'map', 'rule', 'element' or an object kind", at: wt)
        }
    }

    /// Past the rest of a command (to its newline or `;`), braces included: what `destroy` of a
    /// thing not there leaves unread.
    mutating func skipStatement() throws(NFSyntaxError) {
        while tok.kind != .newline, tok.kind != .end, !isPunct(";") {
            if isPunct("{") { i += 1; try skipBlock() } else { i += 1 }
        }
    }

    /// `list ruleset [FAMILY]`, `list tables [FAMILY]`, `list table|chain|set|map ...`: printed,
    /// as `nft -f` prints them, once the whole batch is in.
    mutating func list(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let wt = tok
        let what = try word("'ruleset', 'tables', 'table', 'chain', 'set', 'map', or what a table holds ('counters', 'sets', ...)")
        func family() -> NFFamily? {
            guard tok.kind == .word, let f = NFFamily(rawValue: tok.text) else { return nil }
            i += 1
            return f
        }
        switch what {
        case "ruleset": rs.lists.append(.ruleset(family()))
        case "tables": rs.lists.append(.tables(family()))
        case "table", "chain", "set", "map":
            let (f, tname) = try familyAndName()
            guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == tname }) else {
                throw refused("No such file or directory; no table \(f.rawValue) \(tname)", at: toks[i - 1])
            }
            if what == "table" { rs.lists.append(.table(f, tname)); return }
            let nt = tok
            let n = try name(what == "chain" ? "a chain name" : "a set name")
            let found = what == "chain" ? rs.tables[ti].chains.contains { $0.name == n }
                : rs.tables[ti].sets.contains { $0.name == n && $0.isMap == (what == "map") }
            guard found else { throw refused("No such file or directory; no \(what) \(n) in table \(f.rawValue) \(tname)", at: nt) }
            rs.lists.append(what == "chain" ? .chain(f, tname, n) : .set(f, tname, n))
        case "counter", "quota", "limit", "ct" where !["helpers", "timeouts", "expectations"].contains(tok.text):
            i -= 1
            guard let kind = objectKind() else { throw err("expected helper, timeout or expectation") }
            let (f, tname) = try familyAndName()
            let nt = tok
            let n = try name("an object name")
            guard rs.tables.contains(where: { $0.family == f && $0.name == tname && $0.objects.contains { $0.kind == kind && $0.name == n } }) else {
                throw refused("No such file or directory", at: nt)
            }
            rs.lists.append(.object(kind, f, tname, n))
        case "counters", "quotas", "limits", "sets", "maps", "chains", "meters", "flowtables", "ct":
            var kind: NFListKind
            switch what {
            case "counters": kind = .objects(.counter)
            case "quotas": kind = .objects(.quota)
            case "limits": kind = .objects(.limit)
            case "sets": kind = .sets
            case "maps": kind = .maps
            case "chains": kind = .chains
            case "meters": kind = .meters
            case "flowtables": kind = .flowtables
            default:
                let w = try word("helpers, timeouts or expectations")
                kind = .objects(w == "helpers" ? .ctHelper : w == "timeouts" ? .ctTimeout : .ctExpectation)
            }
            // nft 1.0.6: `list ct helpers` needs its table, `list maps` takes none.
            let needsTable = what == "ct"
            if isWord("table"), what != "maps" {
                i += 1
                let (f, tname) = try familyAndName()
                guard rs.tables.contains(where: { $0.family == f && $0.name == tname }) else { throw refused("No such file or directory", at: toks[i - 1]) }
                rs.lists.append(.all(kind, f, table: tname))
            } else {
                if needsTable { throw err("syntax error, unexpected \(bisonName(tok)), expecting table") }
                rs.lists.append(.all(kind, family(), table: nil))
            }
        default:
            throw err("expected 'ruleset', 'tables', 'table', 'chain', 'set' or 'map'", at: wt)
        }
    }

    mutating func addChain(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let cname = try identifier("a chain name")
        if !rs.tables[ti].chains.contains(where: { $0.name == cname }) {
            rs.tables[ti].chains.append(NFChain(name: cname, handle: rs.tables[ti].nextHandle, base: nil, rules: []))
            rs.tables[ti].nextHandle += 1
        }
        if isPunct("{") { i += 1; try chainBody(&rs.tables[ti], chain: cname) }
    }

    /// The table and chain a rule command names.
    mutating func chainRef(_ rs: inout NFRuleset) throws(NFSyntaxError) -> (Int, Int) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let ct = tok
        let cname = try identifier("a chain name")
        guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname }) else { throw err("no chain \(cname) in table \(tname)", at: ct) }
        return (ti, ci)
    }

    /// `add|insert rule FAMILY TABLE CHAIN [position H | handle H | index N] ...`: after (add) or
    /// before (insert) the rule with handle H or at index N; without one, at the end (add) or the
    /// start (insert).
    mutating func addRule(_ rs: inout NFRuleset, insert: Bool) throws(NFSyntaxError) {
        let (ti, ci) = try chainRef(&rs)
        let rules = rs.tables[ti].chains[ci].rules
        var at = insert ? 0 : rules.count
        if tok.kind == .word, ["position", "handle", "index"].contains(tok.text) {
            let pt = tok
            i += 1
            let nt = tok
            guard let n = Int(try word("a number")) else { throw err("expected a number", at: nt) }
            // Handle 0 is none (nft sends no position): the end or the start, as without one (recorded).
            if n != 0 || pt.text == "index" {
                let k = pt.text == "index" ? (n < rules.count ? n : nil) : rules.firstIndex { $0.handle == n }
                guard let k else { throw refused("Could not process rule: No such file or directory", at: pt) }
                at = insert ? k : k + 1
            }
        }
        try rule(&rs.tables[ti], chainIndex: ci, at: at)
    }

    /// `replace rule FAMILY TABLE CHAIN handle H ...`: a new rule in the old one's place, with its handle.
    mutating func replaceRule(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (ti, ci) = try chainRef(&rs)
        let ht = tok
        try expectWord("handle")
        let nt = tok
        guard let h = Int(try word("a rule handle")) else { throw err("expected a rule handle", at: nt) }
        guard let k = rs.tables[ti].chains[ci].rules.firstIndex(where: { $0.handle == h }) else {
            throw refused("Could not process rule: No such file or directory", at: ht)
        }
        let old = rs.tables[ti].chains[ci].rules.remove(at: k)
        try rule(&rs.tables[ti], chainIndex: ci, at: k, replacing: old.handle)
    }

    /// Whether what `create` names exists already (the words after it are read again by `add`).
    func exists(_ rs: NFRuleset, _ what: String) throws(NFSyntaxError) -> Bool {
        var p = self
        let (f, tname) = try p.familyAndName()
        guard let t = rs.tables.first(where: { $0.family == f && $0.name == tname }) else { return false }
        if what == "table" { return true }
        let n = try p.name("a name")
        return what == "chain" ? t.chains.contains { $0.name == n } : t.sets.contains { $0.name == n }
    }

    /// `flush ruleset`, `flush table T` (every chain's rules), `flush chain T C`, `flush set|map T S` (elements).
    mutating func flush(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let wt = tok
        let what = try word("'ruleset', 'table', 'chain', 'set' or 'map'")
        if what == "ruleset" { rs.tables = []; return }
        guard ["table", "chain", "set", "map"].contains(what) else { throw err("expected 'ruleset', 'table', 'chain', 'set' or 'map'", at: wt) }
        let (f, tname) = try familyAndName()
        guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == tname }) else {
            throw refused("Could not process rule: No such file or directory", at: toks[i - 1])
        }
        if what == "table" {
            for ci in rs.tables[ti].chains.indices { rs.tables[ti].chains[ci].rules = [] }
            return
        }
        let nt = tok
        let n = try name("a name")
        if what == "chain" {
            guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == n }) else { throw refused("Could not process rule: No such file or directory", at: nt) }
            rs.tables[ti].chains[ci].rules = []
            return
        }
        // `flush map` names a map, `flush set` a set.
        guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == n && $0.isMap == (what == "map") }) else {
            throw refused("Could not process rule: No such file or directory", at: nt)
        }
        rs.tables[ti].sets[si].elements = []
        rs.tables[ti].sets[si].elementInfo = []
        if rs.tables[ti].sets[si].verdicts != nil { rs.tables[ti].sets[si].verdicts = [] }
        if rs.tables[ti].sets[si].data != nil { rs.tables[ti].sets[si].data = [] }
        // And what rules added to it.
        rs.elementChanges.append(.flush(f, table: tname, set: n))
    }

    /// `reset counters|quotas [table FAMILY NAME]`, `reset counter|quota FAMILY TABLE NAME`: the
    /// named objects start again from zero (nft 1.0.6 resets named objects only, not the counters
    /// inside rules; it has no `reset rules`).
    mutating func reset(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        if isWord("rules") || isWord("rule") {
            let one = tok.text == "rule"
            i += 1
            return try resetRules(&rs, one: one)
        }
        let wt = tok
        let what = try word("counter, counters, quotas or quota")
        let kind: NFObjectKind
        switch what {
        case "counter", "counters": kind = .counter
        case "quota", "quotas": kind = .quota
        default: throw err("syntax error, expecting counter or counters or quotas or quota", at: wt)
        }
        var tables = Array(rs.tables.indices)
        var only: String? = nil
        if what.hasSuffix("s") {
            if isWord("table") {
                i += 1
                let (f, n) = try familyAndName()
                guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == n }) else {
                    throw refused("Could not process rule: No such file or directory", at: toks[i - 1])
                }
                tables = [ti]
            }
        } else {
            let (f, n) = try familyAndName()
            let nt = tok
            only = try name("an object name")
            guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == n }),
                  rs.tables[ti].objects.contains(where: { $0.kind == kind && $0.name == only }) else {
                throw refused("Could not process rule: No such file or directory", at: nt)
            }
            tables = [ti]
        }
        for ti in tables {
            for o in rs.tables[ti].objects where o.kind == kind && (only == nil || o.name == only) { rs.resets.append((ti, o.handle)) }
        }
    }

    /// `rename chain FAMILY TABLE OLD NEW` (jumps to it follow, as they name the chain object).
    mutating func rename(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let st = toks[i - 1]
        try expectWord("chain")
        let (f, tname) = try familyAndName()
        guard let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == tname }) else {
            throw refused("Could not process rule: No such file or directory", at: toks[i - 1])
        }
        let ot = tok
        let old = try identifier("a chain name")
        let new = try identifier("a chain name")
        guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == old }) else { throw refused("Could not process rule: No such file or directory", at: ot) }
        guard !rs.tables[ti].chains.contains(where: { $0.name == new }) else { throw refused("Could not process rule: File exists", at: st) }
        rs.tables[ti].chains[ci].name = new
        func renamed(_ v: NFVerdict) -> NFVerdict {
            switch v {
            case .jump(old): .jump(new)
            case .goto(old): .goto(new)
            default: v
            }
        }
        for c in rs.tables[ti].chains.indices {
            for r in rs.tables[ti].chains[c].rules.indices {
                var rule = rs.tables[ti].chains[c].rules[r]
                func renamedIn(_ s: NFStatement) -> NFStatement {
                    switch s {
                    case .verdict(let v): .verdict(renamed(v))
                    case .vmap(let sel, let entries): .vmap(sel, entries.map { ($0.0, renamed($0.1)) })
                    case .concatVmap(let sels, let entries): .concatVmap(sels, entries.map { ($0.0, renamed($0.1)) })
                    default: s
                    }
                }
                rule.statements = rule.statements.map(renamedIn)
                rule.listed = rule.listed?.map(renamedIn)
                rule.text = NFPrinter.rule(rule.listed ?? rule.statements, family: rs.tables[ti].family)
                rs.tables[ti].chains[c].rules[r] = rule
            }
        }
        for s in rs.tables[ti].sets.indices { rs.tables[ti].sets[s].verdicts = rs.tables[ti].sets[s].verdicts?.map(renamed) }
    }

    mutating func addSet(_ rs: inout NFRuleset, isMap: Bool) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let sname = try identifier("a set name")
        try expectPunct("{")
        try setBody(&rs.tables[ti], name: sname, isMap: isMap)
    }

    mutating func addElements(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let st = tok
        let sname = try identifier("a set name")
        guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else { throw err("no set \(sname)", at: st) }
        let et = tok
        var values: [UInt64] = []
        let (vals, vs, infos) = try elementList(keys: rs.tables[ti].sets[si].keys, isMap: rs.tables[ti].sets[si].isMap,
                                                data: rs.tables[ti].sets[si].dataType, values: &values)
        if !rs.tables[ti].sets[si].interval { try wildcardsNeedInterval(vals, from: et, isMap: rs.tables[ti].sets[si].isMap) }
        if rs.tables[ti].sets[si].interval, !rs.tables[ti].sets[si].autoMerges, NFParser.overlap(rs.tables[ti].sets[si].elements + vals) {
            throw refused("conflicting intervals specified", at: et)
        }
        if let max = rs.tables[ti].sets[si].size, rs.tables[ti].sets[si].elements.count + vals.count > max {
            throw refused("Could not process rule: Too many open files in system (set \(sname) holds at most \(max) elements)", at: et)
        }
        rs.tables[ti].sets[si].append(vals, info: infos)
        if rs.tables[ti].sets[si].verdicts != nil { rs.tables[ti].sets[si].verdicts! += vs }
        if rs.tables[ti].sets[si].data != nil { rs.tables[ti].sets[si].data! += values }
        rs.tables[ti].sets[si].autoMerge()
    }
}
