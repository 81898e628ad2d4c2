// Rules: statements, matches, values, verdicts and NAT targets.
extension NFParser {
    /// Reads a rule into chain `ci`: appended, or at index `at`; `replacing` keeps that handle
    /// (`replace rule ... handle N`: anonymous sets still take new handles).
    mutating func rule(_ t: inout NFTable, chainIndex ci: Int, at: Int? = nil, replacing: Int? = nil) throws(NFSyntaxError) {
        var stmts: [NFStatement] = []
        var anonymousSets = 0
        var comment: String? = nil
        var context = RuleContext()
        context.family = t.family
        while !atStatementEnd {
            let st = tok
            if isWord("comment") {
                // `comment "..."` ends a rule.
                i += 1
                comment = try name("a comment string")
                guard atStatementEnd else { throw err("syntax error, expecting newline or semicolon") }
                break
            }
            if let last = stmts.last, last.isTerminal { throw refused("Statement after terminal statement has no effect", at: st) }
            let stmt = try statement(table: t, anonymousSets: &anonymousSets, context: context)
            // A set a rule adds to becomes dynamic (nft sets NFT_SET_EVAL on it).
            if case .dynset(_, let name, _, _) = stmt, let si = t.sets.firstIndex(where: { $0.name == name }) { t.sets[si].dynamic = true }
            if let b = t.chains[ci].base, let why = NFParser.natPlacement(stmt, b) { throw refused("Could not process rule: Operation not supported (\(why))", at: st) }
            // nft_rt_validate: the route's MSS exists after routing only (forward, output, postrouting).
            if let b = t.chains[ci].base, ![.forward, .output, .postrouting].contains(b.hook), stmt.readsRouteMTU {
                throw refused("Could not process rule: Operation not supported", at: st)
            }
            // A header field of the protocol an earlier `ip protocol`/`meta l4proto` fixed makes that
            // match redundant: nft lists the rule without it (the field's own check stays).
            if case .match(let sel, _, _, _) = stmt, let p = sel.impliedProtocol, let d = context.dependency, context.l4 == UInt64(p) {
                stmts.remove(at: d)
                context.dependency = nil
                if let l3 = context.l3Dependency, l3 > d { context.l3Dependency = l3 - 1 }
            }
            // In an ip table `meta protocol ip` before a header field is implied by it too.
            if case .match(let sel, _, _, _) = stmt, sel.payload != nil, let d = context.l3Dependency {
                stmts.remove(at: d)
                context.l3Dependency = nil
                if let l4d = context.dependency, l4d > d { context.dependency = l4d - 1 }
            }
            if case .match(let sel, _, _, _) = stmt, sel.isMAC || sel.rawValue == "ether type", let d = context.linkDependency {
                stmts.remove(at: d)
                context.linkDependency = nil
                if let l4d = context.dependency, l4d > d { context.dependency = l4d - 1 }
                if let l3 = context.l3Dependency, l3 > d { context.l3Dependency = l3 - 1 }
            }
            if case .match(let sel, _, _, _) = stmt, let (d, nfproto) = context.nfprotoDependency {
                let proto = sel.rawValue.prefix { $0 != " " }
                if nfproto == 2 ? (proto == "ip" || proto == "icmp") : (proto == "ip6" || proto == "icmpv6") {
                    stmts.remove(at: d)
                    context.nfprotoDependency = nil
                    if let l4d = context.dependency, l4d > d { context.dependency = l4d - 1 }
                }
            }
            // A statement between a dependency and the field keeps the dependency in nft's listing.
            if case .match = stmt {} else {
                context.dependency = nil; context.l3Dependency = nil; context.linkDependency = nil; context.nfprotoDependency = nil
            }
            // `icmp id` and `icmp sequence` exist only in echo messages: nft adds (and lists) that
            // dependency unless the rule already matches on icmp type.
            if case .match(let sel, _, _, _) = stmt, sel == .icmpID || sel == .icmpSeq, !context.icmpTypeSeen {
                stmts.append(.match(.icmpType, mask: nil, op: .implicit,
                                    value: .set([.range(0, 0, text: "echo-reply"), .range(8, 8, text: "echo-request")])))
                anonymousSets += 1   // the dependency's set takes a handle as any anonymous set does
                context.icmpTypeSeen = true
            }
            if case .match(.icmpType, _, _, _) = stmt { context.icmpTypeSeen = true }
            context.note(stmt, index: stmts.count, family: t.family)
            stmts.append(stmt)
        }
        var explicit: Int? = nil
        if tok.kind == .handle { explicit = Int(tok.text); i += 1 }
        guard !stmts.isEmpty else { return }
        // Anonymous sets and maps take handles before the rule does; a `# handle N` keeps N.
        t.nextHandle += anonymousSets
        let handle: Int
        if let replacing { handle = replacing } else {
            handle = explicit ?? t.nextHandle
            t.nextHandle = max(t.nextHandle, handle) + 1
        }
        let r = NFRule(handle: handle, statements: stmts, text: NFPrinter.rule(stmts, family: t.family), comment: comment)
        t.chains[ci].rules.insert(r, at: at ?? t.chains[ci].rules.count)
    }

    mutating func verdictWord() throws(NFSyntaxError) -> NFVerdict {
        let t = tok
        switch try word("a verdict") {
        case "accept": return .accept
        case "drop": return .drop
        case "continue": return .continue
        case "return": return .return
        case "queue":
            var num = 0, bypass = false
            while tok.kind == .word, ["num", "to", "bypass", "fanout"].contains(tok.text) {
                let w = tok.text
                i += 1
                if w == "num" || w == "to" {
                    let nt = tok
                    guard let n = Int(try word("a queue number")), (0...65535).contains(n) else { throw err("expected a queue number", at: nt) }
                    num = n
                }
                if w == "bypass" { bypass = true }
                if isPunct(",") { i += 1 }
            }
            return .queue(num: num, bypass: bypass)
        case "jump", "goto":
            let ct = tok
            let target = try name("a chain name")
            jumpTokens[target] = ct
            return t.text == "jump" ? .jump(target) : .goto(target)
        default: throw err("expected a verdict (accept, drop, continue, return, jump, goto)", at: t)
        }
    }

    static var selectorWords: [String: [String: NFSelector]] { NFSelector.fieldsByProtocol }

    /// What the matches before a statement established (nft's protocol context).
    struct RuleContext {
        var family: NFFamily = .ip
        var ipv4 = false, transport = false
        /// `meta nfproto ipv6`: IPv4 fields cannot follow.
        var ipv6Only = false
        /// The transport protocol the rule has fixed so far, and the protocols of a set match on it.
        var l4: UInt64? = nil
        var l4Set: [UInt64] = []
        /// An explicit `ip protocol X` / `meta l4proto X` a later header field of X makes redundant
        /// (nft drops it from the listing: the field implies it).
        var dependency: Int? = nil
        /// `meta protocol ip` in an ip table, which any header field implies.
        var l3Dependency: Int? = nil
        /// `iiftype ether`, which an Ethernet header field implies.
        var linkDependency: Int? = nil
        var icmpTypeSeen = false
        /// `meta nfproto ipv4|ipv6` in an inet table, which an ip/icmp (ip6/icmpv6) field implies.
        var nfprotoDependency: (index: Int, nfproto: UInt64)? = nil

        static func protoName(_ p: UInt64) -> String { NFConstants.protocolName(p) }

        /// nft's protocol context: a header field of another protocol than the one fixed is refused.
        func check(_ sel: NFSelector, at t: NFToken, _ p: NFParser) throws(NFSyntaxError) {
            if ipv6Only || family == .ip6, sel.rawValue.hasPrefix("ip ") || sel.rawValue.contains(" ip ") {
                throw p.refused("conflicting protocols specified: ip6 vs. ip", at: t)
            }
            if ipv4 || family == .ip, sel.isIPv6Field {
                throw p.refused("conflicting protocols specified: ip vs. ip6", at: t)
            }
            guard let want = sel.impliedProtocol.map(UInt64.init) else { return }
            if let l4, l4 != want { throw p.refused("conflicting protocols specified: \(Self.protoName(l4)) vs. \(Self.protoName(want))", at: t) }
            if let other = l4Set.last(where: { $0 != want }) {
                throw p.refused("conflicting protocols specified: \(Self.protoName(other)) vs. \(Self.protoName(want))", at: t)
            }
        }

        mutating func note(_ s: NFStatement, index: Int, family: NFFamily) {
            guard case .match(let sel, let mask, let op, let v) = s, op == .eq || op == .implicit else { return }
            if let p = sel.impliedProtocol { l4 = UInt64(p) }
            if sel == .metaProtocol, family == .ip, mask == nil, case .range(0x0800, 0x0800, _) = v { l3Dependency = index }
            if sel == .iiftype, mask == nil, case .range(1, 1, _) = v { linkDependency = index }
            if mask == nil, sel == .l4proto || sel == .ipProtocol {
                // In inet `ip protocol` also means IPv4, so only there it is not redundant.
                if case .range(let lo, let hi, _) = v, lo == hi { l4 = lo; dependency = sel == .l4proto || family == .ip ? index : nil }
                if case .set(let vs) = v {
                    l4Set = vs.compactMap { if case .range(let lo, let hi, _) = $0, lo == hi { lo } else { nil } }
                    // Every protocol of the set has ports: a port mapping may follow.
                    if !l4Set.isEmpty, l4Set.count == vs.count, l4Set.allSatisfy({ [6, 17, 33, 132, 136].contains($0) }) { transport = true }
                }
            }
            if sel.impliedProtocol != nil || sel == .thSport || sel == .thDport { transport = true }
            if sel == .ipProtocol || sel == .l4proto, case .range(let lo, let hi, _) = v, lo == hi, [6, 17, 33, 132, 136].contains(lo) { transport = true }
            if sel.rawValue.hasPrefix("ip ") { ipv4 = true }
            if sel.isIPv6Field { ipv6Only = true }
            // `meta nfproto ipv4|ipv6` an IP header field of that family (or ICMP of it) implies in inet.
            if sel == .nfproto, family == .inet, mask == nil, case .range(let lo, let hi, _) = v, lo == hi, lo == 2 || lo == 10 {
                nfprotoDependency = (index, lo)
            }
            if sel == .nfproto, case .range(2, 2, _) = v { ipv4 = true }
            if sel == .nfproto, case .range(10, 10, _) = v { ipv6Only = true }
        }
    }

    mutating func statement(table: NFTable, anonymousSets: inout Int, context: RuleContext = RuleContext()) throws(NFSyntaxError) -> NFStatement {
        let t = tok
        guard t.kind == .word else { throw err("expected a statement") }
        switch t.text {
        case "accept", "drop", "continue", "return", "jump", "goto", "queue":
            return .verdict(try verdictWord())
        case "counter", "quota", "limit":
            i += 1
            let kind = NFObjectKind(rawValue: t.text)!
            if isWord("name") { return try objectRef(kind, table: table, context: context, anonymousSets: &anonymousSets) }
            switch kind {
            case .counter: return try counterBody()
            case .quota: return try quotaBody()
            case .limit: return try limitBody()
            }
        case "notrack":
            i += 1
            return .notrack
        case "log":
            i += 1
            return .log(try logOptions(start: t))
        case "reject":
            i += 1
            if isWord("with") {
                i += 1
                let kind = try word("tcp or icmp")
                if kind == "tcp" {
                    try expectWord("reset")
                    if let l4 = context.l4, l4 != 6 { throw refused("you cannot use tcp reset with this protocol", at: t) }
                    return .reject(tcpReset: true, icmpCode: 3)
                }
                guard kind == "icmp" || kind == "icmpx" || kind == "icmpv6" else { throw err("expected tcp, icmp, icmpx or icmpv6", at: toks[i - 1]) }
                if isWord("type") { i += 1 }
                let ct = tok
                let code = try word("an ICMP code name")
                let n = NFConstants.number(code).flatMap { UInt8(exactly: $0) }
                if kind == "icmpv6" {
                    // In inet it implies meta nfproto ipv6; an ip table cannot send ICMPv6.
                    if table.family == .ip || context.ipv4 { throw refused("conflicting protocols specified: ip vs ip6", at: ct) }
                    guard let c = n ?? NFConstants.icmp6CodeList.first(where: { $0.0 == code }).map({ UInt8($0.1) }) else { throw err("unknown reject type \(code)", at: ct) }
                    return .rejectICMPv6(c)
                }
                // A number is the code itself (icmpx: 0 no-route, 1 port-unreachable, 2 host-unreachable, 3 admin-prohibited).
                let icmpxByNumber = ["no-route", "port-unreachable", "host-unreachable", "admin-prohibited"]
                if kind == "icmpx", table.family != .inet, table.family != .netdev { throw refused("abstracted ICMP unreachable not supported", at: ct) }
                let c: UInt8?
                if kind == "icmpx" { c = NFConstants.icmpxCodes[n.flatMap { Int($0) < 4 ? icmpxByNumber[Int($0)] : nil } ?? code] } else { c = n ?? NFConstants.icmpUnreachCodes[code] }
                guard let c else { throw err("unknown reject type \(code)", at: ct) }
                return .reject(tcpReset: false, icmpCode: c, icmpx: kind == "icmpx")
            }
            return .reject(tcpReset: false, icmpCode: 3)
        case "add", "update", "delete" where toks[i + 1].kind == .punct && toks[i + 1].text == "@":
            // `add|update|delete @s { KEY [timeout T] }`: the rule changes a set (nft_dynset).
            i += 2
            let nt = tok
            let sname = try name("a set name")
            guard let set = table.sets.first(where: { $0.name == sname }), set.verdicts == nil else {
                throw refused("Could not process rule: No such file or directory", at: nt)
            }
            try expectPunct("{")
            let kt = tok
            let key = try concatSelector(context: context)
            if isWord(".") { throw unsupported("sets updated from rules with concatenated keys", at: tok) }
            if tok.kind == .word, ["limit", "counter", "quota", "ct"].contains(tok.text) { throw unsupported("\(tok.text) on the elements of a set updated from rules", at: tok) }
            guard set.concat == nil, set.key.accepts(key) else {
                throw refused("datatype mismatch: set @\(sname) holds \(set.keys.map(\.rawValue).joined(separator: " . "))", at: kt)
            }
            var timeout: UInt64? = nil
            if isWord("timeout") {
                i += 1
                let dt = tok
                guard let ms = NFConstants.duration(try word("a time")) else { throw err("expected a time such as 30s or 1h", at: dt) }
                // A timeout needs a set whose elements expire.
                guard set.timeouts else { throw refused("Could not process rule: Operation not supported", at: dt) }
                timeout = ms
            }
            try expectPunct("}")
            return .dynset(op: NFDynsetOp(rawValue: t.text)!, set: sname, key: key, timeout: timeout)
        case "numgen", "jhash", "symhash":
            // `GENERATOR vmap { N : verdict, ... }` (kube-proxy's endpoint choice).
            let g = try generator(context: context)
            try expectWord("vmap")
            try expectPunct("{")
            var entries: [(NFValue, NFVerdict)] = []
            skipNewlines()
            while !isPunct("}") {
                let vt = tok
                let w = try word("a number or range")
                let parts = w.split(separator: "-").map { NFConstants.number(String($0)) }
                guard (1...2).contains(parts.count), let lo = parts[0], let hi = parts.last!, lo <= hi else { throw err("expected a number or range", at: vt) }
                try expectPunct(":")
                entries.append((.range(lo, hi, text: w), try verdictWord()))
                skipNewlines()
                if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
            }
            i += 1
            if NFParser.overlap(entries.map(\.0)) { throw refused("conflicting intervals specified", at: t) }
            anonymousSets += 1   // the anonymous map takes a handle
            return .generatorVmap(g, entries)
        case "snat", "dnat":
            i += 1
            var family = false
            if isWord("ip") { i += 1; family = true }
            try expectWord("to")
            let at = tok
            // `to KEY map { ... }`: a generator or a field keys the address (an address starts with a digit).
            if tok.kind == .word, NFParser.generatorWords.contains(tok.text) || NFParser.selectorWords[tok.text] != nil || tok.text == "meta" || tok.text == "ct" {
                if table.family == .inet, !family, !context.ipv4 { throw refused("ip or ip6 must be specified with address for inet tables.", at: t) }
                anonymousSets += 1   // the anonymous map takes a handle
                return .natMap(try natMap(source: t.text == "snat", context: context))
            }
            let (a, ah, p, ph) = try natTarget()
            if table.family == .inet, a != nil, !family, !context.ipv4 {
                throw refused("ip or ip6 must be specified with address for inet tables.", at: t)
            }
            if p != nil, !context.transport { throw refused("transport protocol mapping is only valid after transport protocol match", at: at) }
            let f = try natFlags()
            return t.text == "snat" ? .snat(addr: a, addrHi: ah, port: p, portHi: ph, flags: f) : .dnat(addr: a, addrHi: ah, port: p, portHi: ph, flags: f)
        case "masquerade", "redirect":
            i += 1
            var p: UInt16? = nil, ph: UInt16? = nil
            if isWord("to") {
                i += 1
                let at = tok
                let (_, _, pp, pph) = try natTarget()
                p = pp; ph = pph
                if !context.transport { throw refused("transport protocol mapping is only valid after transport protocol match", at: at) }
            }
            let f = try natFlags()
            return t.text == "masquerade" ? .masquerade(port: p, portHi: ph, flags: f) : .redirect(port: p, portHi: ph, flags: f)
        default:
            break
        }
        // A selector: `ip saddr`, `tcp dport`, `meta mark`, bare `iifname`, `ct state`...
        var sel: NFSelector
        if t.text == "ct", let s = try ctSelector() {
            sel = s
        } else if t.text == "fib" {
            // `fib saddr . iif oif`: the words up to the result key name the lookup.
            i += 1
            var words: [String] = []
            while tok.kind == .word, !["oif", "oifname", "type"].contains(tok.text) { words.append(tok.text); i += 1 }
            let rt = tok
            let result = try word("oif, oifname or type")
            // nft lists the flags in one order: the address, then mark, then iif.
            let flags = words.filter { $0 != "." }
            if Set(flags).count == flags.count, Set(flags).isSubset(of: ["saddr", "daddr", "mark", "iif"]), let addr = flags.first(where: { $0 == "saddr" || $0 == "daddr" }) {
                words = [addr] + ["mark", "iif"].filter(flags.contains).flatMap { [".", $0] }
            }
            guard let s = NFSelector(rawValue: "fib " + (words + [result]).joined(separator: " ")) else {
                let known = ["saddr", "daddr", ".", "iif"]
                if words.allSatisfy({ known.contains($0) || $0 == "mark" || $0 == "oif" }), words.contains("mark") || result == "oifname" {
                    throw unsupported("fib \((words + [result]).joined(separator: " ")) (saddr/daddr [. mark] [. iif] with oif or type are modelled)", at: t)
                }
                throw refused("fib: \((words + [result]).joined(separator: " ")) is not a valid lookup (saddr or daddr, with . iif, then oif or type)", at: rt)
            }
            sel = s
            if result == "oif", isWord("exists") || isWord("missing") {
                // `oif exists|missing`: whether the lookup found an interface.
                let w = try word("exists or missing")
                return .match(sel, mask: nil, op: w == "exists" ? .ne : .eq, value: .range(0, 0, text: w))
            }
        } else if t.text == "rt" {
            sel = try rtSelector(table: table, context: context)
            if sel.rawValue == "rt ipsec" {
                let et = tok
                let w = try word("exists or missing")
                guard w == "exists" || w == "missing" else { throw err("expected exists or missing", at: et) }
                let v: UInt64 = w == "exists" ? 1 : 0
                return .match(sel, mask: nil, op: .implicit, value: .range(v, v, text: w))
            }
        } else if (t.text == "tcp" && toks[i + 1].text == "option") || (t.text == "sctp" && toks[i + 1].text == "chunk"), toks[i + 1].kind == .word {
            sel = try optionSelector(t.text == "tcp" ? "tcp option" : "sctp chunk")
            if sel.isOptionPresence {
                // `tcp option X exists|missing`.
                let et = tok
                let w = try word("exists or missing")
                guard w == "exists" || w == "missing" else { throw err("expected exists or missing", at: et) }
                try context.check(sel, at: t, self)
                let v: UInt64 = w == "exists" ? 1 : 0
                return .match(sel, mask: nil, op: .implicit, value: .range(v, v, text: w))
            }
        } else if let fields = NFParser.selectorWords[t.text] {
            i += 1
            let ft = tok
            let f = try word("a field of \(t.text)")
            guard let s = fields[f] else { throw err("unknown \(t.text) field \(f)", at: ft) }
            sel = s
        } else if ["iif", "oif", "iifname", "oifname", "mark", "l4proto", "pkttype", "iifgroup", "oifgroup", "iiftype", "oiftype",
                    "skuid", "skgid", "cpu", "cgroup", "priority", "random"].contains(t.text), let s = NFParser.selectorWords["meta"]![t.text] {
            i += 1
            sel = s
        } else if NFParser.notModelled.contains(t.text) {
            // nft reads these; the model does not act on them yet, so they are refused by name.
            throw unsupported(t.text, at: t)
        } else {
            throw err("expected a statement (a match such as 'ip saddr', 'tcp dport', 'ct state', or a verdict)", at: t)
        }
        try context.check(sel, at: t, self)
        if isWord(".") { return try concatenation(first: sel, table: table, anonymousSets: &anonymousSets, context: context) }
        if isWord("set") {
            i += 1
            let vt = tok
            if sel != .mark && sel != .ctMark && sel != .priority {
                // The kernel writes TCP option fields of 2 or 4 bytes only (EOPNOTSUPP for others).
                if let o = sel.tcpOption, !sel.isWritable, o.bitLength > 0 {
                    throw refused("Could not process rule: Operation not supported", at: t)
                }
                guard sel.isWritable else {
                    throw unsupported("setting \(sel.printed) (meta mark, ct mark, meta priority, header fields and TCP option fields can be set)", at: vt)
                }
                // A header field takes one constant (nft refuses a set, a range or a prefix here).
                // `tcp option maxseg size set rt mtu`: MSS clamping to the route.
                if isWord("rt") {
                    let rs = try rtSelector(table: table, context: context)
                    guard rs.rawValue == "rt mtu" else { throw unsupported("setting \(sel.printed) from \(rs.printed)", at: vt) }
                    return .setPayloadFrom(sel, rs)
                }
                guard case .range(let lo, let hi, let text) = try scalar(for: sel), lo == hi else {
                    throw err("expected one value for \(sel.printed)", at: vt)
                }
                return .setPayload(sel, .range(lo, lo, text: text))
            }
            if tok.kind == .word, NFParser.generatorWords.contains(tok.text) { return .setGenerated(target: sel, try generator(context: context)) }
            // `set KEY map { K : V, ... }`: a `map` before the statement ends.
            if toks[i...].prefix(while: { $0.kind != .newline && $0.kind != .end && !($0.kind == .punct && ($0.text == ";" || $0.text == "{")) })
                .contains(where: { $0.kind == .word && $0.text == "map" }) {
                var keys = [try concatSelector(context: context)]
                while isWord(".") { i += 1; keys.append(try concatSelector(context: context)) }
                try expectWord("map")
                try expectPunct("{")
                var entries: [(NFValue, UInt32)] = []
                skipNewlines()
                while !isPunct("}") {
                    let k = keys.count == 1 ? try scalar(for: keys[0]) : try tupleValue(keys)
                    try expectPunct(":")
                    let dt = tok
                    guard case .range(let n, let hi, _) = try scalar(for: sel), n == hi, n <= UInt64(UInt32.max) else { throw err("expected a value", at: dt) }
                    entries.append((k, UInt32(n)))
                    skipNewlines()
                    if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
                }
                i += 1
                anonymousSets += 1   // the anonymous map takes a handle
                return .setMapped(target: sel, key: keys, entries: entries)
            }
            // A source (meta mark / ct mark) with & | ^ (and, or, xor), or a constant.
            var source: NFSelector? = nil
            var mask: UInt32 = .max, xor: UInt32 = 0
            if isWord("meta") || isWord("ct") || isWord("mark") {
                let st = tok
                let w = try word("a source")
                let key = w == "mark" ? "mark" : try word("mark")
                guard key == "mark" else { throw unsupported("\(w) \(key) as a value (meta mark and ct mark are modelled)", at: st) }
                source = w == "ct" ? .ctMark : .mark
            } else {
                let v = try scalar(for: sel == .priority ? .priority : .mark)
                guard case .range(let n, let hi, _) = v, n == hi, n <= UInt64(UInt32.max) else { throw err("expected a value", at: vt) }
                xor = UInt32(n)
                mask = 0
            }
            while tok.kind == .punct && ["&", "|", "^"].contains(tok.text) || tok.kind == .word && ["and", "or", "xor"].contains(tok.text) {
                let op = ["and": "&", "or": "|", "xor": "^"][tok.text] ?? tok.text
                i += 1
                let nt = tok
                guard let n = NFConstants.number(try word("a number")), n <= UInt64(UInt32.max) else { throw err("expected a 32-bit number", at: nt) }
                let m = UInt32(n)
                switch op {
                case "&": mask &= m; xor &= m
                case "|": mask &= ~m; xor |= m
                default: xor ^= m
                }
            }
            if source == nil {
                switch sel {
                case .mark: return .setMark(xor)
                case .ctMark: return .setCtMark(xor)
                default: break
                }
            }
            return .setExpr(target: sel, source: source, mask: mask, xor: xor)
        }
        if isWord("vmap") {
            i += 1
            if isPunct("@") { return .vmapNamed(sel, try namedMap(table, parts: 1).name) }
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
            if NFParser.overlap(entries.map(\.0)) { throw refused("conflicting intervals specified", at: t) }
            i += 1
            anonymousSets += 1
            return .vmap(sel, entries)
        }
        var mask: UInt64? = nil
        if isPunct("&") || isWord("and") {
            i += 1
            mask = try maskValue(for: sel)
        }
        // `ct mark or 0x23 == 0x11` keeps its form; `xor X == C` is `== C ^ X`, as nft folds it.
        var orBits: UInt64? = nil, xorBits: UInt64? = nil
        if mask == nil, isWord("or") || isWord("xor") || isPunct("|") || isPunct("^") {
            let isOr = isWord("or") || isPunct("|")
            i += 1
            let nt = tok
            guard let n = NFConstants.number(try word("a number")), n <= sel.maxValue else { throw err("expected a number", at: nt) }
            if isOr { orBits = n } else { xorBits = n }
        }
        var op = NFOp.implicit
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text) { op = o; i += 1 }
        // nft's operator words.
        else if tok.kind == .word, let o = ["eq": NFOp.eq, "ne": .ne, "lt": .lt, "gt": .gt, "le": .le, "ge": .ge][tok.text] { op = o; i += 1 }
        // `tcp flags ! syn`: none of these bits (nft's form of `tcp flags & syn == 0`).
        if sel.isFlags, mask == nil, isPunct("!") {
            i += 1
            var m = NFConstants.bits(try scalar(for: sel))
            while isPunct(",") || isPunct("|") { i += 1; m |= NFConstants.bits(try scalar(for: sel)) }
            return .match(sel, mask: m, op: .eq, value: .range(0, 0, text: "0"))
        }
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
            if mask != nil || op != .implicit {
                // With a mask or an explicit operator the bits form one value compared whole.
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                value = .range(v, v, text: NFPrinter.flags(v, sel))
            } else {
                // A bare list is one value of bits, any of which may match (a braced set is a lookup).
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                value = vals.count == 1 ? vals[0] : .range(v, v, text: NFPrinter.flags(v, sel))
            }
        } else {
            value = try scalar(for: sel)
        }
        // `tcp flags & m != 0` is nft's bare `tcp flags m`: any of the bits.
        if sel.isFlags, let m = mask, op == .ne, case .range(0, 0, _) = value {
            return .match(sel, mask: nil, op: .implicit, value: .range(m, m, text: NFPrinter.flags(m, sel)))
        }
        if let x = xorBits, case .range(let lo, let hi, _) = value, lo == hi {
            let v = lo ^ x
            return .match(sel, mask: nil, op: op == .ne ? .ne : .implicit, value: .range(v, v, text: NFPrinter.number(v, sel)))
        }
        if let o = orBits { return .matchOr(sel, or: o, op: op == .ne ? .ne : .eq, value: value) }
        return .match(sel, mask: mask, op: op, value: value)
    }

    /// `& 0x1fff` or `& (fin|syn|rst|ack)`.
    mutating func maskValue(for sel: NFSelector) throws(NFSyntaxError) -> UInt64 {
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
    mutating func scalar(for sel: NFSelector) throws(NFSyntaxError) -> NFValue {
        let t = tok
        if t.kind == .string, let n = NFConstants.special(t.text, for: sel) {
            i += 1
            return .range(n, n, text: NFPrinter.number(n, sel))
        }
        if t.kind == .string, [NFSelector.day, .hour, .time, .skuid, .skgid, .iifgroup, .oifgroup].contains(sel) {
            throw refused("invalid value \"\(t.text)\" for \(sel.printed)", at: t)
        }
        if t.kind == .string {
            if t.text.isEmpty && (sel == .iifname || sel == .oifname) { throw refused("Empty string is not allowed", at: t) }
            i += 1
            return .string(t.text)
        }
        if sel.isAddress6 { return try ipv6Value(at: t) }
        var w = try word("a value")
        // A tc handle `major:minor` may lex as three tokens.
        if sel == .priority, isPunct(":"), toks[i + 1].kind == .word { w += ":" + toks[i + 1].text; i += 2 }
        if sel == .ctExpiration {
            // Durations, alone or as a range (`1m-1h`), held in milliseconds.
            let parts = w.split(separator: "-", maxSplits: 1).map { NFConstants.duration(String($0)) }
            guard parts.allSatisfy({ $0 != nil }), let lo = parts[0] else { throw err("expected a time such as 30s or 4d23h59m59s", at: t) }
            let hi = parts.count == 2 ? parts[1]! : lo
            guard lo <= hi else { throw refused("range has zero or negative size", at: t) }
            return .range(lo, hi, text: NFPrinter.value(.range(lo, hi, text: ""), sel))
        }
        if sel.isMAC {
            // A MAC address may lex as six words between colons.
            while isPunct(":"), toks[i + 1].kind == .word { w += ":" + toks[i + 1].text; i += 2 }
            let parts = w.split(separator: ":", omittingEmptySubsequences: false).map { UInt64($0, radix: 16) }
            guard parts.count == 6, parts.allSatisfy({ $0 != nil && $0! <= 0xff }) else { throw err("expected an Ethernet address", at: t) }
            let n = parts.reduce(0) { $0 << 8 | $1! }
            return .range(n, n, text: NFPrinter.number(n, sel))
        }
        if sel.isAddress {
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
            try inRange(max(a, b), sel, at: t)
            return .range(a, b, text: w)
        }
        if let n = NFConstants.number(w) {
            // An interface index is the kernel's numbering of its devices, which the model does not give.
            if sel == .iif || sel == .oif { throw unsupported("\(sel.printed) by interface index (name the device)", at: t) }
            if sel == .day, n > 6 { throw refused("Day 7 is not a valid day of the week (0-6)".replacingOccurrences(of: "7", with: String(n)), at: t) }
            // `meta time N` is seconds since the epoch; the key holds nanoseconds.
            if sel == .time {
                let (ns, o) = n.multipliedReportingOverflow(by: 1_000_000_000)
                guard !o else { throw refused("Value \(n) exceeds valid range", at: t) }
                return .range(ns, ns, text: NFPrinter.number(ns, sel))
            }
            try inRange(n, sel, at: t)
            return .range(n, n, text: NFPrinter.number(n, sel))
        }
        // nft lists ports as numbers, and a protocol by getprotobynumber's name (`comp` as ipcomp).
        if let n = NFConstants.named(w, for: sel) {
            let isProtocol = [NFSelector.ipProtocol, .l4proto, .ctProtocol].contains(sel) || sel.rawValue.hasSuffix(" nexthdr")
            return .range(n, n, text: sel.isPort ? String(n) : isProtocol ? NFPrinter.number(n, sel) : w)
        }
        if sel == .iifname || sel == .oifname || sel == .iif || sel == .oif { return .string(w) }
        // nft asks getaddrinfo for a port name it does not know, and repeats its answer.
        if sel.isPort { throw NFSyntaxError(line: t.line, column: t.column, message: "Could not resolve service: Servname not supported for ai_socktype", length: t.width) }
        throw err("unknown value \(w) for \(sel.rawValue)", at: t)
    }

    /// `[packets N] [bytes M]` after `counter` (or in a counter object).
    mutating func counterBody() throws(NFSyntaxError) -> NFStatement {
        var packets = 0, bytes = 0
        // `packets N bytes M`, in either order.
        var seen: Set<String> = []
        while tok.kind == .word, tok.text == "packets" || tok.text == "bytes", !seen.contains(tok.text) {
            let w = tok.text
            seen.insert(w)
            i += 1
            let nt = tok
            guard let n = Int(try word("a count")) else { throw err("expected a number", at: nt) }
            if w == "packets" { packets = n } else { bytes = n }
        }
        return .counter(packets: packets, bytes: bytes)
    }

    /// `[over|until] N UNIT [used M UNIT]` after `quota` (or in a quota object).
    mutating func quotaBody() throws(NFSyntaxError) -> NFStatement {
        var over = false
        if isWord("over") { i += 1; over = true } else if isWord("until") { i += 1 }
        func amount() throws(NFSyntaxError) -> UInt64 {
            let nt = tok
            guard let n = UInt64(try word("a byte amount")) else { throw err("expected a number", at: nt) }
            let ut = tok
            guard tok.kind == .word, let m = NFParser.byteUnits[tok.text] ?? (tok.text == "gbytes" ? 1 << 30 : nil) else {
                throw err("expected bytes, kbytes, mbytes or gbytes", at: ut)
            }
            i += 1
            let (v, o) = n.multipliedReportingOverflow(by: m)
            guard !o else { throw refused("Value too large for defined data type", at: nt) }
            return v
        }
        let bytes = try amount()
        var used: UInt64 = 0
        if isWord("used") { i += 1; used = try amount() }
        return .quota(bytes: bytes, over: over, used: used)
    }

    /// `rate [over] N[/UNIT] [burst N UNIT]` after `limit` (or in a limit object).
    mutating func limitBody() throws(NFSyntaxError) -> NFStatement {
        try expectWord("rate")
        var over = false
        if isWord("over") { i += 1; over = true }
        let nt = tok
        guard var n = UInt64(try word("a rate")) else { throw err("expected a number", at: nt) }
        // `N bytes/second`, `N kbytes/second`, `N mbytes/second` count bytes.
        var unit = NFLimitUnit.packets
        if tok.kind == .word, let m = NFParser.byteUnits[tok.text] { i += 1; n *= m; unit = .bytes }
        try expectPunct("/")
        let ut = tok
        let per: UInt64
        switch try word("second, minute, hour or day") {
        case "second": per = 1_000_000_000
        case "minute": per = 60_000_000_000
        case "hour": per = 3_600_000_000_000
        case "day": per = 86_400_000_000_000
        case "week": per = 7 * 86_400_000_000_000
        default: throw err("expected second, minute, hour, day or week", at: ut)
        }
        // The default burst is 5 packets, or none for bytes.
        var burst: UInt64 = unit == .packets ? 5 : 0
        if isWord("burst") {
            i += 1
            let bt = tok
            guard let b = UInt64(try word("a burst")) else { throw err("expected a number", at: bt) }
            burst = b
            if unit == .bytes {
                let wt = tok
                guard tok.kind == .word, let m = NFParser.byteUnits[tok.text] else { throw err("expected bytes, kbytes or mbytes", at: wt) }
                i += 1
                burst *= m
            } else if isWord("packets") { i += 1 }
        }
        // nft_limit_init: a zero rate is EINVAL; a bucket that overflows 64 bits is EOVERFLOW.
        guard n > 0 else { throw refused("Could not process rule: Invalid argument (a rate of 0)", at: nt) }
        let (sum, o1) = n.addingReportingOverflow(burst)
        let (_, o2) = per.multipliedReportingOverflow(by: unit == .bytes ? sum : max(burst, 1))
        guard !o1, !o2 else { throw refused("Could not process rule: Value too large for defined data type", at: nt) }
        return .limit(rate: n, perNs: per, burst: burst, over: over, unit: unit)
    }

    /// `counter|quota|limit name "x"` or `... name KEY map { K : "x" }`: the table must hold the object.
    mutating func objectRef(_ kind: NFObjectKind, table: NFTable, context: RuleContext, anonymousSets: inout Int) throws(NFSyntaxError) -> NFStatement {
        i += 1   // name
        func known(_ n: String, at t: NFToken) throws(NFSyntaxError) {
            guard table.objects.contains(where: { $0.kind == kind && $0.name == n }) else {
                throw refused("Could not process rule: No such file or directory (no \(kind.rawValue) \(n) in table \(table.name))", at: t)
            }
        }
        if tok.kind == .string {
            let nt = tok
            let n = try name("an object name")
            try known(n, at: nt)
            return .objref(kind, n)
        }
        let key = try concatSelector(context: context)
        try expectWord("map")
        try expectPunct("{")
        var entries: [(NFValue, String)] = []
        skipNewlines()
        while !isPunct("}") {
            let k = try scalar(for: key)
            try expectPunct(":")
            let nt = tok
            let n = try name("an object name")
            try known(n, at: nt)
            entries.append((k, n))
            skipNewlines()
            if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
        }
        i += 1
        anonymousSets += 1   // the anonymous map takes a handle
        return .objrefMap(kind, key, entries)
    }

    /// `rt classid|mtu|ipsec`, `rt [ip|ip6] nexthop` (a bare `nexthop` takes the table's or the
    /// rule's IP family, as nft does).
    mutating func rtSelector(table: NFTable, context: RuleContext) throws(NFSyntaxError) -> NFSelector {
        let t = tok
        i += 1
        let kt = tok
        var key = try word("classid, nexthop, mtu or ipsec")
        if key == "ip" || key == "ip6" {
            try expectWord("nexthop")
            key += " nexthop"
        } else if key == "nexthop" {
            if table.family == .ip || context.ipv4 { key = "ip nexthop" } else if table.family == .ip6 || context.ipv6Only { key = "ip6 nexthop" } else {
                throw refused("must specify either ip or ip6 for rt nexthop", at: kt)
            }
        }
        guard let s = NFSelector(rawValue: "rt " + key) else { throw err("expected classid, nexthop, mtu or ipsec", at: kt) }
        if s.rawValue == "rt ip nexthop", table.family == .ip6 || context.ipv6Only { throw refused("conflicting protocols specified: ip6 vs. ip", at: t) }
        if s.rawValue == "rt ip6 nexthop", table.family == .ip || context.ipv4 { throw refused("conflicting protocols specified: ip vs. ip6", at: t) }
        return s
    }

    /// An IPv6 address, `addr/len` prefix or `lo-hi` range: the lexer splits it at every ':', so
    /// the tokens written together are joined first. Prefixes keep their network part only.
    mutating func ipv6Value(at t: NFToken) throws(NFSyntaxError) -> NFValue {
        var s = ""
        var k = i
        while k < toks.count, toks[k].kind == .word || (toks[k].kind == .punct && (toks[k].text == ":" || toks[k].text == "/")) {
            if k > i {
                let p = toks[k - 1]
                guard toks[k].line == p.line, toks[k].column == p.column + p.width else { break }
            }
            s += toks[k].text
            k += 1
        }
        guard k > i else { throw err("expected an IPv6 address", at: t) }
        i = k
        if let slash = s.firstIndex(of: "/") {
            guard let a = IPv6Text.parse(String(s[..<slash])), let len = Int(s[s.index(after: slash)...]), (0...128).contains(len) else {
                throw err("expected an IPv6 prefix addr/len", at: t)
            }
            let host: UInt128 = len == 128 ? 0 : (UInt128.max >> UInt128(len))
            let lo = a & ~host
            return .range6(lo, lo | host, text: "\(IPv6Text.text(lo))/\(len)")
        }
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map { IPv6Text.parse(String($0)) }
        guard (1...2).contains(parts.count), let lo = parts[0], let hi = parts.last! else { throw err("expected an IPv6 address", at: t) }
        guard lo <= hi else { throw refused("range has zero or negative size", at: t) }
        return .range6(lo, hi, text: lo == hi ? IPv6Text.text(lo) : "\(IPv6Text.text(lo))-\(IPv6Text.text(hi))")
    }

    static let byteUnits: [String: UInt64] = ["bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024]

    /// Statements and expressions of nft 1.0.6 the model does not act on yet.
    static let notModelled: Set<String> = [
        "exthdr", "hbh", "rt0", "rt2", "srh", "frag", "dst", "mh", "tproxy", "synproxy", "osf", "socket", "ipsec", "rt",
        "meter", "dup", "fwd", "vlan", "arp", "gre", "gretap", "vxlan", "geneve", "cgroupv2", "flow",
        "reset", "secmark", "xt", "last", "inner",
    ]

    /// `@name` of a verdict map of the table whose key has `parts` parts.
    mutating func namedMap(_ table: NFTable, parts: Int) throws(NFSyntaxError) -> NFSet {
        i += 1
        let nt = tok
        let n = try name("a map name")
        guard let m = table.sets.first(where: { $0.name == n }) else {
            throw refused("Could not process rule: No such file or directory (no map @\(n) in table \(table.name))", at: nt)
        }
        guard m.verdicts != nil else { throw refused("@\(n) is a set, not a verdict map", at: nt) }
        guard m.keys.count == parts else { throw refused("datatype mismatch: map @\(n) has \(m.keys.count) key parts, the rule \(parts)", at: nt) }
        return m
    }

    /// One selector of a concatenation (`ip saddr . tcp dport`): a header field, ct key or meta key.
    mutating func concatSelector(context: RuleContext) throws(NFSyntaxError) -> NFSelector {
        let t = tok
        guard t.kind == .word else { throw err("expected a selector") }
        if t.text == "ct", let s = try ctSelector() { try context.check(s, at: t, self); return s }
        if let fields = NFParser.selectorWords[t.text] {
            i += 1
            let ft = tok
            let f = try word("a field of \(t.text)")
            guard let s = fields[f] else { throw err("unknown \(t.text) field \(f)", at: ft) }
            try context.check(s, at: t, self)
            return s
        }
        if let s = NFParser.selectorWords["meta"]?[t.text], ["iif", "oif", "iifname", "oifname", "mark", "l4proto", "iifgroup", "oifgroup", "cpu"].contains(t.text) {
            i += 1
            return s
        }
        throw err("expected a selector in the concatenation", at: t)
    }

    /// One element of a concatenated value: `1.1.1.1 . 22`.
    mutating func tupleValue(_ sels: [NFSelector]) throws(NFSyntaxError) -> NFValue {
        var parts: [NFValue] = []
        for (k, s) in sels.enumerated() {
            if k > 0 {
                guard isWord(".") else { throw err("expected '.' and the next part of the concatenation") }
                i += 1
            }
            parts.append(try scalar(for: s))
        }
        return .tuple(parts)
    }

    /// `A . B [. C] [op] VALUE | { ... } | vmap { ... }`: a concatenated key.
    mutating func concatenation(first: NFSelector, table: NFTable, anonymousSets: inout Int, context: RuleContext) throws(NFSyntaxError) -> NFStatement {
        var sels = [first]
        while isWord(".") {
            i += 1
            sels.append(try concatSelector(context: context))
        }
        if isWord("vmap") {
            i += 1
            if isPunct("@") { return .concatVmapNamed(sels, try namedMap(table, parts: sels.count).name) }
            try expectPunct("{")
            var entries: [(NFValue, NFVerdict)] = []
            skipNewlines()
            while !isPunct("}") {
                let v = try tupleValue(sels)
                try expectPunct(":")
                entries.append((v, try verdictWord()))
                skipNewlines()
                if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
            }
            i += 1
            anonymousSets += 1
            return .concatVmap(sels, entries)
        }
        var op = NFOp.implicit
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text), o == .eq || o == .ne { op = o; i += 1 }
        if isPunct("@") {
            i += 1
            let nt = tok
            let n = try name("a set name")
            guard let set = table.sets.first(where: { $0.name == n }) else { throw refused("Could not process rule: No such file or directory (no set @\(n))", at: nt) }
            guard set.keys.count == sels.count else { throw refused("datatype mismatch: set @\(n) has \(set.keys.count) key parts, the rule \(sels.count)", at: nt) }
            return .concatMatch(sels, op: op, value: .named(n))
        }
        if isPunct("{") {
            i += 1
            var vals: [NFValue] = []
            skipNewlines()
            while !isPunct("}") {
                vals.append(try tupleValue(sels))
                skipNewlines()
                if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
            }
            i += 1
            anonymousSets += 1
            return .concatMatch(sels, op: op, value: .set(vals))
        }
        return .concatMatch(sels, op: op, value: try tupleValue(sels))
    }

    /// `tcp option NAME [FIELD]` (sack0 is sack) or `sctp chunk NAME [FIELD]`; numbered options
    /// and raw offsets are refused as not supported yet.
    mutating func optionSelector(_ list: String) throws(NFSyntaxError) -> NFSelector {
        i += 2
        let nt = tok
        var name = try word(list == "tcp option" ? "a TCP option" : "an SCTP chunk type")
        if name == "sack0" && list == "tcp option" { name = "sack" }
        if UInt64(name) != nil || name.hasPrefix("@") { throw unsupported("\(list)s by number", at: nt) }
        guard NFSelector(rawValue: "\(list) \(name)") != nil else { throw err("unknown \(list) \(name)", at: nt) }
        if tok.kind == .word, !["exists", "missing"].contains(tok.text) {
            guard let s = NFSelector(rawValue: "\(list) \(name) \(tok.text)") else { throw err("unknown field \(tok.text) of \(list) \(name)") }
            i += 1
            return s
        }
        return NFSelector(rawValue: "\(list) \(name)")!
    }

    /// `ct [original|reply|both] KEY`, for the keys beyond state/status/mark/direction: the
    /// selector table holds them by their printed name (`ct original ip saddr`).
    mutating func ctSelector() throws(NFSyntaxError) -> NFSelector? {
        let start = i
        i += 1
        var dir = ""
        if tok.kind == .word, ["original", "reply", "both"].contains(tok.text) { dir = tok.text + " "; i += 1 }
        guard tok.kind == .word else { i = start; return nil }
        var key = tok.text
        i += 1
        if key == "ip", tok.kind == .word, tok.text == "saddr" || tok.text == "daddr" { key += " " + tok.text; i += 1 }
        // nft lists `ct original protocol` as `ct protocol` (the protocol is the same both ways).
        if dir == "original " && key == "protocol" { dir = "" }
        if let s = NFSelector(rawValue: "ct " + dir + key) { return s }
        if dir.isEmpty, ["state", "status", "mark", "direction"].contains(key) { i = start; return nil }
        throw refused("unknown ct key \(dir)\(key) (not valid in this form)", at: toks[start])
    }

    /// nft_nat_validate / nft_masq_validate / nft_redir_validate: NAT only in nat chains, source
    /// NAT after routing (postrouting, input), destination NAT before it (prerouting, output).
    static func natPlacement(_ s: NFStatement, _ b: NFBaseChain) -> String? {
        let source: Bool
        switch s {
        case .snat, .masquerade: source = true
        case .dnat, .redirect: source = false
        case .natMap(let m): source = m.source
        default: return nil
        }
        guard b.type == .nat else { return "NAT needs a chain of type nat" }
        let ok: [NFHook] = source ? [.postrouting, .input] : [.prerouting, .output]
        return ok.contains(b.hook) ? nil : "\(source ? "source" : "destination") NAT in hook \(b.hook.rawValue)"
    }

    /// `random`, `fully-random`, `persistent`, comma-separated, after the NAT target.
    mutating func natFlags() throws(NFSyntaxError) -> NFNATFlags {
        var flags: NFNATFlags = []
        while tok.kind == .word, let f = NFNATFlags.names.first(where: { $0.0 == tok.text }) {
            i += 1
            flags.insert(f.1)
            guard isPunct(","), toks[i + 1].kind == .word else { break }
            i += 1
        }
        return flags
    }

    /// `log [prefix S] [group N] [snaplen N] [queue-threshold N] [level L] [flags F...]`, with nft's
    /// refusals: a group (nflog) takes no level or flags, and level audit takes nothing else.
    mutating func logOptions(start: NFToken) throws(NFSyntaxError) -> NFLog {
        var log = NFLog()
        var sawFlags = false
        while tok.kind == .word, ["prefix", "group", "snaplen", "queue-threshold", "level", "flags"].contains(tok.text) {
            let kt = tok
            i += 1
            func number() throws(NFSyntaxError) -> Int {
                let nt = tok
                guard let n = Int(try word("a number")), n >= 0, n <= 65535 else { throw err("expected a number 0-65535", at: nt) }
                return n
            }
            switch kt.text {
            case "prefix": log.prefix = try name("a prefix")
            case "group": log.group = try number()
            case "snaplen": log.snaplen = try number()
            case "queue-threshold": log.queueThreshold = try number()
            case "level":
                let lt = tok
                let l = try word("a log level")
                guard NFLog.levels.contains(l) else { throw err("expected a log level (\(NFLog.levels.joined(separator: ", ")))", at: lt) }
                log.level = l
            default:
                sawFlags = true
                let ft = tok
                switch try word("a log flag") {
                case "all": log.flags |= NFLog.all
                case "skuid": log.flags |= NFLog.skuid
                case "ether": log.flags |= NFLog.ether
                case "ip":
                    try expectWord("options")
                    log.flags |= NFLog.ipOptions
                case "tcp":
                    repeat {
                        if isPunct(",") { i += 1 }
                        let w = try word("sequence or options")
                        if w == "sequence" { log.flags |= NFLog.tcpSequence } else if w == "options" { log.flags |= NFLog.tcpOptions } else {
                            throw err("expected sequence or options", at: toks[i - 1])
                        }
                    } while isPunct(",")
                default: throw err("expected a log flag (all, ip options, tcp sequence,options, skuid, ether)", at: ft)
                }
            }
        }
        if log.group != nil && (log.level != nil || sawFlags) {
            throw refused("log group cannot be combined with level or flags (nflog has neither)", at: start)
        }
        if log.level == "audit" && (log.prefix != nil || log.group != nil || log.snaplen != nil || log.queueThreshold != nil || sawFlags) {
            throw refused("log level audit takes no other option", at: start)
        }
        // Without a group nft drops snaplen and queue-threshold (they are nflog options): so do we.
        if log.group == nil { log.snaplen = nil; log.queueThreshold = nil }
        if log.level == "warn" { log.level = nil }
        return log
    }

    /// nft checks a number against the width of what it is compared with.
    func inRange(_ n: UInt64, _ sel: NFSelector, at t: NFToken) throws(NFSyntaxError) {
        guard n > sel.maxValue else { return }
        throw refused("Value \(n) exceeds valid range 0-\(sel.maxValue)", at: t)
    }

    /// `ADDR[-ADDR][:PORT[-PORT]]` or `:PORT[-PORT]`.
    mutating func natTarget() throws(NFSyntaxError) -> (UInt32?, UInt32?, UInt16?, UInt16?) {
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
        if isPunct("/") {
            // A prefix is the range of its addresses (nft lists a range that is one as a prefix).
            i += 1
            let lt = tok
            guard let len = Int(try word("a prefix length")), (0...32).contains(len) else { throw err("expected a prefix length 0-32", at: lt) }
            let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)
            a = x & mask
            ah = x | ~mask
        }
        if isPunct(":") { i += 1; (p, ph) = ports(Substring(try word("a port"))) }
        return (a, ah, p, ph)
    }
}
