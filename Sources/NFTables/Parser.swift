/// Reads nft's text syntax: `table` blocks as `nft list ruleset` prints them and `nft -f` reads
/// them, and `add table/chain/rule/set/element`, `flush ruleset` commands. Handles are assigned
/// as the kernel does: per table, chains first, then sets, then rules (an anonymous set takes a
/// handle just before its rule).
public struct NFParser {
    private var toks: [NFToken]
    private var i = 0

    /// Parses `text` and applies it to `base` (like `nft -f` on a running ruleset).
    public static func parse(_ text: String, onto base: NFRuleset = NFRuleset()) throws(NFSyntaxError) -> NFRuleset {
        var p = NFParser(toks: try NFLexer.tokenize(text))
        return try p.ruleset(base)
    }

    private init(toks: [NFToken]) { self.toks = toks }

    // MARK: tokens

    private var tok: NFToken { toks[i] }
    private func err(_ m: String, at t: NFToken? = nil) -> NFSyntaxError {
        let t = t ?? tok
        let found = t.kind == .end ? "end of input" : t.kind == .newline ? "end of line" : "'\(t.text)'"
        return NFSyntaxError(line: t.line, column: t.column, message: "\(m), found \(found)")
    }
    private mutating func skipNewlines() { while tok.kind == .newline || tok.kind == .handle || (tok.kind == .punct && tok.text == ";") { i += 1 } }
    private func isPunct(_ s: String) -> Bool { tok.kind == .punct && tok.text == s }
    private func isWord(_ s: String) -> Bool { tok.kind == .word && tok.text == s }
    private mutating func expectPunct(_ s: String) throws(NFSyntaxError) {
        guard isPunct(s) else { throw err("expected '\(s)'") }
        i += 1
    }
    private mutating func expectWord(_ s: String) throws(NFSyntaxError) {
        guard isWord(s) else { throw err("expected '\(s)'") }
        i += 1
    }
    private mutating func word(_ what: String) throws(NFSyntaxError) -> String {
        guard tok.kind == .word else { throw err("expected \(what)") }
        defer { i += 1 }
        return tok.text
    }
    private mutating func name(_ what: String) throws(NFSyntaxError) -> String {
        guard tok.kind == .word || tok.kind == .string else { throw err("expected \(what)") }
        defer { i += 1 }
        return tok.text
    }
    private var atStatementEnd: Bool { tok.kind == .newline || tok.kind == .end || tok.kind == .handle || isPunct(";") || isPunct("}") }

    // MARK: ruleset

    private mutating func ruleset(_ base: NFRuleset) throws(NFSyntaxError) -> NFRuleset {
        var rs = base
        skipNewlines()
        while tok.kind != .end {
            let t = tok
            let w = try word("'table', 'add', 'flush' or 'delete'")
            switch w {
            case "table": try tableBlock(&rs, create: true)
            case "add", "create":
                let what = try word("'table', 'chain', 'rule', 'set' or 'element'")
                switch what {
                case "table": try tableBlock(&rs, create: true)
                case "chain": try addChain(&rs)
                case "rule": try addRule(&rs)
                case "set", "map": try addSet(&rs)
                case "element": try addElements(&rs)
                default: throw err("expected 'table', 'chain', 'rule', 'set' or 'element'", at: toks[i - 1])
                }
            case "flush":
                let what = try word("'ruleset'")
                guard what == "ruleset" else { throw err("only 'flush ruleset' is supported", at: toks[i - 1]) }
                rs.tables = []
            case "delete":
                try delete(&rs)
            default:
                throw err("expected 'table', 'add', 'flush' or 'delete'", at: t)
            }
            skipNewlines()
        }
        return rs
    }

    private mutating func family() throws(NFSyntaxError) -> NFFamily {
        let t = tok
        if tok.kind == .word, let f = NFFamily(rawValue: tok.text) {
            i += 1
            if f == .ip6 || f == .arp || f == .bridge { throw NFSyntaxError(line: t.line, column: t.column, message: "family \(f.rawValue) is not supported yet (ip, inet and netdev are)") }
            return f
        }
        return .ip   // nft's default family
    }

    private mutating func familyAndName() throws(NFSyntaxError) -> (NFFamily, String) {
        // `table NAME` defaults to ip; `table FAMILY NAME` otherwise.
        if tok.kind == .word, NFFamily(rawValue: tok.text) != nil, toks[i + 1].kind == .word || toks[i + 1].kind == .string {
            let f = try family()
            return (f, try name("a table name"))
        }
        return (.ip, try name("a table name"))
    }

    private func tableIndex(_ rs: inout NFRuleset, _ f: NFFamily, _ n: String, create: Bool) -> Int? {
        if let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == n }) { return ti }
        guard create else { return nil }
        let handle = (rs.tables.map(\.handle).max() ?? 0) + 1
        rs.tables.append(NFTable(family: f, name: n, handle: handle, chains: [], sets: [], nextHandle: 1))
        return rs.tables.count - 1
    }

    /// `table FAMILY NAME { chain ... set ... }`: chains and sets are declared before any rule gets a handle.
    private mutating func tableBlock(_ rs: inout NFRuleset, create: Bool) throws(NFSyntaxError) {
        let (f, n) = try familyAndName()
        let ti = tableIndex(&rs, f, n, create: true)!
        guard isPunct("{") else { return }
        i += 1
        skipNewlines()
        // Pass 1: remember each chain's and set's token range; give chains then sets their handles.
        var chainBodies: [(String, Int)] = []
        var setBodies: [(String, Int, Bool)] = []
        while !isPunct("}") {
            let t = tok
            let w = try word("'chain', 'set', 'map' or '}'")
            switch w {
            case "chain":
                let cname = try name("a chain name")
                if !rs.tables[ti].chains.contains(where: { $0.name == cname }) {
                    rs.tables[ti].chains.append(NFChain(name: cname, handle: 0, base: nil, rules: []))
                }
                try expectPunct("{")
                chainBodies.append((cname, i))
                try skipBlock()
            case "set", "map":
                let sname = try name("a set name")
                try expectPunct("{")
                setBodies.append((sname, i, w == "map"))
                try skipBlock()
            case "flags", "comment":
                while !atStatementEnd { i += 1 }
            default:
                throw err("expected 'chain', 'set', 'map' or '}'", at: t)
            }
            skipNewlines()
        }
        let close = i
        for k in rs.tables[ti].chains.indices where rs.tables[ti].chains[k].handle == 0 {
            rs.tables[ti].chains[k].handle = rs.tables[ti].nextHandle
            rs.tables[ti].nextHandle += 1
        }
        // Pass 2: sets, then chain bodies (rules), in declaration order.
        for (sname, start, isMap) in setBodies {
            i = start
            try setBody(&rs.tables[ti], name: sname, isMap: isMap)
        }
        for (cname, start) in chainBodies {
            i = start
            try chainBody(&rs.tables[ti], chain: cname)
        }
        i = close + 1
    }

    /// Skips a `{ ... }` block whose opening brace was consumed.
    private mutating func skipBlock() throws(NFSyntaxError) {
        var depth = 1
        while depth > 0 {
            if tok.kind == .end { throw err("expected '}'") }
            if isPunct("{") { depth += 1 } else if isPunct("}") { depth -= 1 }
            i += 1
        }
    }

    private mutating func chainBody(_ t: inout NFTable, chain cname: String) throws(NFSyntaxError) {
        let ci = t.chains.firstIndex { $0.name == cname }!
        skipNewlines()
        while !isPunct("}") {
            if isWord("type") {
                let start = tok
                i += 1
                guard let type = NFChainType(rawValue: try word("a chain type (filter, nat, route)")) else { throw err("expected filter, nat or route", at: toks[i - 1]) }
                try expectWord("hook")
                let hookTok = tok
                guard let hook = NFHook(rawValue: try word("a hook")) else { throw err("expected a hook (prerouting, input, forward, output, postrouting, ingress)", at: hookTok) }
                var device: String? = nil
                if isWord("device") { i += 1; device = try name("a device name") }
                try expectWord("priority")
                let prio = try priority()
                if type == .nat && hook == .forward { throw NFSyntaxError(line: start.line, column: start.column, message: "nat chains cannot hook forward") }
                if hook == .ingress && t.family != .netdev && t.family != .inet { throw NFSyntaxError(line: hookTok.line, column: hookTok.column, message: "ingress needs a netdev table") }
                if hook == .ingress && device == nil { throw NFSyntaxError(line: hookTok.line, column: hookTok.column, message: "an ingress chain needs a device") }
                t.chains[ci].base = NFBaseChain(type: type, hook: hook, priority: prio, device: device, policy: t.chains[ci].base?.policy ?? .accept)
            } else if isWord("policy") {
                i += 1
                let pt = tok
                let p = try word("accept or drop")
                guard p == "accept" || p == "drop" else { throw err("expected accept or drop", at: pt) }
                guard t.chains[ci].base != nil else { throw err("policy needs a base chain (type ... hook ...)", at: pt) }
                t.chains[ci].base!.policy = p == "accept" ? .accept : .drop
            } else if isWord("comment") {
                while !atStatementEnd { i += 1 }
            } else {
                try rule(&t, chainIndex: ci)
            }
            skipNewlines()
        }
        i += 1
    }

    private mutating func priority() throws(NFSyntaxError) -> Int {
        var sign = 1
        if isPunct("-") { i += 1; sign = -1 }
        let t = tok
        let w = try word("a priority")
        var base: Int
        if let n = Int(w) { base = sign * n } else if w.hasPrefix("-"), let n = Int(w) { base = n } else if let n = NFPriority.names[w] { base = n } else {
            throw err("expected a number or a priority name (raw, mangle, dstnat, filter, security, srcnat)", at: t)
        }
        // `filter - 5`, `filter + 5`, `filter -5`
        if tok.kind == .word, tok.text.hasPrefix("-"), let n = Int(tok.text) { base += n; i += 1 }
        else if isWord("-") { i += 1; let t2 = tok; guard let n = Int(try word("a number")) else { throw err("expected a number", at: t2) }; base -= n }
        else if isPunct("+") { i += 1; let t2 = tok; guard let n = Int(try word("a number")) else { throw err("expected a number", at: t2) }; base += n }
        return base
    }

    private mutating func setBody(_ t: inout NFTable, name sname: String, isMap: Bool) throws(NFSyntaxError) {
        var key: NFSetKey? = nil
        var interval = false
        var elems: [NFValue] = []
        var verdicts: [NFVerdict]? = isMap ? [] : nil
        skipNewlines()
        while !isPunct("}") {
            let w = try word("'type', 'flags' or 'elements'")
            switch w {
            case "type", "typeof":
                let kt = tok
                let k = try word("a set type")
                guard let kk = NFSetKey(rawValue: k) else { throw err("set type must be ipv4_addr, inet_service, inet_proto, ifname or mark", at: kt) }
                key = kk
                if isPunct(":") { i += 1; _ = try word("verdict") }
            case "flags":
                repeat { if isPunct(",") { i += 1 }; if try word("a flag") == "interval" { interval = true } } while isPunct(",")
            case "elements":
                try expectPunct("=")
                guard let key else { throw err("declare the set's type before its elements") }
                let (vals, vs) = try elementList(key: key, isMap: isMap)
                elems += vals
                if isMap { verdicts! += vs }
            case "size", "policy", "timeout", "gc-interval", "comment":
                while !atStatementEnd { i += 1 }
            default:
                throw err("expected 'type', 'flags' or 'elements'", at: toks[i - 1])
            }
            skipNewlines()
        }
        i += 1
        guard let key else { throw err("set \(sname) has no type") }
        if let si = t.sets.firstIndex(where: { $0.name == sname }) {
            t.sets[si].elements += elems
        } else {
            t.sets.append(NFSet(name: sname, handle: t.nextHandle, key: key, interval: interval, elements: elems, verdicts: verdicts))
            t.nextHandle += 1
        }
    }

    private mutating func elementList(key: NFSetKey, isMap: Bool) throws(NFSyntaxError) -> ([NFValue], [NFVerdict]) {
        try expectPunct("{")
        var vals: [NFValue] = [], vs: [NFVerdict] = []
        skipNewlines()
        while !isPunct("}") {
            vals.append(try scalar(for: key.selector))
            if isMap { try expectPunct(":"); vs.append(try verdictWord()) }
            skipNewlines()
            if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
        }
        i += 1
        return (vals, vs)
    }

    // MARK: commands

    /// `delete table|chain|set|rule ... handle N|element`.
    private mutating func delete(_ rs: inout NFRuleset) throws(NFSyntaxError) {
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
            let (vals, _) = try elementList(key: rs.tables[ti].sets[si].key, isMap: rs.tables[ti].sets[si].verdicts != nil)
            for v in vals {
                guard let k = rs.tables[ti].sets[si].elements.firstIndex(of: v) else { throw err("element not in set \(sname) (No such file or directory)", at: et) }
                rs.tables[ti].sets[si].elements.remove(at: k)
                if rs.tables[ti].sets[si].verdicts != nil { rs.tables[ti].sets[si].verdicts!.remove(at: k) }
            }
        default:
            throw err("expected 'table', 'chain', 'set', 'rule' or 'element'", at: wt)
        }
    }

    private mutating func addChain(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let cname = try name("a chain name")
        if !rs.tables[ti].chains.contains(where: { $0.name == cname }) {
            rs.tables[ti].chains.append(NFChain(name: cname, handle: rs.tables[ti].nextHandle, base: nil, rules: []))
            rs.tables[ti].nextHandle += 1
        }
        if isPunct("{") { i += 1; try chainBody(&rs.tables[ti], chain: cname) }
    }

    private mutating func addRule(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let ct = tok
        let cname = try name("a chain name")
        guard let ci = rs.tables[ti].chains.firstIndex(where: { $0.name == cname }) else { throw err("no chain \(cname) in table \(tname)", at: ct) }
        try rule(&rs.tables[ti], chainIndex: ci)
    }

    private mutating func addSet(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let sname = try name("a set name")
        try expectPunct("{")
        try setBody(&rs.tables[ti], name: sname, isMap: false)
    }

    private mutating func addElements(_ rs: inout NFRuleset) throws(NFSyntaxError) {
        let (f, tname) = try familyAndName()
        guard let ti = tableIndex(&rs, f, tname, create: false) else { throw err("no table \(f.rawValue) \(tname)", at: toks[i - 1]) }
        let st = tok
        let sname = try name("a set name")
        guard let si = rs.tables[ti].sets.firstIndex(where: { $0.name == sname }) else { throw err("no set \(sname)", at: st) }
        let (vals, vs) = try elementList(key: rs.tables[ti].sets[si].key, isMap: rs.tables[ti].sets[si].verdicts != nil)
        rs.tables[ti].sets[si].elements += vals
        if rs.tables[ti].sets[si].verdicts != nil { rs.tables[ti].sets[si].verdicts! += vs }
    }

    // MARK: rules

    private mutating func rule(_ t: inout NFTable, chainIndex ci: Int) throws(NFSyntaxError) {
        var stmts: [NFStatement] = []
        var anonymousSets = 0
        while !atStatementEnd {
            let s = try statement(table: t, anonymousSets: &anonymousSets)
            stmts.append(s)
        }
        var explicit: Int? = nil
        if tok.kind == .handle { explicit = Int(tok.text); i += 1 }
        guard !stmts.isEmpty else { return }
        // Anonymous sets and maps take handles before the rule does; a `# handle N` keeps N.
        t.nextHandle += anonymousSets
        let handle = explicit ?? t.nextHandle
        t.nextHandle = max(t.nextHandle, handle) + 1
        t.chains[ci].rules.append(NFRule(handle: handle, statements: stmts, text: NFPrinter.rule(stmts)))
    }

    private mutating func verdictWord() throws(NFSyntaxError) -> NFVerdict {
        let t = tok
        switch try word("a verdict") {
        case "accept": return .accept
        case "drop": return .drop
        case "continue": return .continue
        case "return": return .return
        case "queue": return .queue
        case "jump": return .jump(try name("a chain name"))
        case "goto": return .goto(try name("a chain name"))
        default: throw err("expected a verdict (accept, drop, continue, return, jump, goto)", at: t)
        }
    }

    private static let selectorWords: [String: [String: NFSelector]] = [
        "ip": ["saddr": .ipSaddr, "daddr": .ipDaddr, "protocol": .ipProtocol, "ttl": .ipTTL, "length": .ipLength, "frag-off": .ipFragOff,
               "id": .ipID, "dscp": .ipDSCP, "version": .ipVersion, "hdrlength": .ipHdrLength],
        "tcp": ["sport": .tcpSport, "dport": .tcpDport, "flags": .tcpFlags, "sequence": .tcpSeq, "ackseq": .tcpAck, "window": .tcpWindow],
        "udp": ["sport": .udpSport, "dport": .udpDport, "length": .udpLength],
        "th": ["sport": .thSport, "dport": .thDport],
        "icmp": ["type": .icmpType, "code": .icmpCode, "id": .icmpID, "sequence": .icmpSeq],
        "meta": ["iif": .iif, "oif": .oif, "iifname": .iifname, "oifname": .oifname, "l4proto": .l4proto, "mark": .mark,
                 "length": .length, "pkttype": .pkttype, "nfproto": .nfproto],
        "ct": ["state": .ctState, "status": .ctStatus, "mark": .ctMark, "direction": .ctDirection],
    ]

    private mutating func statement(table: NFTable, anonymousSets: inout Int) throws(NFSyntaxError) -> NFStatement {
        let t = tok
        guard t.kind == .word else { throw err("expected a statement") }
        switch t.text {
        case "accept", "drop", "continue", "return", "jump", "goto", "queue":
            return .verdict(try verdictWord())
        case "counter":
            i += 1
            if isWord("packets") { i += 2; if isWord("bytes") { i += 2 } }
            return .counter
        case "notrack":
            i += 1
            return .notrack
        case "log":
            i += 1
            var prefix: String? = nil
            while isWord("prefix") || isWord("level") || isWord("flags") || isWord("group") {
                let k = try word("a log option")
                let v = try name("a value")
                if k == "prefix" { prefix = v }
            }
            return .log(prefix: prefix)
        case "limit":
            i += 1
            try expectWord("rate")
            var over = false
            if isWord("over") { i += 1; over = true }
            let nt = tok
            guard let n = UInt64(try word("a rate")) else { throw err("expected a number", at: nt) }
            try expectPunct("/")
            let ut = tok
            let per: UInt64
            switch try word("second, minute, hour or day") {
            case "second": per = 1_000_000_000
            case "minute": per = 60_000_000_000
            case "hour": per = 3_600_000_000_000
            case "day": per = 86_400_000_000_000
            default: throw err("expected second, minute, hour or day", at: ut)
            }
            var burst: UInt64 = 5
            if isWord("burst") { i += 1; burst = UInt64(try word("a burst")) ?? 5; if isWord("packets") { i += 1 } }
            return .limit(rate: n, perNs: per, burst: burst, over: over)
        case "reject":
            i += 1
            if isWord("with") {
                i += 1
                let kind = try word("tcp or icmp")
                if kind == "tcp" { try expectWord("reset"); return .reject(tcpReset: true, icmpCode: 3) }
                guard kind == "icmp" || kind == "icmpx" else { throw err("expected tcp or icmp", at: toks[i - 1]) }
                if isWord("type") { i += 1 }
                let ct = tok
                let code = try word("an ICMP code name")
                guard let c = NFConstants.icmpUnreachCodes[code] else { throw err("unknown reject type \(code)", at: ct) }
                return .reject(tcpReset: false, icmpCode: c)
            }
            return .reject(tcpReset: false, icmpCode: 3)
        case "snat", "dnat":
            i += 1
            if isWord("ip") { i += 1 }
            try expectWord("to")
            let (a, ah, p, ph) = try natTarget()
            return t.text == "snat" ? .snat(addr: a, addrHi: ah, port: p, portHi: ph) : .dnat(addr: a, addrHi: ah, port: p, portHi: ph)
        case "masquerade", "redirect":
            i += 1
            var p: UInt16? = nil, ph: UInt16? = nil
            if isWord("to") {
                i += 1
                let (_, _, pp, pph) = try natTarget()
                p = pp; ph = pph
            }
            while isWord("random") || isWord("persistent") || isWord("fully-random") { i += 1; if isPunct(",") { i += 1 } }
            return t.text == "masquerade" ? .masquerade(port: p, portHi: ph) : .redirect(port: p, portHi: ph)
        default:
            break
        }
        // A selector: `ip saddr`, `tcp dport`, `meta mark`, bare `iifname`, `ct state`...
        var sel: NFSelector
        if let fields = NFParser.selectorWords[t.text] {
            i += 1
            let ft = tok
            let f = try word("a field of \(t.text)")
            guard let s = fields[f] else { throw err("unknown \(t.text) field \(f)", at: ft) }
            sel = s
        } else if ["iif", "oif", "iifname", "oifname", "mark", "l4proto", "pkttype"].contains(t.text), let s = NFParser.selectorWords["meta"]![t.text] {
            i += 1
            sel = s
        } else {
            throw err("expected a statement (a match such as 'ip saddr', 'tcp dport', 'ct state', or a verdict)", at: t)
        }
        if isWord("set") {
            i += 1
            let vt = tok
            guard let v = NFConstants.number(try word("a value")).map({ UInt32(truncatingIfNeeded: $0) }) else { throw err("expected a number", at: vt) }
            switch sel {
            case .mark: return .setMark(v)
            case .ctMark: return .setCtMark(v)
            default: throw err("only meta mark and ct mark can be set", at: vt)
            }
        }
        if isWord("vmap") {
            i += 1
            try expectPunct("{")
            var entries: [(NFValue, NFVerdict)] = []
            skipNewlines()
            while !isPunct("}") {
                let v = try scalar(for: sel)
                try expectPunct(":")
                entries.append((v, try verdictWord()))
                skipNewlines()
                if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
            }
            i += 1
            anonymousSets += 1
            return .vmap(sel, entries)
        }
        var mask: UInt64? = nil
        if isPunct("&") {
            i += 1
            mask = try maskValue(for: sel)
        }
        var op = NFOp.eq
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text) { op = o; i += 1 }
        else if isPunct("!=") { op = .ne; i += 1 }
        let value: NFValue
        if isPunct("{") {
            i += 1
            var vals: [NFValue] = []
            skipNewlines()
            while !isPunct("}") {
                vals.append(try scalar(for: sel))
                skipNewlines()
                if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
            }
            i += 1
            anonymousSets += 1
            value = .set(vals)
        } else if isPunct("@") {
            i += 1
            let nt = tok
            let n = try name("a set name")
            guard table.sets.contains(where: { $0.name == n }) else { throw err("no set @\(n) in table \(table.name)", at: nt) }
            value = .named(n)
        } else if sel == .ctState || sel == .ctStatus || sel == .tcpFlags {
            // flag lists: `established,related`, `fin|syn`, and `tcp flags fin,syn / fin,syn,rst,ack`
            var vals = [try scalar(for: sel)]
            while isPunct(",") || isPunct("|") { i += 1; vals.append(try scalar(for: sel)) }
            if isPunct("/") {
                i += 1
                var m = [try scalar(for: sel)]
                while isPunct(",") || isPunct("|") { i += 1; m.append(try scalar(for: sel)) }
                mask = m.reduce(0) { $0 | NFConstants.bits($1) }
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                return .match(sel, mask: mask, op: op, value: .range(v, v, text: NFPrinter.flags(v, sel)))
            }
            if mask != nil {
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                value = .range(v, v, text: NFPrinter.flags(v, sel))
            } else {
                value = vals.count == 1 ? vals[0] : .set(vals)
            }
        } else {
            value = try scalar(for: sel)
        }
        return .match(sel, mask: mask, op: op, value: value)
    }

    /// `& 0x1fff` or `& (fin|syn|rst|ack)`.
    private mutating func maskValue(for sel: NFSelector) throws(NFSyntaxError) -> UInt64 {
        if isPunct("(") {
            i += 1
            var m: UInt64 = 0
            repeat {
                if isPunct("|") || isPunct(",") { i += 1 }
                m |= NFConstants.bits(try scalar(for: sel))
            } while isPunct("|") || isPunct(",")
            try expectPunct(")")
            return m
        }
        let t = tok
        if sel == .tcpFlags || sel == .ctState || sel == .ctStatus {
            var m = NFConstants.bits(try scalar(for: sel))
            while isPunct("|") { i += 1; m |= NFConstants.bits(try scalar(for: sel)) }
            return m
        }
        guard let n = NFConstants.number(try word("a mask")) else { throw err("expected a number", at: t) }
        return n
    }

    /// One value for a selector: a number, name, address, prefix or range.
    private mutating func scalar(for sel: NFSelector) throws(NFSyntaxError) -> NFValue {
        let t = tok
        if t.kind == .string { i += 1; return .string(t.text) }
        let w = try word("a value")
        if sel == .ipSaddr || sel == .ipDaddr {
            if isPunct("/") {
                i += 1
                let lt = tok
                guard let a = NFConstants.ipv4(w), let len = Int(try word("a prefix length")), (0...32).contains(len) else {
                    throw err("expected an IPv4 prefix a.b.c.d/len", at: lt)
                }
                let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)
                let lo = a & mask
                return .range(UInt64(lo), UInt64(lo | ~mask), text: len == 32 ? NFConstants.ipv4Text(lo) : "\(NFConstants.ipv4Text(lo))/\(len)")
            }
            if let dash = w.firstIndex(of: "-"), let a = NFConstants.ipv4(String(w[..<dash])), let b = NFConstants.ipv4(String(w[w.index(after: dash)...])) {
                return .range(UInt64(a), UInt64(b), text: w)
            }
            guard let a = NFConstants.ipv4(w) else { throw err("expected an IPv4 address", at: t) }
            return .range(UInt64(a), UInt64(a), text: w)
        }
        if let dash = w.dropFirst().firstIndex(of: "-"), let a = NFConstants.number(String(w[..<dash])), let b = NFConstants.number(String(w[w.index(after: dash)...])) {
            return .range(a, b, text: w)
        }
        if let n = NFConstants.number(w) { return .range(n, n, text: NFPrinter.number(n, sel)) }
        if let n = NFConstants.named(w, for: sel) { return .range(n, n, text: w) }
        if sel == .iifname || sel == .oifname || sel == .iif || sel == .oif { return .string(w) }
        throw err("unknown value \(w) for \(sel.rawValue)", at: t)
    }

    /// `ADDR[-ADDR][:PORT[-PORT]]` or `:PORT[-PORT]`.
    private mutating func natTarget() throws(NFSyntaxError) -> (UInt32?, UInt32?, UInt16?, UInt16?) {
        var a: UInt32? = nil, ah: UInt32? = nil, p: UInt16? = nil, ph: UInt16? = nil
        func ports(_ s: Substring) -> (UInt16?, UInt16?) {
            let parts = s.split(separator: "-")
            return (parts.first.flatMap { UInt16($0) }, parts.count > 1 ? UInt16(parts[1]) : nil)
        }
        if isPunct(":") {
            i += 1
            let t = tok
            (p, ph) = ports(Substring(try word("a port")))
            guard p != nil else { throw err("expected a port", at: t) }
            return (a, ah, p, ph)
        }
        let t = tok
        let w = try word("an address")
        var addrPart = Substring(w)
        if let colon = w.firstIndex(of: ":") { addrPart = w[..<colon]; (p, ph) = ports(w[w.index(after: colon)...]) }
        let range = addrPart.split(separator: "-")
        guard let first = range.first, let x = NFConstants.ipv4(String(first)) else { throw err("expected an IPv4 address", at: t) }
        a = x
        if range.count > 1 { ah = NFConstants.ipv4(String(range[1])) }
        if isPunct(":") { i += 1; (p, ph) = ports(Substring(try word("a port"))) }
        return (a, ah, p, ph)
    }
}

extension NFSetKey {
    var selector: NFSelector {
        switch self {
        case .ipv4_addr: .ipSaddr
        case .inet_service: .thDport
        case .inet_proto: .l4proto
        case .ifname: .iifname
        case .mark: .mark
        }
    }
}
