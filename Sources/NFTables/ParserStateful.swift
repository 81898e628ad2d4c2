// Stateful statements: counters, quotas, limits and references to named objects.
extension NFParser {
    /// The stateful statements a set element carries (`limit rate ...`, `counter`, `quota ...`, `ct count ...`).
    mutating func elementExprs() throws(NFSyntaxError) -> [NFStatement] {
        var out: [NFStatement] = []
        while tok.kind == .word {
            switch tok.text {
            case "limit": i += 1; out.append(try limitBody())
            case "counter": i += 1; out.append(try counterBody())
            case "quota": i += 1; out.append(try quotaBody())
            case "ct" where i + 1 < toks.count && toks[i + 1].text == "count": i += 2; out.append(try ctCountBody())
            default: return out
            }
        }
        return out
    }

    /// `timeout T` after a dynset's or meter's key (ms), nil without one; EOPNOTSUPP where not `allowed`.
    mutating func elementTimeout(allowed: Bool) throws(NFSyntaxError) -> UInt64? {
        guard isWord("timeout") else { return nil }
        i += 1
        let dt = tok
        guard let ms = NFConstants.duration(try word("a time")) else { throw err("expected a time such as 30s or 1h", at: dt) }
        guard allowed else { throw refused("Could not process rule: Operation not supported", at: dt) }
        return ms
    }

    /// `[over] N` after `ct count`.
    mutating func ctCountBody() throws(NFSyntaxError) -> NFStatement {
        var over = false
        if isWord("over") { i += 1; over = true }
        let nt = tok
        guard let n = UInt32(try word("a number of connections")) else { throw err("expected a number", at: nt) }
        return .ctCount(count: n, over: over)
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

    /// Whether a word begins a key (`tcp dport`, `iifname`, `ct mark`, `numgen`...) rather than naming an object.
    func startsKey(_ w: String) -> Bool {
        NFParser.selectorWords[w] != nil || NFParser.bareMetaKeys.contains(w) || NFParser.generatorWords.contains(w) || ["ct", "osf"].contains(w)
    }

    /// `counter|quota|limit name "x"` or `... name KEY map { K : "x" }`: the table must hold the object.
    mutating func objectRef(_ kind: NFObjectKind, table: NFTable, context: RuleContext, anonymousSets: inout Int) throws(NFSyntaxError) -> NFStatement {
        i += 1   // name
        // Takes the parser explicitly: the map's item reader holds it inout.
        func known(_ p: NFParser, _ n: String, at t: NFToken) throws(NFSyntaxError) {
            guard table.objects.contains(where: { $0.kind == kind && $0.name == n }) else {
                throw p.refused("Could not process rule: No such file or directory (no \(kind.rawValue) \(n) in table \(table.name))", at: t)
            }
        }
        // A name, quoted or not (a word that starts no key: `counter name cnt_ssh`).
        if tok.kind == .string || tok.kind == .word && !startsKey(tok.text) {
            let nt = tok
            let n = try name("an object name")
            try known(self, n, at: nt)
            return .objref(kind, n)
        }
        var keys = [try concatSelector(context: context)]
        while isWord(".") { i += 1; keys.append(try concatSelector(context: context)) }
        // `map @m`: a named map of objects of this kind, keyed by what `keys` read.
        if isWord("map"), i + 1 < toks.count, toks[i + 1].kind == .punct, toks[i + 1].text == "@" {
            i += 2
            let nt = tok
            let n = try identifier("a map name")
            guard let m = table.sets.first(where: { $0.name == n }) else {
                throw refused("Could not process rule: No such file or directory (no map @\(n) in table \(table.name))", at: nt)
            }
            guard m.objectKind == kind, m.keys.count == keys.count, zip(m.keys, keys).allSatisfy({ $0.accepts($1) }) else {
                throw refused("datatype mismatch: map @\(n) is not a map of \(kind.rawValue) objects keyed by \(keys.map(\.printed).joined(separator: " . "))", at: nt)
            }
            return .objrefMapNamed(kind, keys, n)
        }
        try expectWord("map")
        try expectPunct("{")
        let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, String) in
            let k = keys.count == 1 ? try p.scalar(for: keys[0]) : try p.tupleValue(keys)
            try p.expectPunct(":")
            let nt = p.tok
            let n = try p.name("an object name")
            try known(p, n, at: nt)
            return (k, n)
        }
        anonymousSets += 1   // the anonymous map takes a handle
        return .objrefMap(kind, keys, entries)
    }
}

extension NFParser {
    /// The data after `:` in a rule that adds to map `set` (`add @m { ip saddr : 0x1 }`): a value
    /// of the map's data type, or a field of that type read from the packet.
    mutating func dynsetData(_ set: NFSet, context: RuleContext) throws(NFSyntaxError) -> NFDynData {
        let dt = tok
        guard let type = set.dataType, type != .ipv6_addr, !set.dataPort else {
            throw unsupported("rules that add to a map of \(set.dataType?.rawValue ?? "this type")\(set.dataPort ? " . inet_service" : "") data", at: dt)
        }
        let expected = type == .mark ? "packet mark" : NFParser.typeDescription(type.selector)
        let field = tok.kind == .word && i + 1 < toks.count && toks[i + 1].kind == .word && NFParser.selectorWords[tok.text]?[toks[i + 1].text] != nil
        if isWord("meta") || isWord("ct") || field {
            let sel = try concatSelector(context: context)
            if isPunct("&") || isPunct("|") || isPunct("^") || isWord("and") || isWord("or") || isWord("xor") {
                throw unsupported("a map's data computed from \(sel.printed)", at: tok)
            }
            guard NFSetKey.of(sel) == type else {
                let has = NFParser.keyTypeNames[sel.rawValue] ?? (sel == .mark || sel == .ctMark ? "packet mark" : NFParser.typeDescription(sel))
                throw refused("datatype mismatch: expected \(expected), expression has type \(has)", from: dt, to: toks[i - 1])
            }
            return .selector(sel)
        }
        let value: NFValue
        do { value = try scalar(for: type.selector) } catch {
            // nft's datatype parser's own words for a mark (the model's reader names the field).
            if type == .mark { throw refused("Could not parse packet mark", at: dt) }
            throw error
        }
        guard case .range(let v, let hi, _) = value, v == hi else { throw err("expected one \(type.rawValue) value", at: dt) }
        return .value(v, type.selector)
    }
}
