// Rule values: masks, scalars, IPv6 addresses, tuples and range checks.
extension NFParser {
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
        let w = try word("a mask")
        // An address's mask may be written as one (`ip saddr & 0.0.0.255`).
        guard let n = NFConstants.number(w) ?? (sel.isAddress ? NFConstants.ipv4(w).map(UInt64.init) : nil) else { throw err("expected a number", at: t) }
        try inRange(n, sel, at: t)
        return n
    }

    /// The elements of an anonymous set, after its `{`: a set written inside it adds its own
    /// elements (`{ { 1.1.1.0, 3.3.3.0 }, 2.2.2.0 }`); a flags element may join bits with `|`.
    mutating func setElements(for sel: NFSelector) throws(NFSyntaxError) -> [NFValue] {
        let all = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> [NFValue] in
            if p.isPunct("{") { p.i += 1; return try p.setElements(for: sel) }
            return [sel.isFlags ? try p.flagsValue(for: sel, inSet: true) : try p.scalar(for: sel)]
        }.flatMap { $0 }
        // One element per value (`{ unicast, host }` is `{ host }`).
        var seen = Set<NFValue>()
        return all.filter { seen.insert($0).inserted }
    }

    /// A flags value: a name or number, or bits in parentheses `(syn | ack)`; in a set, also bits
    /// joined by `|` without them (an element, listed as nft lists it, `syn | ack`).
    mutating func flagsValue(for sel: NFSelector, inSet: Bool = false) throws(NFSyntaxError) -> NFValue {
        var m: UInt64
        if isPunct("(") {
            m = try maskValue(for: sel)
        } else {
            let first = try scalar(for: sel)
            guard inSet, isPunct("|") else { return first }
            m = NFConstants.bits(first)
            while isPunct("|") { i += 1; m |= NFConstants.bits(try scalar(for: sel)) }
        }
        let text = inSet ? NFPrinter.flags(m, sel).replacingOccurrences(of: ",", with: " | ") : NFPrinter.flags(m, sel)
        return .range(m, m, text: text)
    }

    /// The operator of a match, as a symbol or one of nft's words (`eq`, `ne`, `lt`...); none is implicit.
    mutating func relationalOp() -> NFOp {
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text) { i += 1; return o }
        if tok.kind == .word, let o = NFParser.opWords[tok.text] { i += 1; return o }
        return .implicit
    }
    static let opWords: [String: NFOp] = ["eq": .eq, "ne": .ne, "lt": .lt, "gt": .gt, "le": .le, "ge": .ge]

    /// One value for a selector: a number, name, address, prefix or range.
    mutating func scalar(for sel: NFSelector) throws(NFSyntaxError) -> NFValue {
        let t = tok
        if t.kind == .string, let n = NFConstants.special(t.text, for: sel) {
            i += 1
            // `"08:00"-"17:00"`: a range of two such values (an hour range the wrong way round
            // is turned by the match: `valueMatch`).
            if isWord("-"), i + 1 < toks.count, toks[i + 1].kind == .string, let m = NFConstants.special(toks[i + 1].text, for: sel) {
                i += 2
                if m < n && sel != .hour { throw refused("Range has zero or negative size", at: t) }
                return .range(n, m, text: NFPrinter.number(n, sel) + "-" + NFPrinter.number(m, sel))
            }
            return .range(n, n, text: NFPrinter.number(n, sel))
        }
        if t.kind == .string, [NFSelector.day, .hour, .time, .skuid, .skgid, .iifgroup, .oifgroup].contains(sel) {
            throw refused("invalid value \"\(t.text)\" for \(sel.printed)", at: t)
        }
        if t.kind == .string {
            if t.text.isEmpty && (sel == .iifname || sel == .oifname || sel == NFSelector.ctHelper) { throw refused("Empty string is not allowed", at: t) }
            if sel.isOSF || sel == NFSelector.ctHelper, t.text.utf8.count > 16 { throw refused("String exceeds maximum length of 16", at: t) }
            if sel.isInterfaceIndex { try checkInterface(t.text, at: t) }
            i += 1
            return .string(t.text)
        }
        if sel.isAddress6 { return try ipv6Value(at: t) }
        if sel.isWide { return try wideValue(sel, at: t) }
        // The model's own listing of a zero time, as nft prints it, is no text at all (`ct
        // expiration `): read back from a checkpoint it is 0.
        if readsCheckpoint, sel == .ctExpiration, t.kind != .word || NFConstants.duration(t.text) == nil && !t.text.contains("-") {
            return .range(0, 0, text: "")
        }
        var w = try word("a value")
        // A tc handle `major:minor` may lex as three tokens.
        if sel == .priority, isPunct(":"), toks[i + 1].kind == .word { w += ":" + toks[i + 1].text; i += 2 }
        if sel == .priority, w.contains("-") {
            // A range of handles, `bcad:dada-bcad:dadc`: its second half lexes on.
            if isPunct(":"), toks[i + 1].kind == .word { w += ":" + toks[i + 1].text; i += 2 }
            let ends = w.split(separator: "-", maxSplits: 1).map { NFConstants.special(String($0), for: .priority) }
            if ends.count == 2, let lo = ends[0], let hi = ends[1] {
                guard lo <= hi else { throw refused("Range has zero or negative size", at: t) }
                return .range(lo, hi, text: w)
            }
        }
        if sel == .ctExpiration {
            // Durations, alone or as a range (`1m-1h`), held in milliseconds.
            let parts = w.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { NFConstants.duration(String($0)) }
            guard parts.allSatisfy({ $0 != nil }), let lo = parts[0] else { throw err("expected a time such as 30s or 4d23h59m59s", at: t) }
            let hi = parts.count == 2 ? parts[1]! : lo
            guard lo <= hi else { throw refused("Range has zero or negative size", at: t) }
            return .range(lo, hi, text: NFPrinter.value(.range(lo, hi, text: ""), sel))
        }
        if sel.isMAC {
            // A MAC address may lex as six words between colons, with no space between them: a
            // spaced colon parts a map's key from its data (`00:11:22:33:44:55 : 3`).
            while isPunct(":"), toks[i + 1].kind == .word, touching(toks[i - 1], tok), touching(tok, toks[i + 1]) {
                w += ":" + toks[i + 1].text; i += 2
            }
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
                guard a <= b else { throw refused("Range has zero or negative size", at: t) }
                return .range(UInt64(a), UInt64(b), text: w)
            }
            // A number is an address too (`ip saddr & 0xff == 1` lists as `== 0.0.0.1`).
            guard let a = NFConstants.ipv4(w) ?? NFConstants.number(w).flatMap(UInt32.init(exactly:)) else { throw err("expected an IPv4 address", at: t) }
            return .range(UInt64(a), UInt64(a), text: NFConstants.ipv4Text(a))
        }
        // An integer prefix, `meta mark 0xffffff00/24`: the values sharing its top bits.
        if isPunct("/"), let n = NFConstants.number(w) {
            i += 1
            let lt = tok
            let width = NFSelector.bitWidth(sel)
            guard let len = Int(try word("a prefix length")), (0...width).contains(len) else { throw err("expected a prefix length 0-\(width)", at: lt) }
            try inRange(n, sel, at: t)
            let host = sel.maxValue >> UInt64(len)
            return .range(n & ~host, (n & ~host) | host, text: NFPrinter.number(n & ~host, sel) + "/\(len)")
        }
        if let dash = w.dropFirst().firstIndex(of: "-"), let a = NFConstants.number(String(w[..<dash])), let b = NFConstants.number(String(w[w.index(after: dash)...])) {
            try inRange(max(a, b), sel, at: t)
            guard a <= b else { throw refused("Range has zero or negative size", at: t) }
            return .range(a, b, text: w)
        }
        // A port that is no octal number is read as decimal (`080` is 80; nft falls back to the service lookup).
        if let n = NFConstants.number(w) ?? (sel.isPort && w.allSatisfy(\.isASCII) ? UInt64(w) : nil) {
            // An interface index is the kernel's numbering of its devices, which the model does not give.
            if sel.isInterfaceIndex { throw unsupported("\(sel.printed) by interface index (name the device)", at: t) }
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
            // An alias lists by its type's own name (`vlan` as 8021q, `unicast` as host).
            let canonical = isProtocol || sel == .pkttype || sel.rawValue == "ether type" || sel.rawValue == "vlan type"
            return .range(n, n, text: sel.isPort ? String(n) : canonical ? NFPrinter.number(n, sel) : w)
        }
        if sel.isString {
            if sel.isOSF || sel == NFSelector.ctHelper, w.utf8.count > 16 { throw refused("String exceeds maximum length of 16", at: t) }
            if sel.isInterfaceIndex { try checkInterface(w, at: t) }
            return .string(w)
        }
        // nft asks getaddrinfo for a port name it does not know, and repeats its answer.
        if sel.isPort { throw NFSyntaxError(line: t.line, column: t.column, message: "Could not resolve service: Servname not supported for ai_socktype", length: t.width) }
        throw err("unknown value \(w) for \(sel.rawValue)", at: t)
    }

    /// An IPv6 address, `addr/len` prefix or `lo-hi` range: the lexer splits it at every ':', so
    /// the tokens written together are joined first. Prefixes keep their network part only.
    mutating func ipv6Value(at t: NFToken) throws(NFSyntaxError) -> NFValue {
        let (s, k) = glued(from: i, punct: [":", "/"])
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
        guard lo <= hi else { throw refused("Range has zero or negative size", at: t) }
        // A range that is exactly a prefix lists as the prefix (`2001:db8::10/124`), as nft lists it.
        return .range6(lo, hi, text: IPv6Text.range(lo, hi))
    }

    static let byteUnits: [String: UInt64] = ["bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024]

    /// Statements and expressions of nft 1.0.6 the model does not act on yet.
    static let notModelled: Set<String> = ["rt0", "rt2", "srh", "rt", "meter", "flow", "reset"]

    /// `& m`, `| o`, `^ x` (or and, or, xor) after a mark source, folded into one mask and xor
    /// as nft_bitwise holds them.
    mutating func maskAndXor(_ mask: inout UInt32, _ xor: inout UInt32) throws(NFSyntaxError) {
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
    }

    /// The key a rule adds to a set or meter: a field, or fields concatenated.
    mutating func dynsetKey(context: RuleContext) throws(NFSyntaxError) -> [NFSelector] {
        try dynsetKey(context: context, types: nil).0
    }

    /// The key with the parts that are values (`ip saddr . 234`, the nftables wiki's port
    /// knocking; first too, `234 . ip saddr`): those read as values of the set's key type at their
    /// place, their selector the type's. `types` nil (a meter): fields only.
    mutating func dynsetKey(context: RuleContext, types: [NFSetKey]?) throws(NFSyntaxError) -> ([NFSelector], [NFValue?]) {
        var key: [NFSelector] = [], values: [NFValue?] = []
        repeat {
            if !key.isEmpty { i += 1 }
            if tok.kind == .word, tok.text.first?.isNumber == true || NFConstants.services[tok.text] != nil {
                let vt = tok
                guard let types, key.count < types.count, !types[key.count].selector.isAddress6, !types[key.count].selector.isString else {
                    throw unsupported("a value in the key of a set rules add to (`\(vt.text)`)", at: vt)
                }
                let sel = types[key.count].selector
                guard case .range(let lo, let hi, let text) = try scalar(for: sel), lo == hi else { throw err("expected one value", at: vt) }
                key.append(sel); values.append(.range(lo, lo, text: text))
            } else {
                key.append(try concatSelector(context: context)); values.append(nil)
            }
        } while isWord(".")
        return (key, values)
    }

    /// `*`, a map's catch-all element, where `isPunct("*")`.
    mutating func catchAll() -> NFValue {
        i += 1
        return .catchAll
    }

    /// A map's elements with its catch-all after the others: the kernel tries it only when the
    /// key is not in the set, and nft lists it last.
    static func catchAllLast<T>(_ entries: [(NFValue, T)]) -> [(NFValue, T)] {
        entries.filter { $0.0 != .catchAll } + entries.filter { $0.0 == .catchAll }
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

    /// A value of raw bits wider than 64 (`0xe373...`), or a range of two, in hex as nft prints it.
    mutating func wideValue(_ sel: NFSelector, at t: NFToken) throws(NFSyntaxError) -> NFValue {
        func number(_ w: Substring) -> UInt128? { w.hasPrefix("0x") ? UInt128(w.dropFirst(2), radix: 16) : UInt128(w) }
        let w = try word("a value")
        let ends = w.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(ends.count), let lo = number(ends[0]), let hi = number(ends[ends.count - 1]) else { throw err("expected a number", at: t) }
        let bits = NFSelector.bitWidth(sel)
        guard bits == 128 || hi >> UInt128(bits) == 0 else { throw refused("Value \(w) exceeds valid range 0-\((UInt128(1) << UInt128(bits)) - 1)", at: t) }
        guard lo <= hi else { throw refused("Range has zero or negative size", at: t) }
        let hex = { (n: UInt128) in "0x" + String(n, radix: 16) }
        return .range6(lo, hi, text: lo == hi ? hex(lo) : hex(lo) + "-" + hex(hi))
    }

    /// nft checks a number against the width of what it is compared with.
    func inRange(_ n: UInt64, _ sel: NFSelector, at t: NFToken) throws(NFSyntaxError) {
        guard n > sel.maxValue else { return }
        throw refused("Value \(n) exceeds valid range 0-\(sel.maxValue)", at: t)
    }
}
