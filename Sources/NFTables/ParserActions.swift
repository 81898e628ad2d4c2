// Action options: NAT flags and targets, log options.
extension NFParser {
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

    /// `ADDR[-ADDR][:PORT[-PORT]]` or `:PORT[-PORT]`.
    /// An IPv6 NAT target: `ADDR[-ADDR]`, or bracketed before a port, `[ADDR][-[ADDR]]:PORT[-PORT]`.
    mutating func nat6Target() throws(NFSyntaxError) -> (UInt128, UInt128?, UInt16?, UInt16?) {
        var a: UInt128 = 0, ah: UInt128? = nil, p: UInt16? = nil, ph: UInt16? = nil
        if isPunct("[") {
            i += 1
            a = try ipv6Word()
            try expectPunct("]")
            if tok.text == "-" { i += 1 }
            if isPunct("[") {
                i += 1
                ah = try ipv6Word()
                try expectPunct("]")
            }
            try expectPunct(":")
            let pt = tok
            let w = try word("a port")
            let parts = w.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let lo = UInt16(parts[0]) else { throw err("expected a port or a port range", at: pt) }
            p = lo
            if parts.count == 2 {
                guard let hi = UInt16(parts[1]) else { throw err("expected a port or a port range", at: pt) }
                guard lo <= hi else { throw refused("Range has zero or negative size", at: pt) }
                ph = hi
            }
        } else {
            let t = tok
            let (w, next) = glued(from: i)
            i = next
            let range = w.split(separator: "-", omittingEmptySubsequences: false)
            guard range.count <= 2, let x = IPv6Text.parse(String(range[0])) else { throw err("expected an IPv6 address", at: t) }
            a = x
            if range.count == 2 {
                guard let y = IPv6Text.parse(String(range[1])) else { throw err("expected an IPv6 address", at: t) }
                ah = y
            }
        }
        if let hi = ah, hi < a { throw refused("Range has zero or negative size", at: tok) }
        return (a, ah, p, ph)
    }

    private mutating func ipv6Word() throws(NFSyntaxError) -> UInt128 {
        let t = tok
        let (text, next) = glued(from: i)
        guard let v = IPv6Text.parse(text) else { throw err("expected an IPv6 address", at: t) }
        i = next
        return v
    }

    /// The text of the tokens from `k` written together with no space between them (words and the
    /// punctuation given), as an IPv6 address, range or prefix is lexed, and the index after them.
    func glued(from k: Int, punct: Set<String> = [":", "-"]) -> (String, Int) {
        var s = "", j = k
        while j < toks.count, toks[j].kind == .word || (toks[j].kind == .punct && punct.contains(toks[j].text)) {
            if j > k {
                let p = toks[j - 1]
                guard toks[j].line == p.line, toks[j].column == p.column + p.width else { break }
            }
            s += toks[j].text
            j += 1
        }
        return (s, j)
    }

    /// Whether an IPv6 NAT target starts here: `[` or an IPv6 address (or range) written out.
    func atIPv6Target() -> Bool {
        if isPunct("[") { return true }
        let (text, _) = glued(from: i)
        return text.contains(":") && IPv6Text.parse(String(text.split(separator: "-").first ?? "")) != nil
    }

    mutating func natTarget() throws(NFSyntaxError) -> (UInt32?, UInt32?, UInt16?, UInt16?) {
        var a: UInt32? = nil, ah: UInt32? = nil, p: UInt16? = nil, ph: UInt16? = nil
        func ports(_ s: Substring, at t: NFToken) throws(NFSyntaxError) -> (UInt16, UInt16?) {
            let parts = s.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let lo = UInt16(parts[0]) else { throw err("expected a port or a port range", at: t) }
            guard parts.count == 2 else { return (lo, nil) }
            guard let hi = UInt16(parts[1]) else { throw err("expected a port or a port range", at: t) }
            guard lo <= hi else { throw refused("Range has zero or negative size", at: t) }
            return (lo, hi)
        }
        if isPunct(":") {
            i += 1
            let t = tok
            (p, ph) = try ports(Substring(try word("a port")), at: t)
            return (a, ah, p, ph)
        }
        let t = tok
        let w = try word("an address")
        var addrPart = Substring(w)
        if let colon = w.firstIndex(of: ":") { addrPart = w[..<colon]; (p, ph) = try ports(w[w.index(after: colon)...], at: t) }
        let range = addrPart.split(separator: "-", omittingEmptySubsequences: false)
        guard range.count <= 2, let x = NFConstants.ipv4(String(range[0])) else { throw err("expected an IPv4 address", at: t) }
        a = x
        if range.count > 1 {
            guard let y = NFConstants.ipv4(String(range[1])) else { throw err("expected an IPv4 address", at: t) }
            // nft: "Range has zero or negative size".
            guard x <= y else { throw refused("Range has zero or negative size", at: t) }
            ah = y
        }
        if isPunct("/") {
            // A prefix is the range of its addresses (nft lists a range that is one as a prefix).
            i += 1
            let lt = tok
            guard let len = Int(try word("a prefix length")), (0...32).contains(len) else { throw err("expected a prefix length 0-32", at: lt) }
            let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)
            a = x & mask
            ah = x | ~mask
        }
        if isPunct(":") { i += 1; let pt = tok; (p, ph) = try ports(Substring(try word("a port")), at: pt) }
        return (a, ah, p, ph)
    }

    /// `dup to ADDR [device "x"]` or `dup to KEY map { K : ADDR, ... } [device "x"]`: IPv4 tables only here.
    mutating func dupBody(table: NFTable, anonymousSets: inout Int, at t: NFToken) throws(NFSyntaxError) -> NFStatement {
        guard table.family == .ip else { throw unsupported("dup in \(table.family.rawValue) tables (ip tables' dup is modelled)", at: t) }
        try expectWord("to")
        var d = NFDup()
        if tok.kind == .word, let a = NFConstants.ipv4(tok.text) {
            i += 1
            d.addr = a
        } else {
            let key = try concatSelector(context: RuleContext())
            try expectWord("map")
            try expectPunct("{")
            d.key = key
            d.entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, UInt32) in
                let k = try p.scalar(for: key)
                try p.expectPunct(":")
                let at = p.tok
                guard let a = NFConstants.ipv4(try p.word("an IPv4 address")) else { throw p.err("expected an IPv4 address", at: at) }
                return (k, a)
            }
            anonymousSets += 1   // the anonymous map takes a handle
        }
        if isWord("device") {
            i += 1
            d.device = try name("a device name")
        }
        return .dup(d)
    }
}
