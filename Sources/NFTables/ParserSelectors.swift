// Selectors that take more than one word: rt, ct, tcp options, concatenations and named maps.
extension NFParser {
    /// `rt classid|mtu|ipsec`, `rt [ip|ip6] nexthop` (a bare `nexthop` takes the table's or the
    /// rule's IP family, as nft does).
    mutating func rtSelector(table: NFTable, context: RuleContext) throws(NFSyntaxError) -> NFSelector {
        let t = tok
        i += 1
        let kt = tok
        var key = try word("classid, nexthop, mtu or ipsec")
        // `rt type|seg-left|nexthdr|hdrlength`: the routing header (exthdr), not the route.
        if ["type", "seg-left", "nexthdr", "hdrlength"].contains(key) { return NFSelector(rawValue: "rt " + key)! }
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

    /// `@name` of a verdict map of the table whose key has `parts` parts.
    mutating func namedMap(_ table: NFTable, parts: Int) throws(NFSyntaxError) -> NFSet {
        i += 1
        let nt = tok
        let n = try identifier("a map name")
        guard let m = table.sets.first(where: { $0.name == n }) else {
            throw refused("Could not process rule: No such file or directory (no map @\(n) in table \(table.name))", at: nt)
        }
        guard m.verdicts != nil else { throw refused("@\(n) is \(m.isMap ? "a data map" : "a set"), not a verdict map", at: nt) }
        guard m.keys.count == parts else { throw refused("datatype mismatch: map @\(n) has \(m.keys.count) key parts, the rule \(parts)", at: nt) }
        return m
    }

    /// One selector of a concatenation (`ip saddr . tcp dport`): a header field, ct key or meta key.
    /// The meta keys a key or a concatenation may name without `meta` (nft's meta_key_unqualified).
    static let bareMetaKeys: Set<String> = ["iif", "oif", "iifname", "oifname", "mark", "l4proto", "iifgroup", "oifgroup", "cpu"]

    mutating func concatSelector(context: RuleContext) throws(NFSyntaxError) -> NFSelector {
        let t = tok
        // Raw payload bits as a part of the key (`ip saddr . @ih,32,32 { ... }`).
        if t.kind == .punct, t.text == "@" { return try rawSelector() }
        guard t.kind == .word else { throw err("expected a selector") }
        if t.text == "ct", let s = try ctSelector(context: context) { try context.check(s, at: t, self); return s }
        if t.text == "osf" { return try osfSelector() }
        if t.text == "ip", i + 1 < toks.count, toks[i + 1].kind == .word, toks[i + 1].text == "option" {
            let s = try ipOptionSelector()
            // (`ip option X` alone reads presence, matched only with exists or missing.)
            guard !s.isOptionPresence else { throw unexpected(tok) }
            try context.check(s, at: t, self)
            return s
        }
        if let fields = NFParser.selectorWords[t.text] {
            i += 1
            let ft = tok
            var f = try word("a field of \(t.text)")
            if t.text == "vlan" && f == "cfi" { f = "dei" }
            guard let s = fields[f] else {
                if t.text == "meta", NFParser.metaKeysNotModelled.contains(f) { throw unsupported("meta \(f)", at: ft) }
                throw unknownField(t, ft)
            }
            try context.check(s, at: t, self)
            return s
        }
        if NFParser.bareMetaKeys.contains(t.text), let s = NFParser.selectorWords["meta"]?[t.text] {
            i += 1
            return s
        }
        throw err("expected a selector in the concatenation", at: t)
    }

    /// `@BASE,OFFSET,LENGTH` as a key part: at most 128 bits, a part wider than 64 on byte boundaries.
    private mutating func rawSelector() throws(NFSyntaxError) -> NFSelector {
        i += 1
        let bt = tok
        let base = try word("ll, nh, th or ih")
        try expectPunct(",")
        let ot = tok
        let off = try word("a bit offset")
        try expectPunct(",")
        let lt = tok
        let len = try word("a bit length")
        guard ["ll", "nh", "th", "ih"].contains(base) else { throw err("expected ll, nh, th or ih", at: bt) }
        guard let o = Int(off), (0..<65536).contains(o) else { throw err("expected a bit offset", at: ot) }
        guard let n = Int(len), n > 0 else { throw refused("raw payload length must be positive", at: lt) }
        guard n <= 128, n <= 64 || (o % 8 == 0 && n % 8 == 0) else {
            throw unsupported("raw payloads wider than 64 bits off byte boundaries or past 128 bits", at: lt)
        }
        return NFSelector(rawValue: "@\(base),\(o),\(n)")!
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
            let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, NFVerdict) in
                let v = p.isPunct("*") ? p.catchAll() : try p.tupleValue(sels)
                try p.expectPunct(":")
                return (v, try p.verdictWord())
            }
            anonymousSets += 1
            return .concatVmap(sels, NFParser.catchAllLast(entries))
        }
        var op = NFOp.implicit
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text), o == .eq || o == .ne { op = o; i += 1 }
        if isPunct("@") {
            i += 1
            let nt = tok
            let n = try identifier("a set name")
            guard let set = table.sets.first(where: { $0.name == n }) else { throw refused("Could not process rule: No such file or directory (no set @\(n))", at: nt) }
            guard set.keys.count == sels.count else { throw refused("datatype mismatch: set @\(n) has \(set.keys.count) key parts, the rule \(sels.count)", at: nt) }
            return .concatMatch(sels, op: op, value: .named(n))
        }
        if isPunct("{") {
            i += 1
            let vals = try braceList { (p: inout NFParser) throws(NFSyntaxError) in try p.tupleValue(sels) }
            anonymousSets += 1
            return .concatMatch(sels, op: op, value: .set(vals))
        }
        return .concatMatch(sels, op: op, value: try tupleValue(sels))
    }

    /// `tcp option NAME|NUMBER [FIELD]` (sack0 is sack) or `sctp chunk NAME [FIELD]`; numbered
    /// chunks and raw offsets are refused as not supported yet.
    mutating func optionSelector(_ list: String) throws(NFSyntaxError) -> NFSelector {
        i += 2
        let nt = tok
        if isPunct("@") { throw unsupported("\(list) fields by raw offset", at: nt) }
        var name = try word(list == "tcp option" ? "a TCP option" : "an SCTP chunk type")
        if name == "sack0" && list == "tcp option" { name = "sack" }
        if list == "tcp option", let alias = NFSelector.tcpOptionAliases[name] { name = alias }
        // A TCP option by number is the named one when nft has a name for it (2 is maxseg).
        if list == "tcp option", let k = UInt8(name) { name = NFSelector.tcpOptionName(k) ?? name }
        // nft 1.0.6's grammar names SCTP chunks only (recorded: `sctp chunk 10 exists`).
        if list == "sctp chunk", UInt64(name) != nil { throw unexpected(nt) }
        guard NFSelector(rawValue: "\(list) \(name)") != nil else { throw err("unknown \(list) \(name)", at: nt) }
        if tok.kind == .word, !["exists", "missing"].contains(tok.text) {
            // nft 1.0.6's grammar has no `kind` field for a named option (its listing may show
            // one): bison fails past the value (recorded: `tcp option window kind 3` + newline).
            if list == "tcp option", tok.text == "kind", i + 2 < toks.count {
                let t = toks[i + 2]
                throw unexpected(t)
            }
            guard let s = NFSelector(rawValue: "\(list) \(name) \(tok.text)") else { throw err("unknown field \(tok.text) of \(list) \(name)") }
            i += 1
            return s
        }
        return NFSelector(rawValue: "\(list) \(name)")!
    }

    /// `ip option lsrr|rr|ssrr|ra [FIELD]` (at `ip`): an IPv4 header option, or one of its fields;
    /// a field the option lacks is nft's "unknown ip option type/field" under `ip`.
    mutating func ipOptionSelector() throws(NFSyntaxError) -> NFSelector {
        let it = tok
        i += 2
        let nt = tok
        guard nt.kind == .word, NFSelector(rawValue: "ip option \(nt.text)") != nil else {
            throw unexpected(nt, expecting: "lsrr or rr or ssrr or ra")
        }
        i += 1
        guard tok.kind == .word, !["exists", "missing"].contains(tok.text) else { return NFSelector(rawValue: "ip option \(nt.text)")! }
        guard ["type", "length", "value", "ptr", "addr"].contains(tok.text) else {
            throw unexpected(tok)
        }
        guard let s = NFSelector(rawValue: "ip option \(nt.text) \(tok.text)") else {
            throw NFSyntaxError(line: it.line, column: it.column, message: "unknown ip option type/field", length: it.width)
        }
        i += 1
        return s
    }

    /// `osf [ttl loose|skip] name|version`.
    mutating func osfSelector() throws(NFSyntaxError) -> NFSelector {
        i += 1
        var ttl = ""
        if isWord("ttl") {
            i += 1
            let tt = tok
            let w = try word("loose or skip")
            guard w == "loose" || w == "skip" else { throw refused("invalid ttl option", at: tt) }
            ttl = "ttl \(w) "
        }
        let kt = tok
        let key = try word("name or version")
        guard let s = NFSelector(rawValue: "osf \(ttl)\(key)") else { throw err("expected name or version", at: kt) }
        return s
    }

    /// nft's ct keys (ct_key_tbl) without a model here yet, refused as not supported rather than unknown.
    static let ctKeysNotModelled: Set<String> = ["zone", "label", "secmark", "saddr", "daddr",
                                                 "proto-src", "proto-dst", "expectation", "timeout"]
    /// Likewise nft's meta keys.
    static let metaKeysNotModelled: Set<String> = ["ibrname", "obrname", "secmark",
                                                   "ibriport", "obriport", "ibrpvid", "ibrvproto", "broute", "iifkind", "oifkind"]

    /// `ct [original|reply|both] KEY`, for the keys beyond state/status/mark/direction: the
    /// selector table holds them by their printed name (`ct original ip saddr`).
    /// `ct original saddr` without ip or ip6 takes the family from an inet rule's `meta nfproto`.
    mutating func ctSelector(context: RuleContext? = nil) throws(NFSyntaxError) -> NFSelector? {
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
        if key == "ip6", tok.kind == .word, tok.text == "saddr" || tok.text == "daddr" { key += " " + tok.text; i += 1 }
        if key == "saddr" || key == "daddr", !dir.isEmpty {
            // nft: the family from the protocol context, else its refusal.
            switch context?.nfprotoDependency?.nfproto {
            case 2?: key = "ip " + key; ctFamilyFromContext = true
            case 10?: key = "ip6 " + key; ctFamilyFromContext = true
            default:
                if context?.family == .inet || context?.family == .netdev {
                    throw refused("cannot determine ip protocol version, use \"ip \(key)\" or \"ip6 \(key)\" instead", from: toks[start], to: toks[i - 1])
                }
                throw refused("specify either ip or ip6 for address matching", at: toks[start])
            }
        }
        // A port's type comes from the transport protocol the rule matched: without one nft has
        // no type to read the value with (under the value, or a brace's first element).
        if key == "proto-src" || key == "proto-dst", let context, context.l4 == nil, context.l4Set.isEmpty, !context.ctL4 {
            let v = isPunct("{") && i + 1 < toks.count ? toks[i + 1] : tok
            if v.kind == .word, v.text.first?.isNumber == true || NFConstants.services[v.text] != nil {
                var e = refused("Can't parse symbolic invalid expressions", at: v)
                e.length = v.text.prefix { $0 != "-" }.count   // (a range's first bound: nft's scanner splits it)
                throw e
            }
        }
        if let s = NFSelector(rawValue: "ct " + dir + key) { return s }
        if dir.isEmpty, ["state", "status", "mark", "direction"].contains(key) { i = start; return nil }
        // Keys nft knows that the model does not read or set yet.
        if NFParser.ctKeysNotModelled.contains(key) { throw unsupported("ct \(dir)\(key)", at: toks[start]) }
        // A word that is no ct key at all is a syntax error to nft's grammar, under the word.
        if !NFParser.ctKeys.contains(key), case let kt = toks[i - 1] {
            throw unexpected(kt)
        }
        throw refused("unknown ct key \(dir)\(key) (not valid in this form)", at: toks[start])
    }

    /// nft's ct keys (ct.c's templates), in any of their forms.
    static let ctKeys: Set<String> = ["state", "direction", "status", "mark", "expiration", "helper", "l3proto", "saddr", "daddr",
                                      "protocol", "proto-src", "proto-dst", "label", "bytes", "packets", "avgpkt", "zone", "event",
                                      "secmark", "id", "count", "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr"]

    /// An unknown field after a protocol word, as nft's bison grammar words it: the unexpected
    /// token and, where the protocol has at most four fields, the ones expected (nft 1.0.6 here).
    func unknownField(_ proto: NFToken, _ ft: NFToken) -> NFSyntaxError {
        if proto.text == "meta" {
            var e = NFSyntaxError(line: proto.line, column: proto.column, message: "syntax error, unexpected \(ft.text), known keys are \(NFParser.metaKeysListed)", length: proto.width)
            if ft.line == proto.line { e.length = ft.column + ft.width - proto.column }
            return e
        }
        // (After `ip`, nft's scanner reads `options` as a keyword of its own: `ip options`.)
        return unexpected(ft, as: proto.text == "ip" && ft.text == "options" ? "options" : nil, expecting: NFParser.fieldsExpected[proto.text])
    }

    /// The fields bison lists for a protocol with at most four of them, in its order.
    static let fieldsExpected: [String: String] = [
        "udp": "length or checksum or sport or dport", "udplite": "checksum or sport or dport or csumcov",
        "dccp": "type or sport or dport", "esp": "seq or spi", "comp": "nexthdr or flags or cpi",
        "igmp": "type or checksum or mrt or group", "ether": "saddr or daddr or type", "th": "sport or dport",
        "hbh": "hdrlength or nexthdr", "dst": "hdrlength or nexthdr",
    ]
    /// The meta keys nft's error names (meta.c's table).
    static let metaKeysListed = "length, protocol, priority, mark, iif, oif, iifname, oifname, iiftype, oiftype, skuid, skgid, nftrace, rtclassid, secmark, nfproto, l4proto, ibrname, obrname, pkttype, cpu, iifgroup, oifgroup, cgroup, random, ipsec, iifkind, oifkind, ibrpvid, ibrvproto, time, day, hour, sdif, sdifname"

    /// nft_nat_validate / nft_masq_validate / nft_redir_validate: NAT only in nat chains, source
    /// NAT after routing (postrouting, input), destination NAT before it (prerouting, output).
    static func natPlacement(_ s: NFStatement, _ b: NFBaseChain) -> String? {
        let source: Bool
        switch s {
        case .snat, .masquerade: source = true
        case .dnat, .redirect: source = false
        case .natMap(let m): source = m.source
        case .natMapNamed(let s, _, _, _, _, _): source = s
        case .natPortMap(let masq, _, _, _): source = masq
        default: return nil
        }
        guard b.type == .nat else { return "NAT needs a chain of type nat" }
        let ok: [NFHook] = source ? [.postrouting, .input] : [.prerouting, .output]
        return ok.contains(b.hook) ? nil : "\(source ? "source" : "destination") NAT in hook \(b.hook.rawValue)"
    }
}

extension NFParser {
    /// `@ll|@nh|@th,OFFSET,LENGTH [& MASK] [op] VALUE` (nft's raw payload expression), listed as the
    /// template field it matches when there is one, and bits that do not fill whole bytes as the
    /// bytes around them under a mask, as nft lists them (`@ll,0,1 1` is `@ll,0,8 & 0x80 == 0x80`).
    mutating func rawPayload(context: RuleContext) throws(NFSyntaxError) -> NFStatement {
        let at = tok
        i += 1
        let bt = tok
        let base: NFPayloadField.Base
        switch try word("ll, nh or th") {
        case "ll": base = .link
        case "nh": base = .network
        case "th": base = .transport
        case "ih": base = .inner
        default: throw err("expected ll, nh or th", at: bt)
        }
        try expectPunct(",")
        let ot = tok
        guard let off = Int(try word("a bit offset")), off >= 0, off < 65536 else { throw err("expected a bit offset", at: ot) }
        try expectPunct(",")
        let lt = tok
        guard let len = Int(try word("a bit length")) else { throw err("expected a bit length", at: lt) }
        guard len > 0 else { throw refused("raw payload length must be positive", at: lt) }
        if len > 64 { return try rawPayloadWide(NFPayloadField(base: base, bitOffset: off, bitLength: len, l4proto: nil), at: lt, context: context) }
        var f = NFPayloadField(base: base, bitOffset: off, bitLength: len, l4proto: nil)
        var mask: UInt64? = nil
        if isPunct("&") {
            i += 1
            let mt = tok
            guard let m = NFConstants.number(try word("a mask")) else { throw err("expected a mask", at: mt) }
            mask = m
        }
        var (op, value) = try rawOperand(bits: len, after: at)
        let limit: UInt64 = len >= 64 ? .max : (1 << UInt64(len)) - 1
        // A named template for the same bits, in the rule's protocol context.
        if mask == nil, let sel = NFSelector.template(f, l4: context.l4.map { UInt8($0) }, l4Set: !context.l4Set.isEmpty, ipv4: context.ipv4 || context.family == .ip) {
            // The values as the template's type prints them (`ip saddr 0.0.0.198`, `ip protocol tcp`).
            func typed(_ v: NFValue) -> NFValue {
                switch v {
                case .range(let lo, let hi, _):
                    .range(lo, hi, text: lo == hi ? NFPrinter.valueText(lo, sel) : NFPrinter.valueText(lo, sel) + "-" + NFPrinter.valueText(hi, sel))
                // (An address set keeps the raw integer type: nft lists `ip saddr { 0x1, 0x2 }`.)
                case .set(let vs) where !sel.isAddress: .set(vs.map(typed))
                case .set(let vs): .set(vs.map { e in
                    guard case .range(let lo, let hi, _) = e else { return e }
                    let h = { (n: UInt64) in "0x" + String(n, radix: 16) }
                    return .range(lo, hi, text: lo == hi ? h(lo) : h(lo) + "-" + h(hi))
                })
                default: v
                }
            }
            return .match(sel, mask: nil, op: op, value: typed(value))
        }
        // Whole bytes over several header fields, as nft lists them.
        if mask == nil, op == .implicit || op == .eq, f.bitOffset % 8 == 0, f.bitLength % 8 == 0, case .range(let lo, let hi, _) = value, lo == hi,
           let parts = NFParser.expandRaw(f, UInt128(lo), context) {
            expanded = Array(parts.dropFirst())
            return parts[0]
        }
        // Bits off byte boundaries: the bytes that hold them, under a mask (single values only).
        if f.bitOffset % 8 != 0 || f.bitLength % 8 != 0 {
            guard mask == nil, case .range(let lo, let hi, _) = value, lo == hi else {
                throw unsupported("raw payload sets or masks off byte boundaries", at: lt)
            }
            let start = f.bitOffset / 8 * 8, end = (f.bitOffset + f.bitLength + 7) / 8 * 8
            guard end - start <= 64 else { throw unsupported("raw payloads wider than 64 bits", at: lt) }
            let shift = UInt64(end - f.bitOffset - f.bitLength)
            mask = limit << shift
            value = .range(lo << shift, lo << shift, text: "0x" + String(lo << shift, radix: 16))
            f = NFPayloadField(base: base, bitOffset: start, bitLength: end - start, l4proto: nil)
            if op == .implicit { op = .eq }
        }
        // A mask that selects whole header fields lists as them (`@nh,0,8 & 0xf0 == 0x40` is `ip version 4`).
        if let m = mask, case .range(let lo, let hi, _) = value, lo == hi, let parts = NFParser.maskedRaw(f, mask: m, op: op, value: lo, context) {
            expanded = Array(parts.dropFirst())
            return parts[0]
        }
        return .rawMatch(f, mask: mask, op: op, value: value)
    }

    /// `tcp option @KIND,OFFSET,LENGTH [op] VALUE` (after the `@`): the option's bits, whole bytes
    /// up to 32 bits, compared with a value, range or set.
    mutating func tcpOptionRaw() throws(NFSyntaxError) -> NFStatement {
        let kt = tok
        guard let kind = UInt8(try word("an option kind")) else { throw err("expected an option kind (0-255)", at: kt) }
        try expectPunct(",")
        let ot = tok
        guard let off = Int(try word("a bit offset")), off >= 0, off < 2048 else { throw err("expected a bit offset", at: ot) }
        try expectPunct(",")
        let lt = tok
        guard let len = Int(try word("a bit length")), len > 0 else { throw err("expected a bit length", at: lt) }
        guard off % 8 == 0, len % 8 == 0, len <= 32 else { throw unsupported("tcp option fields off byte boundaries or wider than 32 bits", at: lt) }
        let (op, value) = try rawOperand(bits: len, after: toks[i - 1])
        return .tcpOptionRaw(kind: kind, bitOffset: off, bitLength: len, op: op, value: value)
    }

    /// A raw field's `[op] VALUE`: a number, range or set of them that fits `bits` bits.
    private mutating func rawOperand(bits: Int, after at: NFToken) throws(NFSyntaxError) -> (NFOp, NFValue) {
        var op = NFOp.implicit
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text) { op = o; i += 1 }
        guard !atStatementEnd else { throw err("expected a value after \(at.text)") }
        let limit: UInt64 = bits >= 64 ? .max : (1 << UInt64(bits)) - 1
        if isPunct("{") {
            i += 1
            return (op, .set(try braceList { (p: inout NFParser) throws(NFSyntaxError) in try p.numberOrRange(limit: limit) }))
        }
        return (op, try numberOrRange(limit: limit))
    }

    /// A raw payload of 65 to 128 bits (nft_cmp takes up to a 16-byte register): whole bytes, one
    /// value, equal or not; sets, masks and ranges that wide are refused as not supported yet.
    private mutating func rawPayloadWide(_ f: NFPayloadField, at lt: NFToken, context: RuleContext) throws(NFSyntaxError) -> NFStatement {
        guard f.bitLength <= 128, f.bitOffset % 8 == 0, f.bitLength % 8 == 0 else {
            throw unsupported("raw payloads wider than 64 bits off byte boundaries or past 128 bits", at: lt)
        }
        var negate = false
        if isPunct("==") { i += 1 } else if isPunct("!=") { i += 1; negate = true }
        let vt = tok
        guard tok.kind == .word, !isPunct("&") else { throw unsupported("sets, masks and ranges of raw payloads wider than 64 bits", at: vt) }
        let w = try word("a value")
        let n = w.hasPrefix("0x") ? UInt128(w.dropFirst(2), radix: 16) : UInt128(w)
        guard let v = n else { throw err("expected a number", at: vt) }
        guard f.bitLength == 128 || v >> UInt128(f.bitLength) == 0 else { throw refused("Value \(w) exceeds valid range 0-\((UInt128(1) << UInt128(f.bitLength)) - 1)", at: vt) }
        guard atStatementEnd || tok.kind == .word else { throw unsupported("sets, masks and ranges of raw payloads wider than 64 bits", at: tok) }
        if !negate, let parts = NFParser.expandRaw(f, v, context) {
            expanded = Array(parts.dropFirst())
            return parts[0]
        }
        return .rawMatchWide(f, negate: negate, value: v)
    }
}
