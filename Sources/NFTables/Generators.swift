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

/// What a NAT map is keyed by: a field of the packet, fields concatenated, or a generator.
public enum NFMapKey: Sendable, Equatable {
    case selector(NFSelector)
    case concat([NFSelector])
    case generator(NFGenerator)
    public var text: String {
        switch self {
        case .selector(let s): s.printed
        case .concat(let sels): sels.map(\.printed).joined(separator: " . ")
        case .generator(let g): g.text
        }
    }
}

/// A NAT map's data: an address, or (an interval map) a range or prefix of them, optionally
/// concatenated with a port or port range (`10.141.10.0/24 . 8888-8999`): the registers
/// nft_nat reads as the range's minimum and maximum address and port.
public struct NFNATData: Sendable, Equatable {
    /// IPv4 addresses in the low 32 bits, IPv6 ones whole (`v6`).
    public var addr: UInt128, addrHi: UInt128
    public var port: UInt16?, portHi: UInt16?
    /// Written as a range or prefix: the map holds intervals (nft refuses a map mixing both kinds).
    public var interval: Bool
    public var v6: Bool
    public init(addr: UInt128, addrHi: UInt128, port: UInt16? = nil, portHi: UInt16? = nil, interval: Bool = false, v6: Bool = false) {
        (self.addr, self.addrHi, self.port, self.portHi, self.interval, self.v6) = (addr, addrHi, port, portHi, interval, v6)
    }
}

/// `snat|dnat [ip] [prefix] to KEY map { K : DATA, ... }`: the range the key's entry names.
public struct NFNATMap: Sendable, Equatable {
    public var source: Bool
    public var key: NFMapKey
    public var entries: [(key: NFValue, data: NFNATData)]
    public var flags: NFNATFlags
    public static func == (l: NFNATMap, r: NFNATMap) -> Bool {
        l.source == r.source && l.key == r.key && l.flags == r.flags && l.entries.map(\.key) == r.entries.map(\.key) && l.entries.map(\.data) == r.entries.map(\.data)
    }
    /// nft names the address family (`snat ip to`) when the data is an interval or a concatenation.
    public var namesFamily: Bool { entries.contains { $0.data.interval || $0.data.port != nil } }
    /// A map of IPv6 addresses (`dnat ip6 to ...`): nft_nat with NFPROTO_IPV6.
    public var v6: Bool { entries.first?.data.v6 ?? false }
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

    /// `KEY map { K : DATA, ... }` after `snat|dnat [ip] [prefix] to`.
    /// `v6`: the data are IPv6 addresses (`at` is the statement, where the kernel's refusal points).
    mutating func natMap(source: Bool, netmap: Bool, v6: Bool = false, at st: NFToken, context: RuleContext) throws(NFSyntaxError) -> NFNATMap {
        var key: NFMapKey
        if tok.kind == .word, NFParser.generatorWords.contains(tok.text) {
            key = .generator(try generator(context: context))
        } else {
            var sels = [try concatSelector(context: context)]
            while isWord(".") { i += 1; sels.append(try concatSelector(context: context)) }
            key = sels.count == 1 ? .selector(sels[0]) : .concat(sels)
        }
        // A key such as `tcp dport` brings its protocol dependency (`th dport` does not).
        var transport = context.transport
        if case .concat(let sels) = key, sels.contains(where: { $0.impliedProtocol != nil }) { transport = true }
        if case .selector(let s) = key, s.impliedProtocol != nil { transport = true }
        try expectWord("map")
        if isPunct("@") { throw unsupported("named NAT maps with concatenated keys", at: tok) }
        try expectPunct("{")
        var entries: [(NFValue, NFNATData)] = []
        skipNewlines()
        while !isPunct("}") {
            let kt = tok
            let k: NFValue
            switch key {
            case .selector(let s): k = try scalar(for: s)
            case .concat(let sels): k = try tupleValue(sels)
            case .generator: k = try numberOrRange()
            }
            try expectPunct(":")
            let dt = tok
            let data = v6 ? try natMapData6() : try natMapData()
            if data.port != nil, !transport { throw refused("transport protocol mapping is only valid after transport protocol match", at: dt) }
            // An IPv6 range with a port is more than the set's data registers hold (recorded: ENODATA).
            if v6, data.port != nil, data.interval { throw refused("Could not process rule: No data available", at: st) }
            // The first element fixes the map's data type; the kernel refuses an element of the other kind.
            if let first = entries.first?.1, first.interval != data.interval || (first.port == nil) != (data.port == nil) {
                throw refused("Could not process rule: Invalid argument", at: kt)
            }
            entries.append((k, data))
            skipNewlines()
            if isPunct(",") { i += 1; skipNewlines() } else if !isPunct("}") { throw err("expected ',' or '}'") }
        }
        i += 1
        var flags = try natFlags()
        if netmap { flags.insert(.netmap) }
        return NFNATMap(source: source, key: key, entries: entries, flags: flags)
    }

    /// A NAT map element's data: `ADDR`, `ADDR-ADDR` or `ADDR/LEN`, then optionally `. PORT[-PORT]`.
    mutating func natMapData() throws(NFSyntaxError) -> NFNATData {
        let at = tok
        let (a, ah, p, _) = try natTarget()
        guard let a, p == nil else { throw err("expected an IPv4 address", at: at) }
        var d = NFNATData(addr: UInt128(a), addrHi: UInt128(ah ?? a), interval: ah != nil)
        try natMapPort(&d)
        return d
    }

    /// An IPv6 NAT map element's data: `ADDR`, `ADDR-ADDR` or `ADDR/LEN`, then optionally `. PORT[-PORT]`.
    mutating func natMapData6() throws(NFSyntaxError) -> NFNATData {
        let at = tok
        let (w, next) = glued(from: i, punct: [":", "-", "/"])
        let slash = w.split(separator: "/", omittingEmptySubsequences: false)
        let range = slash[0].split(separator: "-", omittingEmptySubsequences: false)
        guard slash.count <= 2, range.count <= 2, let lo = IPv6Text.parse(String(range[0])) else { throw err("expected an IPv6 address", at: at) }
        i = next
        var d = NFNATData(addr: lo, addrHi: lo, v6: true)
        if range.count == 2 {
            guard slash.count == 1, let hi = IPv6Text.parse(String(range[1])) else { throw err("expected an IPv6 address", at: at) }
            guard lo <= hi else { throw refused("Range has zero or negative size", at: at) }
            (d.addrHi, d.interval) = (hi, true)
        } else if slash.count == 2 {
            guard let len = Int(slash[1]), (0...128).contains(len) else { throw err("expected a prefix length 0-128", at: at) }
            let mask: UInt128 = len == 0 ? 0 : ~UInt128(0) << UInt128(128 - len)
            (d.addr, d.addrHi, d.interval) = (lo & mask, lo | ~mask, true)
        }
        try natMapPort(&d)
        return d
    }

    /// `. PORT[-PORT]` after a NAT map element's address, if there.
    private mutating func natMapPort(_ d: inout NFNATData) throws(NFSyntaxError) {
        guard isWord(".") else { return }
        i += 1
        let pt = tok
        var w = try word("a port or a port range")
        // `8888 - 8999` with blanks reads as three words.
        if isWord("-") { i += 1; w += "-" + (try word("a port")) }
        let parts = w.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let lo = UInt16(parts[0]), let hi = UInt16(parts[parts.count - 1]) else {
            throw err("expected a port or a port range", at: pt)
        }
        guard lo <= hi else { throw refused("Range has zero or negative size", at: pt) }
        d.port = lo
        d.portHi = hi
        if parts.count == 2 { d.interval = true }
    }
}
