/// Reads nft's text syntax: `table` blocks as `nft list ruleset` prints them and `nft -f` reads
/// them, and `add table/chain/rule/set/element`, `flush ruleset` commands. Handles are assigned
/// as the kernel does: per table, chains first, then sets, then rules (an anonymous set takes a
/// handle just before its rule).
public struct NFParser {
    var toks: [NFToken]
    var i = 0
    /// Where each jump/goto target was last named, to point at it if the target is refused.
    var jumpTokens: [String: NFToken] = [:]
    /// Reading a checkpoint (the model's own listing): set elements may carry a quota, which
    /// nft 1.0.6 lists but does not read back.
    var readsCheckpoint = false
    /// Reading a checkpoint or iptables-nft's translation: `xt match set|conntrack|multiport` and
    /// `xt target SET|CONNMARK` (which nft lists but does not read) stand for what the rule's
    /// iptables line says (XtSet.swift).
    var readsCompat = false
    /// Reading how the kernel holds iptables-nft's rules: every `xt match|target NAME` is an
    /// xtables expression to list (`.xt`), never one to run.
    var readsXtListing = false
    /// Base chains declared without a policy ("FAMILY TABLE CHAIN"), for nft's cache (NFCacheOp).
    var unsetPolicies: Set<String> = []
    /// The devices of the stack the ruleset loads into, by name, and their ifindex: nft resolves an
    /// interface index by name as it reads (`iif "eth9"`, `fwd to "eth9"`) and refuses one that does
    /// not exist; a set of them lists in ifindex order. nil: no stack (a checkpoint, a what-if),
    /// names are not checked.
    var interfaces: [String: Int]? = nil
    /// The statement just read has a `ct original saddr` that took its family from `meta nfproto`.
    var ctFamilyFromContext = false
    /// The rest of the statements a raw match lists as (the first is the statement read).
    var expanded: [NFStatement] = []

    /// Parses `text` and applies it to `base` (like `nft -f` on a running ruleset); `files` are
    /// what its `include` lines may name (path → text). `checkpoint`: the text is the model's own
    /// listing (a checkpoint, a stored version), which may say more than nft reads back.
    /// `xtListing`: the text is the expressions the kernel holds for iptables-nft's rules, to list.
    public static func parse(_ text: String, onto base: NFRuleset = NFRuleset(), files: [String: String] = [:],
                             checkpoint: Bool = false, compat: Bool = false, interfaces: [String]? = nil,
                             xtListing: Bool = false) throws(NFSyntaxError) -> NFRuleset {
        guard text.contains("include") else {
            return try parseExpanded(text, onto: base, checkpoint: checkpoint, compat: compat || checkpoint, interfaces: interfaces, xtListing: xtListing)
        }
        let (expanded, origins) = try NFInclude.expand(text, files: files)
        do throws(NFSyntaxError) {
            return try parseExpanded(expanded, onto: base, checkpoint: checkpoint, compat: compat || checkpoint, interfaces: interfaces, xtListing: xtListing)
        } catch {
            // Point into the file the line came from.
            var e = error
            if e.line >= 1 && e.line <= origins.count { e.file = origins[e.line - 1].file; e.line = origins[e.line - 1].line }
            throw e
        }
    }

    /// `interfaces`: the stack's devices in ifindex order (see the parser's `interfaces`).
    private static func parseExpanded(_ text: String, onto base: NFRuleset, checkpoint: Bool, compat: Bool, interfaces: [String]?,
                                      xtListing: Bool) throws(NFSyntaxError) -> NFRuleset {
        var p = NFParser(toks: try NFDefines.expand(try NFLexer.tokenize(text)))
        p.readsCheckpoint = checkpoint
        p.readsCompat = compat || xtListing
        p.readsXtListing = xtListing
        p.interfaces = interfaces.map { Dictionary($0.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { a, _ in a }) }
        let rs = try p.ruleset(base)
        if let bad = NFJumpCheck.check(rs) {
            let t = p.jumpTokens[bad.target] ?? p.toks[0]
            throw NFSyntaxError(line: t.line, column: t.column, message: bad.message, kind: .refused, length: t.width)
        }
        return rs
    }

    private init(toks: [NFToken]) { self.toks = toks }

    // MARK: tokens

    var tok: NFToken { toks[i] }
    /// Where a token read earlier stands (refusals point from it on).
    func index(of t: NFToken) -> Int? { toks.firstIndex { $0.line == t.line && $0.column == t.column } }
    func err(_ m: String, at t: NFToken? = nil) -> NFSyntaxError {
        let t = t ?? tok
        let found = t.kind == .end ? "end of input" : t.kind == .newline ? "end of line" : "'\(t.text)'"
        return NFSyntaxError(line: t.line, column: t.column, message: "\(m), found \(found)", length: t.width)
    }
    /// nft would refuse it (the kernel's errno in brackets where it has one).
    func refused(_ m: String, at t: NFToken? = nil) -> NFSyntaxError {
        let t = t ?? tok
        return NFSyntaxError(line: t.line, column: t.column, message: m, kind: .refused, length: t.width)
    }
    /// A refusal whose carets span `first` through `last` (on one line), as nft underlines an expression.
    func refused(_ m: String, from first: NFToken, to last: NFToken) -> NFSyntaxError {
        var e = refused(m, at: first)
        if last.line == first.line, last.column >= first.column { e.length = last.column + last.width - first.column }
        return e
    }
    /// nft takes it; the model does not act on it yet, so it is refused rather than ignored.
    func unsupported(_ what: String, at t: NFToken? = nil) -> NFSyntaxError {
        let t = t ?? tok
        return NFSyntaxError(line: t.line, column: t.column, message: "not supported yet: \(what)", kind: .unsupported, length: t.width)
    }
    mutating func skipNewlines() { while tok.kind == .newline || tok.kind == .handle || tok.kind == .iptables || (tok.kind == .punct && tok.text == ";") { i += 1 } }
    func isPunct(_ s: String) -> Bool { tok.kind == .punct && tok.text == s }
    func isWord(_ s: String) -> Bool { tok.kind == .word && tok.text == s }
    /// Whether `b` starts where `a` ends: no space between them.
    func touching(_ a: NFToken, _ b: NFToken) -> Bool { a.line == b.line && a.column + a.width == b.column }
    /// The items of an anonymous set or map after its `{`, separated by commas or newlines, up to
    /// and including the `}`.
    /// `map { KEY : DATA, ... }` after a one-selector key: its entries, each key read as `key`
    /// reads and its data by `data`.
    mutating func mapEntries<T>(_ key: NFSelector, _ data: (inout NFParser) throws(NFSyntaxError) -> T) throws(NFSyntaxError) -> [(NFValue, T)] {
        try expectWord("map")
        try expectPunct("{")
        return try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, T) in
            let k = try p.scalar(for: key)
            try p.expectPunct(":")
            return (k, try data(&p))
        }
    }

    mutating func braceList<T>(_ item: (inout NFParser) throws(NFSyntaxError) -> T) throws(NFSyntaxError) -> [T] {
        var items: [T] = []
        skipNewlines()
        while !isPunct("}") {
            items.append(try item(&self))
            skipNewlines()
            if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
        }
        i += 1
        return items
    }
    mutating func expectPunct(_ s: String) throws(NFSyntaxError) {
        guard isPunct(s) else { throw err("expected '\(s)'") }
        i += 1
    }
    mutating func expectWord(_ s: String) throws(NFSyntaxError) {
        guard isWord(s) else { throw err("expected '\(s)'") }
        i += 1
    }
    mutating func word(_ what: String) throws(NFSyntaxError) -> String {
        guard tok.kind == .word else { throw err("expected \(what)") }
        defer { i += 1 }
        return tok.text
    }
    /// Words nft 1.0.6's scanner makes keywords: a table, chain, set or object name cannot be one,
    /// and cannot be quoted either ("syntax error, unexpected fwd, expecting string"). Found by
    /// trying each word this parser knows as a chain name on the real nft 1.0.6.
    static let reservedWords: Set<String> = [
        "accept", "add", "ah", "all", "and", "arp", "auto-merge", "bridge", "cgroup", "chain", "comment", "comp",
        "continue", "counter", "cpu", "create", "ct", "day", "dccp", "define", "delete", "device", "dnat", "drop",
        "dst", "dup", "dynamic", "ecn", "element", "elements", "eq", "esp", "ether", "exists", "expires", "exthdr",
        "fib", "flags", "flow", "flush", "frag", "fwd", "gc-interval", "ge", "goto", "gt", "handle", "hbh", "hook",
        "hour", "icmp", "icmpv6", "igmp", "iif", "iifgroup", "iifname", "iiftype", "include", "index", "inet",
        "insert", "interval", "ip", "ip6", "ipsec", "jhash", "jump", "le", "limit", "list", "log", "lt", "map", "mark",
        "masquerade", "meta", "meter", "mh", "missing", "ne", "netdev", "nftrace", "notrack", "numgen", "oif",
        "oifgroup", "oifname", "oiftype", "or", "osf", "pkttype", "policy", "position", "priority", "queue", "quota",
        "random", "redefine", "redirect", "reject", "rename", "replace", "reset", "return", "rt", "rt0", "rt2", "rule",
        "ruleset", "sctp", "secmark", "set", "size", "skgid", "skuid", "snat", "socket", "srh", "symhash", "synproxy",
        "table", "tcp", "timeout", "tproxy", "type", "typeof", "udp", "udplite", "undefine", "update", "vlan", "vmap",
        "xor", "xt"
    ]

    /// A table, chain, set, map or object name: an unquoted word that is not a keyword, as nft's grammar takes it.
    mutating func identifier(_ what: String) throws(NFSyntaxError) -> String {
        if tok.kind == .string { throw err("syntax error, unexpected quoted string, expecting string") }
        // nft's scanner reads a leading digit as a number: `table ip 2filter` is a syntax error there.
        if tok.kind == .word, tok.text.first?.isNumber == true { throw err("syntax error, unexpected number, expecting string") }
        if tok.kind == .word, NFParser.reservedWords.contains(tok.text) {
            throw NFSyntaxError(line: tok.line, column: tok.column, message: "syntax error, unexpected \(tok.text), expecting string (a keyword cannot name \(what.replacingOccurrences(of: " name", with: "")))", length: tok.width)
        }
        return try name(what)
    }

    /// A wildcard name (`"eth*"`) is a prefix: nft takes it only into an interval set or map, and
    /// points at the element (recorded).
    func wildcardsNeedInterval(_ vals: [NFValue], from start: NFToken, isMap: Bool) throws(NFSyntaxError) {
        guard vals.contains(where: { v in
            if case .string(let n) = v { n.hasSuffix("*") } else if case .tuple(let ps) = v { ps.contains { if case .string(let n) = $0 { n.hasSuffix("*") } else { false } } } else { false }
        }) else { return }
        let k = index(of: start) ?? 0
        let t = toks[k...].first { $0.kind == .string && $0.text.hasSuffix("*") } ?? start
        throw refused("You must add 'flags interval' to your \(isMap ? "map" : "set") declaration if you want to add prefix elements", at: t)
    }

    /// A device name where nft wants an interface index (resolved as read; see `interfaces`).
    mutating func deviceName(_ what: String = "a device name") throws(NFSyntaxError) -> String {
        let t = tok
        let n = try name(what)
        try checkInterface(n, at: t)
        return n
    }
    func checkInterface(_ name: String, at t: NFToken) throws(NFSyntaxError) {
        if let interfaces, interfaces[name] == nil { throw refused("Interface does not exist", at: t) }
    }
    mutating func name(_ what: String) throws(NFSyntaxError) -> String {
        guard tok.kind == .word || tok.kind == .string else { throw err("expected \(what)") }
        defer { i += 1 }
        return tok.text
    }
    /// `flags a, b`: the one flag the model acts on, refused as not supported for any other.
    mutating func flagList(_ owner: String, modelled: String) throws(NFSyntaxError) {
        repeat {
            if isPunct(",") { i += 1 }
            let ft = tok
            let f = try word("a \(owner) flag")
            guard f == modelled else { throw unsupported("\(owner) flag \(f) (\(modelled) is modelled)", at: ft) }
        } while isPunct(",")
    }

    /// nft's `stmt_separator`: each item of a chain block (and each block in a table) ends in a
    /// newline or `;` before the closing brace: `accept }` on one line is a syntax error in nft.
    func expectSeparator() throws(NFSyntaxError) {
        guard tok.kind == .newline || tok.kind == .handle || tok.kind == .iptables || tok.kind == .end || isPunct(";") else {
            throw unexpected(tok, expecting: "newline or semicolon")
        }
    }
    /// bison's "syntax error, unexpected TOKEN[, expecting ...]" under `t`, as nft prints it (the
    /// token as `bisonName` names it unless told).
    func unexpected(_ t: NFToken, as name: String? = nil, expecting: String? = nil) -> NFSyntaxError {
        NFSyntaxError(line: t.line, column: t.column, message: "syntax error, unexpected \(name ?? bisonName(t))" + (expecting.map { ", expecting \($0)" } ?? ""), length: t.width)
    }
    /// A token as nft's bison messages name it: `'}'`, a keyword itself, `number`, `string`.
    func bisonName(_ t: NFToken) -> String {
        switch t.kind {
        case .punct: return "'\(t.text)'"
        case .string: return "quoted string"
        case .end: return "end of file"
        case .newline: return "newline"
        default: return NFParser.reservedWords.contains(t.text) ? t.text : t.text.first?.isNumber == true ? "number" : "string"
        }
    }
    var atStatementEnd: Bool { tok.kind == .newline || tok.kind == .end || tok.kind == .handle || tok.kind == .iptables || isPunct(";") || isPunct("}") }

    // MARK: ruleset

    mutating func ruleset(_ base: NFRuleset) throws(NFSyntaxError) -> NFRuleset {
        var rs = base
        rs.cacheOps = []
        // A batch with a `list` keeps what each command does to nft's cache (NFCacheOp).
        let tracksCache = toks.contains { $0.kind == .word && $0.text == "list" }
        skipNewlines()
        while tok.kind != .end {
            let t = tok
            let before = tracksCache ? rs : nil
            let next = toks[min(i + 1, toks.count - 1)].text
            defer { if let before { rs.cacheOps += NFCacheOp.of(t.text, next, before: before, after: rs, unsetPolicies: unsetPolicies) } }
            let w = try word("a command ('table', 'add', 'create', 'insert', 'replace', 'delete', 'destroy', 'flush', 'rename', 'reset', 'list', 'get')")
            switch w {
            case "table": try tableBlock(&rs, create: true)
            case "add", "create":
                // `create` is `add` that refuses what exists (EEXIST).
                let wt = tok
                if let kind = objectKind() {
                    try addObject(&rs, kind, create: w == "create")
                    break
                }
                let what = try word("'table', 'chain', 'rule', 'set', 'map' or 'element'")
                if w == "create", what != "rule", what != "element", try exists(rs, what) {
                    throw refused("Could not process rule: File exists", at: wt)
                }
                switch what {
                case "table": try tableBlock(&rs, create: true)
                case "chain": try addChain(&rs)
                case "rule": try addRule(&rs, insert: false)
                case "set", "map": try addSet(&rs, isMap: what == "map")
                case "element": try addElements(&rs)
                default: throw err("expected 'table', 'chain', 'rule', 'set', 'map' or 'element'", at: wt)
                }
            case "insert":
                try expectWord("rule")
                try addRule(&rs, insert: true)
            case "replace":
                try expectWord("rule")
                try replaceRule(&rs)
            case "flush":
                try flush(&rs)
            case "rename":
                try rename(&rs)
            case "reset":
                try reset(&rs)
            case "list":
                try list(&rs)
            case "get":
                try getElements(&rs)
            case "delete":
                try delete(&rs)
            case "destroy":
                try delete(&rs, destroy: true)
            default:
                throw err("expected a command ('table', 'add', 'create', 'insert', 'replace', 'delete', 'destroy', 'flush', 'rename', 'reset', 'list', 'get')", at: t)
            }
            // `} table ...` on one line is a syntax error in nft.
            guard tok.kind != .word else { throw err("syntax error, unexpected \(tok.text), expecting end of file or newline or semicolon") }
            skipNewlines()
        }
        return rs
    }

    mutating func family() throws(NFSyntaxError) -> NFFamily {
        let t = tok
        if tok.kind == .word, let f = NFFamily(rawValue: tok.text) {
            i += 1
            if f == .arp || f == .bridge { throw unsupported("family \(f.rawValue) (ip, ip6, inet and netdev are modelled)", at: t) }
            return f
        }
        return .ip   // nft's default family
    }

    mutating func familyAndName() throws(NFSyntaxError) -> (NFFamily, String) {
        // `table NAME` defaults to ip; `table FAMILY NAME` otherwise.
        if tok.kind == .word, NFFamily(rawValue: tok.text) != nil, toks[i + 1].kind == .word || toks[i + 1].kind == .string {
            let f = try family()
            return (f, try identifier("a table name"))
        }
        return (.ip, try identifier("a table name"))
    }

    func tableIndex(_ rs: inout NFRuleset, _ f: NFFamily, _ n: String, create: Bool) -> Int? {
        if let ti = rs.tables.firstIndex(where: { $0.family == f && $0.name == n }) { return ti }
        guard create else { return nil }
        let handle = (rs.tables.map(\.handle).max() ?? 0) + 1
        rs.tables.append(NFTable(family: f, name: n, handle: handle, chains: [], sets: [], nextHandle: 1))
        return rs.tables.count - 1
    }

    /// `table FAMILY NAME { chain ... set ... }`: chains and sets are declared before any rule gets a handle.
    mutating func tableBlock(_ rs: inout NFRuleset, create: Bool) throws(NFSyntaxError) {
        let (f, n) = try familyAndName()
        let ti = tableIndex(&rs, f, n, create: true)!
        guard isPunct("{") else { return }
        i += 1
        skipNewlines()
        // Pass 1: remember each chain's and set's token range; give chains then sets their handles.
        var chainBodies: [(String, Int)] = []
        // A missing separator after a block is reported after the blocks' own errors, which come first in the text.
        var separatorError: NFSyntaxError? = nil
        var setBodies: [(String, Int, Bool)] = []
        var objectBodies: [(NFObjectKind, String, Int, NFToken)] = []
        while !isPunct("}") {
            let t = tok
            let w = try word("'chain', 'set', 'map' or '}'")
            switch w {
            case "counter", "quota", "limit", "synproxy":
                let nt = tok
                let oname = try name("an object name")
                try expectPunct("{")
                objectBodies.append((NFObjectKind(rawValue: w)!, oname, i, nt))
                try skipBlock()
                do throws(NFSyntaxError) { try expectSeparator() } catch { separatorError = separatorError ?? error }
            case "ct" where tok.kind == .word && ["helper", "timeout", "expectation"].contains(tok.text):
                let kind = NFObjectKind(rawValue: "ct " + tok.text)!
                i += 1
                let nt = tok
                let oname = try identifier("an object name")
                try expectPunct("{")
                objectBodies.append((kind, oname, i, nt))
                try skipBlock()
                do throws(NFSyntaxError) { try expectSeparator() } catch { separatorError = separatorError ?? error }
            case "ct", "secmark":
                throw unsupported("\(w) objects", at: t)
            case "chain":
                let cname = try identifier("a chain name")
                if !rs.tables[ti].chains.contains(where: { $0.name == cname }) {
                    rs.tables[ti].chains.append(NFChain(name: cname, handle: 0, base: nil, rules: []))
                }
                try expectPunct("{")
                chainBodies.append((cname, i))
                try skipBlock()
                do throws(NFSyntaxError) { try expectSeparator() } catch { separatorError = separatorError ?? error }
            case "set", "map":
                let sname = try identifier("a set name")
                try expectPunct("{")
                setBodies.append((sname, i, w == "map"))
                try skipBlock()
                do throws(NFSyntaxError) { try expectSeparator() } catch { separatorError = separatorError ?? error }
            case "flags":
                try flagList("table", modelled: "dormant")
                rs.tables[ti].dormant = true
                try expectSeparator()
            case "comment":
                rs.tables[ti].comment = try name("a comment string")
                try expectSeparator()
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
        // Pass 2: objects, sets, then chain bodies (rules), in declaration order.
        for (kind, oname, start, nameTok) in objectBodies {
            i = start
            skipNewlines()
            let st = tok
            var stmt: NFStatement
            switch kind {
            case .counter: stmt = try counterBody()
            case .quota: stmt = try quotaBody()
            case .limit: stmt = try limitBody()
            case .synproxy: stmt = try synproxyObjectBody()
            default: stmt = try ctObjectBody(kind, family: rs.tables[ti].family, nameTok: nameTok)
            }
            skipNewlines()
            guard isPunct("}") else { throw err("expected '}'") }
            if let k = rs.tables[ti].objects.firstIndex(where: { $0.kind == kind && $0.name == oname }) {
                if kind.updatable { rs.tables[ti].objects[k].statement = stmt }
            } else {
                rs.tables[ti].objects.append(NFObject(kind: kind, name: oname, handle: rs.tables[ti].nextHandle, statement: stmt))
                rs.tables[ti].nextHandle += 1
            }
            _ = st
        }
        for (sname, start, isMap) in setBodies {
            i = start
            try setBody(&rs.tables[ti], name: sname, isMap: isMap)
        }
        for (cname, start) in chainBodies {
            i = start
            try chainBody(&rs.tables[ti], chain: cname)
        }
        if let separatorError { throw separatorError }
        i = close + 1
    }

    /// Skips a `{ ... }` block whose opening brace was consumed.
    mutating func skipBlock() throws(NFSyntaxError) {
        var depth = 1
        while depth > 0 {
            if tok.kind == .end { throw err("expected '}'") }
            if isPunct("{") { depth += 1 } else if isPunct("}") { depth -= 1 }
            i += 1
        }
    }

    /// nft's chain_evaluate and the kernel's chain type checks, with their messages and places:
    /// the family's hooks, a device for netdev and ingress chains only, the chain types the
    /// family has (netdev: filter) and the hooks each type takes (nat: not forward; route: output).
    func checkHook(_ family: NFFamily, _ type: NFChainType, _ hook: NFHook, device: String?,
                   at t: (start: NFToken, type: NFToken, hook: NFToken, device: NFToken, deviceEnd: NFToken, name: NFToken)) throws(NFSyntaxError) {
        let hooks: Set<NFHook> = switch family {
        case .netdev: [.ingress, .egress]
        case .inet: [.prerouting, .input, .forward, .output, .postrouting, .ingress]
        default: [.prerouting, .input, .forward, .output, .postrouting]
        }
        guard hooks.contains(hook) else { throw refused("The \(family.rawValue) family does not support this hook", at: t.hook) }
        let bound = family == .netdev || hook == .ingress
        if bound, device == nil {
            throw refused("Missing `device' in this chain definition", from: t.start, to: toks[i - 1])
        }
        if !bound, device != nil {
            throw refused("This chain type cannot be bound to device", from: t.device, to: t.deviceEnd)
        }
        if family == .netdev, type != .filter { throw refused("Could not process rule: No such file or directory", at: t.type) }
        if type == .nat && (hook == .forward || hook == .ingress) || type == .route && hook != .output {
            throw refused("Could not process rule: Operation not supported", at: t.name)
        }
    }

    mutating func chainBody(_ t: inout NFTable, chain cname: String) throws(NFSyntaxError) {
        let ci = t.chains.firstIndex { $0.name == cname }!
        // (`chain NAME {`: where the kernel's refusals of a chain point.)
        let nameTok = i >= 2 && toks[i - 1].text == "{" ? toks[i - 2] : tok
        skipNewlines()
        while !isPunct("}") {
            // (An unclosed body at the end of the text: an empty rule there consumes nothing.)
            guard tok.kind != .end else { throw err("expected '}'") }
            if isWord("type") {
                let start = tok
                i += 1
                let typeTok = tok
                guard let type = NFChainType(rawValue: try word("a chain type (filter, nat, route)")) else { throw err("expected filter, nat or route", at: toks[i - 1]) }
                try expectWord("hook")
                let hookTok = tok
                guard let hook = NFHook(rawValue: try word("a hook")) else { throw err("expected a hook (prerouting, input, forward, output, postrouting, ingress, egress)", at: hookTok) }
                var devices: [String] = []
                let deviceTok = tok
                if isWord("device") { i += 1; devices = [try name("a device name")] }
                else if isWord("devices") {
                    // `devices = { eth0, eth1 }`: the chain is on each of them.
                    i += 1
                    try expectPunct("=")
                    try expectPunct("{")
                    devices = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> String in try p.name("a device name") }
                }
                let deviceEnd = toks[i - 1]
                try expectWord("priority")
                let prio = try priority()
                try checkHook(t.family, type, hook, device: devices.first, at: (start, typeTok, hookTok, deviceTok, deviceEnd, nameTok))
                if t.chains[ci].base == nil { unsetPolicies.insert("\(t.family.rawValue) \(t.name) \(t.chains[ci].name)") }
                t.chains[ci].base = NFBaseChain(type: type, hook: hook, priority: prio, devices: devices, policy: t.chains[ci].base?.policy ?? .accept)
            } else if isWord("policy") {
                i += 1
                let pt = tok
                let p = try word("accept or drop")
                guard p == "accept" || p == "drop" else { throw err("expected accept or drop", at: pt) }
                guard t.chains[ci].base != nil else { throw err("policy needs a base chain (type ... hook ...)", at: pt) }
                t.chains[ci].base!.policy = p == "accept" ? .accept : .drop
                unsetPolicies.remove("\(t.family.rawValue) \(t.name) \(t.chains[ci].name)")
            } else if isWord("comment") {
                i += 1
                t.chains[ci].comment = try name("a comment string")
            } else {
                try rule(&t, chainIndex: ci)
            }
            try expectSeparator()
            skipNewlines()
        }
        i += 1
    }

    mutating func priority() throws(NFSyntaxError) -> Int {
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

    mutating func setBody(_ t: inout NFTable, name sname: String, isMap: Bool) throws(NFSyntaxError) {
        let nameTok = i >= 2 && toks[i - 1].text == "{" ? toks[i - 2] : tok
        var key: NFSetKey? = nil
        var interval = false
        var elems: [NFValue] = []
        var elemInfo: [NFElementInfo] = []
        var dynamic = false, timeouts = false, constant = false, policyMemory = false, autoMerge = false
        var setExprs: [NFStatement] = []
        var statementTok: NFToken? = nil, statementEnd: NFToken? = nil
        var timeout: UInt64? = nil, gcInterval: UInt64? = nil
        var verdicts: [NFVerdict]? = isMap ? [] : nil
        var dataType: NFSetKey? = nil
        var dataValues: [UInt64] = []
        var dataValues6: [UInt128] = []
        var objectKind: NFObjectKind? = nil
        var objectNames: [String] = []
        var size: Int? = nil, comment: String? = nil
        var concat: [NFSetKey]? = nil
        var typeofText: String? = nil
        var dataPort = false
        var sizeTok: NFToken? = nil
        skipNewlines()
        while !isPunct("}") {
            let w = try word("'type', 'flags' or 'elements'")
            switch w {
            case "typeof":
                // The key (and a map's data) as expressions: their types are what the set holds.
                var context = RuleContext()
                context.family = t.family
                var sels = [try typeofSelector(context)]
                while isWord(".") { i += 1; sels.append(try typeofSelector(context)) }
                let keys = sels.map { NFSetKey.of($0.sel)! }
                key = keys[0]
                concat = keys.count > 1 ? keys : nil
                typeofText = sels.map(\.sel.printed).joined(separator: " . ")
                var hasData = false
                if isPunct(":") {
                    i += 1
                    hasData = true
                    if isWord("verdict") {
                        i += 1
                        typeofText! += " : verdict"
                    } else {
                        let d = try typeofSelector(context)
                        guard let dk = NFSetKey.of(d.sel), [.ipv4_addr, .ipv6_addr, .mark, .inet_service].contains(dk) else {
                            throw unsupported("maps of typeof \(typeofText!) : \(d.sel.printed) (verdict maps and data maps of addresses, marks and ports are modelled)", at: d.at)
                        }
                        dataType = dk
                        verdicts = nil
                        typeofText! += " : \(d.sel.printed)"
                        if isWord(".") {
                            i += 1
                            let p = try typeofSelector(context)
                            guard dk == .ipv4_addr || dk == .ipv6_addr, NFSetKey.of(p.sel) == .inet_service, !isWord(".") else {
                                throw unsupported("maps with concatenated data other than an address and a port", at: p.at)
                            }
                            dataPort = true
                            typeofText! += " . \(p.sel.printed)"
                        }
                    }
                }
                guard isMap == hasData else {
                    throw refused(isMap ? "a map needs a data type (typeof KEY : verdict)" : "a set has no data type (use map)", at: sels[0].at)
                }
            case "type":
                let kt = tok
                let k = try word("a set type")
                guard let kk = NFSetKey(rawValue: k) else { throw NFParser.knownTypes.contains(k) ? unsupported("sets of type \(k)", at: kt) : err("unknown set type", at: kt) }
                key = kk
                while isWord(".") {
                    i += 1
                    let ct = tok
                    let mk = try word("a set type")
                    guard let more = NFSetKey(rawValue: mk) else { throw NFParser.knownTypes.contains(mk) ? unsupported("sets of type \(mk)", at: ct) : err("unknown set type", at: ct) }
                    concat = (concat ?? [kk]) + [more]
                }
                var hasData = false
                if isPunct(":") {
                    i += 1
                    let dt = tok
                    // nft 1.0.6 has no object maps of conntrack objects: `: ct helper` is a syntax error.
                    if isWord("ct") { throw err("syntax error, unexpected ct", at: dt) }
                    let data = try word("a map data type")
                    hasData = true
                    if ["counter", "quota", "limit", "synproxy"].contains(data) {
                        // A map of named objects (the rule names the kind: `counter name KEY map @m`).
                        objectKind = NFObjectKind(rawValue: data)
                        verdicts = nil
                    } else if data != "verdict" {
                        // Data maps of the types sets hold: addresses (NAT), marks, ports, MAC addresses and the
                        // other numbers header writes take; names are not held as data.
                        guard let d = NFSetKey(rawValue: data), d != .ifname, d != .iface_index else {
                            if !NFParser.knownTypes.contains(data) { throw err("unknown datatype \(data)", at: dt) }
                            throw unsupported("maps of type \(k) : \(data) (verdict maps and data maps of the set types but ifname and iface_index are modelled)", at: dt)
                        }
                        dataType = d
                        verdicts = nil
                        if isWord(".") {
                            // `ipv4_addr . inet_service`: a NAT map's address and port.
                            i += 1
                            let pt = tok
                            guard d == .ipv4_addr || d == .ipv6_addr, try word("a map data type") == "inet_service", !isWord(".") else {
                                throw unsupported("maps with concatenated data other than an address and inet_service", at: pt)
                            }
                            dataPort = true
                        }
                    }
                }
                guard isMap == hasData else {
                    throw refused(isMap ? "a map needs a data type (type KEY : verdict)" : "a set has no data type (use map)", at: kt)
                }
            case "flags":
                repeat {
                    if isPunct(",") { i += 1 }
                    let ft = tok
                    switch try word("a set flag") {
                    case "interval": interval = true
                    case "dynamic": dynamic = true
                    case "timeout": timeouts = true
                    case "constant": constant = true
                    // nft 1.0.6's grammar knows these four (recorded).
                    default: throw unexpected(ft, as: "string", expecting: "constant or interval or dynamic or timeout")
                    }
                } while isPunct(",")
            case "elements":
                let et = toks[i - 1]
                try expectPunct("=")
                guard let key else { throw err("declare the set's type before its elements") }
                let ei = i
                let (vals, vs, infos) = try elementList(keys: concat ?? [key], isMap: isMap, data: dataType, dataPort: dataPort, values: &dataValues, values6: &dataValues6,
                                                        objects: objectKind.map { k in (k, t.objects.filter { $0.kind == k }.map(\.name)) }, names: &objectNames)
                // The first element statement, its words spanned (nft points there if the set may not hold one).
                if statementTok == nil, infos.contains(where: { !$0.statements.isEmpty }),
                   let k = toks[ei..<i].firstIndex(where: { $0.kind == .word && ["counter", "quota", "limit", "ct"].contains($0.text) }) {
                    let end = toks[k..<i].firstIndex { $0.kind == .punct && [",", "}", ":"].contains($0.text) } ?? k + 1
                    statementTok = toks[k]
                    statementEnd = toks[end - 1]
                }
                if !interval { try wildcardsNeedInterval(vals, from: et, isMap: isMap) }
                // A set holds an element once (`vlan, 0x8100` is one element).
                var seen = isMap ? [] : Set(elems)
                for (v, info) in zip(vals, infos) where isMap || seen.insert(v).inserted {
                    elems.append(v); elemInfo.append(info)
                }
                if isMap && dataType == nil && objectKind == nil { verdicts! += vs }
                if interval && !autoMerge && NFParser.overlap(elems) { throw refused("conflicting intervals specified", at: et) }
                sizeTok = et
            case "size":
                let nt = tok
                guard let n = Int(try word("a size")), n > 0 else { throw err("expected a size", at: nt) }
                size = n
            case "comment":
                comment = try name("a comment string")
            case "timeout", "gc-interval":
                let dt = tok
                guard let ms = NFConstants.duration(try word("a time")) else { throw err("expected a time such as 30s or 1h", at: dt) }
                if w == "timeout" { timeout = ms } else { gcInterval = ms }
            case "policy":
                // The kernel's choice of backend: nothing a packet sees; `memory` is listed.
                let pt = tok
                switch try word("performance or memory") {
                case "performance": policyMemory = false
                case "memory": policyMemory = true
                default: throw err("expected performance or memory", at: pt)
                }
            case "counter", "quota", "limit":
                // The statements every element gets when added without its own (the kernel
                // clones them), on one line or several (`counter quota 100 bytes`, as nft lists them).
                i -= 1
                let st = tok
                for s in try elementExprs() {
                    switch s {
                    case .counter: setExprs.append(.counter(packets: 0, bytes: 0))
                    case .quota(let n, let over, _): setExprs.append(.quota(bytes: n, over: over, used: 0))
                    case .limit: setExprs.append(s)
                    default: throw unsupported("ct count as a set's statement (counter, quota and limit are modelled)", at: st)
                    }
                }
            case "last":
                throw unsupported("last as a set's statement (counter, quota and limit are modelled)", at: toks[i - 1])
            case "auto-merge":
                autoMerge = true
            default:
                throw err("expected 'type', 'flags' or 'elements'", at: toks[i - 1])
            }
            // nft's set_block: every item but `elements = { ... }` ends in a newline or `;`.
            if w != "elements" { try expectSeparator() }
            skipNewlines()
        }
        i += 1
        guard let key else { throw err("set \(sname) has no type") }
        // nf_tables_newset: rules cannot add to a map of objects (EOPNOTSUPP, under its name).
        if dynamic, objectKind != nil { throw refused("Could not process rule: Operation not supported", at: nameTok) }
        // nft: an element's statements need a set that has its own or that rules add to.
        if let st = statementTok, !dynamic, setExprs.isEmpty, !readsCheckpoint {
            throw refused("missing statement in \(isMap ? "map" : "set") declaration", from: st, to: statementEnd ?? st)
        }
        if let si = t.sets.firstIndex(where: { $0.name == sname }) {
            t.sets[si].append(elems, info: elemInfo)
            if let v = verdicts { t.sets[si].verdicts = (t.sets[si].verdicts ?? []) + v }
            if dataType != nil { t.sets[si].data = (t.sets[si].data ?? []) + dataValues }
            if dataType == .ipv6_addr { t.sets[si].data6 = (t.sets[si].data6 ?? []) + dataValues6 }
            if t.sets[si].objectKind != nil { t.sets[si].objectNames = (t.sets[si].objectNames ?? []) + objectNames }
            t.sets[si].autoMerge()
        } else {
            var set = NFSet(name: sname, handle: t.nextHandle, key: key, interval: interval, elements: elems, verdicts: verdicts)
            set.size = size
            set.comment = comment
            set.elementInfo = elemInfo
            set.dynamic = dynamic
            set.timeouts = timeouts || timeout != nil || elemInfo.contains { $0.timeout != nil || $0.expires != nil }
            set.timeout = timeout
            set.gcInterval = gcInterval
            set.concat = concat
            set.typeofText = typeofText
            set.dataPort = dataPort
            if let dataType { set.dataType = dataType; set.data = dataValues }
            if dataType == .ipv6_addr { set.data6 = dataValues6 }
            if let objectKind { set.objectKind = objectKind; set.objectNames = objectNames }
            set.policyMemory = policyMemory
            set.exprs = setExprs
            set.autoMerges = autoMerge && interval
            // nft sizes a constant set by the elements it is declared with (the kernel then refuses
            // more: ENFILE), an interval one not at all; a size given is not used (recorded).
            set.constant = constant
            if constant { set.size = interval || elems.isEmpty ? nil : elems.count }
            set.autoMerge()
            t.sets.append(set)
            t.nextHandle += 1
        }
        // The kernel holds interface indexes: a set of them lists in ifindex order.
        if let interfaces, let si = t.sets.firstIndex(where: { $0.name == sname }), t.sets[si].key == .iface_index, t.sets[si].concat == nil {
            t.sets[si].reorder(by: ifindexRank)
        }
        let set = t.sets.first { $0.name == sname }!
        // A data or object map keyed by a concatenation finds its elements packed into 64 bits, by
        // their words when wider (NFWideKey), or tuple by tuple with ranges in them (the kernel's
        // MapKeys); a map rules add to holds no ranged tuples.
        if set.concat != nil, set.data != nil || set.objectNames != nil, set.dynamic || set.timeouts,
           set.elements.contains(where: { $0 != .catchAll && NFWideKey.words($0) == nil }) {
            throw unsupported("ranges in the keys of a dynamic map with concatenated keys", at: toks[i - 1])
        }
        // Tuples with ranges are matched one by one, without a time to live: refused rather than kept forever.
        if set.concat != nil, set.timeouts, set.elements.indices.contains(where: { k in
            set.elements[k] != .catchAll && NFWideKey.words(set.elements[k]) == nil
                && (set.info(k).timeout ?? set.info(k).expires ?? set.timeout) != nil }) {
            throw unsupported("a timeout on a concatenated element with a range in it", at: toks[i - 1])
        }
        if let max = set.size, set.elements.count > max {
            throw refused("Could not process rule: Too many open files in system (set \(sname) holds at most \(max) elements)", at: sizeTok ?? toks[i - 1])
        }
    }

    /// nft 1.0.6's data types: one the model's sets do not hold is "not supported yet".
    static let knownTypes: Set<String> = [
        "verdict", "nf_proto", "bitmask", "integer", "string", "ll_addr", "ipv4_addr", "ipv6_addr", "ether_addr", "ether_type",
        "arp_op", "inet_proto", "inet_service", "icmp_type", "tcp_flag", "dccp_pkttype", "mh_type", "time", "mark", "iface_index",
        "iface_type", "realm", "classid", "uid", "gid", "ct_state", "ct_dir", "ct_status", "icmpv6_type", "pkt_type", "icmp_code",
        "icmpv6_code", "icmpx_code", "devgroup", "dscp", "ecn", "fib_addrtype", "boolean", "ct_event", "ifname", "igmp_type",
        "time", "day", "hour", "cgroupsv2", "ct_label", "ct_id", "ipsec_sa_dir", "osf", "queue", "counter", "quota", "limit",
    ]

    /// One expression of a `typeof`: a selector whose type the model's sets hold (else "not
    /// supported yet").
    private mutating func typeofSelector(_ context: RuleContext) throws(NFSyntaxError) -> (sel: NFSelector, at: NFToken) {
        let t = tok
        let sel = try concatSelector(context: context)
        guard NFSetKey.of(sel) != nil else {
            throw unsupported("typeof \(sel.printed) in a set (sets of ipv4_addr, ipv6_addr, inet_service, inet_proto, mark, ifname and ether_addr are modelled)", at: t)
        }
        return (sel, t)
    }

    /// A data map's values (of type `data`) are appended to `values`.
    mutating func elementList(keys: [NFSetKey], isMap: Bool, data: NFSetKey? = nil, dataPort: Bool = false, values: inout [UInt64]) throws(NFSyntaxError) -> ([NFValue], [NFVerdict], [NFElementInfo]) {
        var unused: [UInt128] = [], names: [String] = []
        return try elementList(keys: keys, isMap: isMap, data: data, dataPort: dataPort, values: &values, values6: &unused, names: &names)
    }

    /// `values6`: an IPv6 data map's addresses (its ports, or 0, go to `values`).
    /// `objects`: a map of named objects (their kind and the names the table declares); each
    /// element's object name goes to `names`.
    mutating func elementList(keys: [NFSetKey], isMap: Bool, data: NFSetKey? = nil, dataPort: Bool = false, values: inout [UInt64],
                              values6: inout [UInt128], objects: (NFObjectKind, [String])? = nil, names: inout [String]) throws(NFSyntaxError) -> ([NFValue], [NFVerdict], [NFElementInfo]) {
        try expectPunct("{")
        var vals: [NFValue] = [], vs: [NFVerdict] = [], infos: [NFElementInfo] = []
        let firstValue = values.count
        skipNewlines()
        while !isPunct("}") {
            // `*`, the catch-all element: what a key no other element holds finds (nft_set_catchall_lookup).
            if isPunct("*") {
                if objects != nil { throw unsupported("a catch-all element in a map of objects") }
                vals.append(catchAll())
            } else {
                vals.append(keys.count == 1 ? try scalar(for: keys[0].selector) : try tupleValue(keys.map(\.selector)))
            }
            // `timeout T`, `expires T`, `comment "..."` and the stateful expressions nft reads
            // back (`counter packets N bytes M`, `limit rate ...`, `ct count ...`) may follow the key.
            var info = NFElementInfo()
            while tok.kind == .word {
                if ["timeout", "expires", "comment"].contains(tok.text) {
                    let w = tok.text
                    i += 1
                    if w == "comment" { info.comment = try name("a comment string"); continue }
                    let dt = tok
                    guard let ms = NFConstants.duration(try word("a time")) else { throw err("expected a time such as 30s or 1h", at: dt) }
                    if w == "timeout" { info.timeout = ms } else { info.expires = ms }
                    continue
                }
                if isWord("quota") && !readsCheckpoint { throw refused("syntax error, unexpected quota, expecting comma or '}'") }
                let st = try elementExprs()
                if st.isEmpty { break }
                info.statements += st
            }
            if !info.statements.isEmpty { info.exprs = info.statements.map { NFPrinter.statement($0) }.joined(separator: " ") }
            infos.append(info)
            if isMap {
                try expectPunct(":")
                if let (kind, declared) = objects {
                    let nt = tok
                    let n = try name("an object name")
                    guard declared.contains(n) else { throw refused("Could not process rule: No such file or directory (no \(kind.rawValue) \(n))", at: nt) }
                    names.append(n)
                } else if data == .ipv6_addr {
                    let dt = tok
                    guard case .range6(let lo, let hi, _) = try ipv6Value(at: dt), lo == hi else { throw err("expected one IPv6 address", at: dt) }
                    values6.append(lo)
                    var port: UInt64 = 0
                    if dataPort {
                        try expectWord(".")
                        let pt = tok
                        guard case .range(let p, let ph, _) = try scalar(for: .thDport), p == ph else { throw err("expected one port", at: pt) }
                        port = p
                    }
                    values.append(port)
                } else if let data {
                    let dt = tok
                    guard case .range(let lo, let hi, _) = try scalar(for: data.selector), lo == hi else { throw err("expected one \(data.rawValue) value", at: dt) }
                    if dataPort {
                        try expectWord(".")
                        let pt = tok
                        guard case .range(let port, let portHi, _) = try scalar(for: .thDport), port == portHi else { throw err("expected one port", at: pt) }
                        values.append(lo << 16 | port)
                    } else {
                        values.append(lo)
                    }
                } else {
                    vs.append(try verdictWord())
                }
            }
            skipNewlines()
            if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
        }
        i += 1
        // One catch-all, last, as the kernel keeps it apart from the set and nft lists it; several
        // are one (a map's must then map to the same data: the kernel answers EEXIST otherwise).
        while let c = vals.lastIndex(of: .catchAll), let first = vals.firstIndex(of: .catchAll), first != c {
            let same = !isMap || (data == nil ? vs[c] == vs[first] : values[firstValue + c] == values[firstValue + first])
            if !same { throw refused("Could not process rule: File exists (two catch-all elements with different data)") }
            drop(c)
        }
        if let c = vals.firstIndex(of: .catchAll), c != vals.count - 1 {
            let (v, info) = (vals[c], infos[c])
            let verdict = isMap && data == nil ? vs[c] : nil, value = isMap && data != nil ? values[firstValue + c] : nil
            drop(c)
            vals.append(v); infos.append(info)
            if let verdict { vs.append(verdict) }
            if let value { values.append(value) }
        }
        func drop(_ c: Int) {
            vals.remove(at: c); infos.remove(at: c)
            if isMap && data == nil { vs.remove(at: c) }
            if isMap && data != nil { values.remove(at: firstValue + c) }
        }
        return (vals, vs, infos)
    }

}

extension NFParser {
    /// Whether two ranges among `vals` share a value (named interval sets and maps, and
    /// anonymous verdict maps, refuse that; anonymous sets merge instead).
    static func overlap(_ vals: [NFValue]) -> Bool {
        let ranges = vals.compactMap { v -> (UInt64, UInt64)? in
            if case .range(let a, let b, _) = v { return (min(a, b), max(a, b)) }
            return nil
        }.sorted { $0.0 < $1.0 }
        let ranges6 = vals.compactMap { v -> (UInt128, UInt128)? in
            if case .range6(let a, let b, _) = v { return (min(a, b), max(a, b)) }
            return nil
        }.sorted { $0.0 < $1.0 }
        // Names: a wildcard (`"eth*"`) is the range of names it starts, so another name it starts
        // overlaps it (recorded: `"eth0" : accept, "eth*" : drop` is conflicting).
        let names = vals.compactMap { v -> String? in if case .string(let n) = v { n } else { nil } }
        let prefixes = names.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }
        let namesOverlap = prefixes.contains { p in names.filter { $0 != p + "*" }.contains { $0.hasPrefix(p) } }
        return namesOverlap || zip(ranges, ranges.dropFirst()).contains { $1.0 <= $0.1 } || zip(ranges6, ranges6.dropFirst()).contains { $1.0 <= $0.1 }
    }
}

extension NFSetKey {
    /// Whether what `sel` reads is of this type (a dynamic set's key must be).
    func accepts(_ sel: NFSelector) -> Bool {
        switch self {
        case .ipv4_addr: sel.isAddress
        case .ipv6_addr: sel.isAddress6
        case .inet_service: sel.isPort
        case .inet_proto: sel == .l4proto || sel == .ipProtocol || sel.rawValue == "ip6 nexthdr"
        case .mark: sel == .mark || sel == .ctMark
        case .ifname: sel == .iifname || sel == .oifname
        // A device's index, which nft resolves from its name as it reads it (names here).
        case .iface_index: sel.isInterfaceIndex
        case .ether_addr: sel.isMAC
        case .icmp_type: sel == .icmpType
        case .icmpv6_type: sel.rawValue == "icmpv6 type"
        case .tcp_flag: sel == .tcpFlags
        case .ct_state: sel == .ctState
        case .dscp: sel == .ipDSCP || sel.rawValue == "ip6 dscp"
        case .ether_type: sel.rawValue == "ether type"
        case .pkt_type: sel == .pkttype
        case .nf_proto: sel == .nfproto
        case .uid: sel == .skuid
        case .gid: sel == .skgid
        }
    }

    /// The type of what `sel` reads (a meter's set takes it).
    static func of(_ sel: NFSelector) -> NFSetKey? {
        NFSetKey.allCases.first { $0.accepts(sel) }
    }

    public var selector: NFSelector {
        switch self {
        case .ipv4_addr: .ipSaddr
        case .ipv6_addr: NFSelector(rawValue: "ip6 saddr")!
        case .inet_service: .thDport
        case .inet_proto: .l4proto
        case .ifname: .iifname
        case .iface_index: .iif
        case .mark: .mark
        case .ether_addr: NFSelector(rawValue: "ether saddr")!
        case .icmp_type: .icmpType
        case .icmpv6_type: NFSelector(rawValue: "icmpv6 type")!
        case .tcp_flag: .tcpFlags
        case .ct_state: .ctState
        case .dscp: .ipDSCP
        case .ether_type: NFSelector(rawValue: "ether type")!
        case .pkt_type: .pkttype
        case .nf_proto: .nfproto
        case .uid: .skuid
        case .gid: .skgid
        }
    }
}
