/// Expressions that compute a number instead of reading one: `numgen` (nft_numgen), `jhash` and
/// `symhash` (nft_hash). kube-proxy spreads a service over its endpoints with `numgen random mod N vmap`.
public enum NFGenerator: Sendable, Equatable {
    /// `numgen random|inc mod N [offset M]`.
    case numgen(random: Bool, mod: UInt32, offset: UInt32)
    /// `jhash KEY mod N [seed S] [offset M]`: no seed, the kernel draws one when the rule loads.
    case jhash([NFSelector], mod: UInt32, seed: UInt32?, offset: UInt32)
    /// `symhash mod N [offset M]`: the packet's symmetric flow hash.
    case symhash(mod: UInt32, offset: UInt32)

    /// As nft lists it.
    public var text: String {
        switch self {
        case .numgen(let random, let mod, let offset):
            return "numgen \(random ? "random" : "inc") mod \(mod)" + (offset != 0 ? " offset \(offset)" : "")
        case .jhash(let sels, let mod, let seed, let offset):
            return "jhash \(sels.map(\.printed).joined(separator: " . ")) mod \(mod)" + (seed.map { " seed 0x" + String($0, radix: 16) } ?? "")
                + (offset != 0 ? " offset \(offset)" : "")
        case .symhash(let mod, let offset):
            return "symhash mod \(mod)" + (offset != 0 ? " offset \(offset)" : "")
        }
    }
}

/// What a NAT map is keyed by: a field of the packet or a generator.
public enum NFMapKey: Sendable, Equatable {
    case selector(NFSelector)
    case generator(NFGenerator)
    public var text: String {
        switch self {
        case .selector(let s): s.printed
        case .generator(let g): g.text
        }
    }
}

/// `snat|dnat [ip] to KEY map { K : ADDR, ... }`: the address the key's entry names.
public struct NFNATMap: Sendable, Equatable {
    public var source: Bool
    public var key: NFMapKey
    public var entries: [(key: NFValue, addr: UInt32)]
    public var flags: NFNATFlags
    public static func == (l: NFNATMap, r: NFNATMap) -> Bool {
        l.source == r.source && l.key == r.key && l.flags == r.flags && l.entries.map(\.key) == r.entries.map(\.key) && l.entries.map(\.addr) == r.entries.map(\.addr)
    }
}

extension NFParser {
    /// `N` or `A-B` (any base nft reads) up to `limit`, kept with its text: generator values, raw
    /// payload values, the keys of generator maps. Past the limit is nft's "Value exceeds valid range".
    mutating func numberOrRange(limit: UInt64 = .max) throws(NFSyntaxError) -> NFValue {
        let vt = tok
        let w = try word("a number or range")
        let parts = w.split(separator: "-", omittingEmptySubsequences: false).map { NFConstants.number(String($0)) }
        guard (1...2).contains(parts.count), let lo = parts[0], let hi = parts.last!, lo <= hi else { throw err("expected a number or range", at: vt) }
        guard hi <= limit else { throw refused("Value \(hi) exceeds valid range 0-\(limit)", at: vt) }
        return .range(lo, hi, text: w)
    }

    /// `GENERATOR [op] N|A-B|{ ... }`: a compare of the generated number.
    mutating func generatorMatch(_ g: NFGenerator, anonymousSets: inout Int) throws(NFSyntaxError) -> NFStatement {
        var op = NFOp.implicit
        if tok.kind == .punct, let o = NFOp(rawValue: tok.text) { op = o; i += 1 }
        if isPunct("{") {
            i += 1
            let vals = try braceList { (p: inout NFParser) throws(NFSyntaxError) in try p.numberOrRange(limit: UInt64(UInt32.max)) }
            anonymousSets += 1
            return .generatorMatch(g, op, .set(vals))
        }
        let v = try numberOrRange(limit: UInt64(UInt32.max))
        if case .range(let lo, let hi, _) = v, lo != hi, ![.implicit, .eq, .ne].contains(op) { throw err("a range takes == or !=", at: tok) }
        return .generatorMatch(g, op, v)
    }

    static let generatorWords: Set<String> = ["numgen", "jhash", "symhash"]

    /// `numgen random|inc mod N [offset M]`, `jhash KEY mod N [seed S] [offset M]`, `symhash mod N [offset M]`.
    mutating func generator(context: RuleContext) throws(NFSyntaxError) -> NFGenerator {
        let t = tok
        let kind = try word("numgen, jhash or symhash")
        var random = false
        var sels: [NFSelector] = []
        switch kind {
        case "numgen":
            let mt = tok
            let mode = try word("random or inc")
            guard mode == "random" || mode == "inc" else { throw err("expected random or inc", at: mt) }
            random = mode == "random"
        case "jhash":
            sels.append(try concatSelector(context: context))
            while isWord(".") { i += 1; sels.append(try concatSelector(context: context)) }
        case "symhash": break
        default: throw err("expected numgen, jhash or symhash", at: t)
        }
        try expectWord("mod")
        let mt = tok
        guard let mod = NFConstants.number(try word("a modulus")).flatMap({ UInt32(exactly: $0) }) else { throw err("expected a 32-bit number", at: mt) }
        // nft_ng_init / nft_jhash_init: a zero modulus is ERANGE.
        guard mod > 0 else { throw refused("Could not process rule: Numerical result out of range", at: mt) }
        var seed: UInt32? = nil, offset: UInt32 = 0
        while tok.kind == .word, (kind == "jhash" && tok.text == "seed") || tok.text == "offset" {
            let w = tok.text
            i += 1
            let nt = tok
            guard let n = NFConstants.number(try word("a number")).flatMap({ UInt32(exactly: $0) }) else { throw err("expected a 32-bit number", at: nt) }
            if w == "seed" { seed = n } else { offset = n }
        }
        // The largest value must fit in 32 bits (EOVERFLOW).
        guard offset <= UInt32.max - (mod - 1) else { throw refused("Could not process rule: Value too large for defined data type", at: t) }
        switch kind {
        case "numgen": return .numgen(random: random, mod: mod, offset: offset)
        case "jhash": return .jhash(sels, mod: mod, seed: seed, offset: offset)
        default: return .symhash(mod: mod, offset: offset)
        }
    }

    /// `KEY map { K : ADDR, ... }` after `snat|dnat [ip] to`.
    mutating func natMap(source: Bool, context: RuleContext) throws(NFSyntaxError) -> NFNATMap {
        let key: NFMapKey = tok.kind == .word && NFParser.generatorWords.contains(tok.text)
            ? .generator(try generator(context: context)) : .selector(try concatSelector(context: context))
        try expectWord("map")
        try expectPunct("{")
        var entries: [(NFValue, UInt32)] = []
        skipNewlines()
        while !isPunct("}") {
            let k: NFValue
            switch key {
            case .selector(let s): k = try scalar(for: s)
            case .generator: k = try numberOrRange()
            }
            try expectPunct(":")
            let at = tok
            let (a, ah, p, _) = try natTarget()
            guard let a, ah == nil else { throw err("expected an IPv4 address", at: at) }
            guard p == nil else { throw unsupported("NAT map data with ports (address . port)", at: at) }
            entries.append((k, a))
            skipNewlines()
            if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
        }
        i += 1
        return NFNATMap(source: source, key: key, entries: entries, flags: try natFlags())
    }
}
