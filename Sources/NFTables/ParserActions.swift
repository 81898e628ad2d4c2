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
            (p, ph) = try natPorts()
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
            } else if isPunct("/") {
                // A prefix is the range of its addresses (nft lists a range that is one as a prefix).
                i += 1
                let lt = tok
                guard let len = Int(try word("a prefix length")), (0...128).contains(len) else { throw err("expected a prefix length 0-128", at: lt) }
                let mask: UInt128 = len == 0 ? 0 : ~UInt128(0) << UInt128(128 - len)
                (a, ah) = (x & mask, x | ~mask)
                // `2001:db8::/120:80`, as nft lists a prefix with a port.
                if isPunct(":") {
                    i += 1
                    (p, ph) = try natPorts()
                }
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
        if isPunct(":") {
            i += 1
            (p, ph) = try natPorts()
            return (a, ah, p, ph)
        }
        let t = tok
        let w = try word("an address")
        var addrPart = Substring(w)
        if let colon = w.firstIndex(of: ":") { addrPart = w[..<colon]; (p, ph) = try portRange(w[w.index(after: colon)...], at: t) }
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
        if isPunct(":") { i += 1; (p, ph) = try natPorts() }
        return (a, ah, p, ph)
    }

    /// A NAT target's `PORT` or `PORT-PORT` (the word after the colon).
    private mutating func natPorts() throws(NFSyntaxError) -> (UInt16, UInt16?) {
        let t = tok
        return try portRange(Substring(try word("a port")), at: t)
    }

    private func portRange(_ s: Substring, at t: NFToken) throws(NFSyntaxError) -> (UInt16, UInt16?) {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let lo = UInt16(parts[0]) else { throw err("expected a port or a port range", at: t) }
        guard parts.count == 2 else { return (lo, nil) }
        guard let hi = UInt16(parts[1]) else { throw err("expected a port or a port range", at: t) }
        guard lo <= hi else { throw refused("Range has zero or negative size", at: t) }
        return (lo, hi)
    }

    /// `dup to ADDR [device "x"]` or `dup to KEY map { K : ADDR, ... } [device "x"]` in ip tables;
    /// `dup to "DEVICE"` or `dup to KEY map { K : "DEVICE", ... }` in netdev tables (nf_dup_netdev:
    /// the frame itself out of that device).
    mutating func dupBody(table: NFTable, context: RuleContext, anonymousSets: inout Int, at t: NFToken) throws(NFSyntaxError) -> NFStatement {
        if table.family == .netdev {
            try expectWord("to")
            if tok.kind == .word, mapAhead(context) {
                var d = NFDup()
                (d.key, d.devices) = try deviceMap(context: context, anonymousSets: &anonymousSets)
                return .dup(d)
            }
            return .dup(NFDup(device: try deviceName()))
        }
        // nft 1.0.6 has no dup for inet (stmt_evaluate_dup): refused under the whole statement, its
        // address or map and device (recorded).
        if table.family == .inet {
            try expectWord("to")
            if let m = (i..<min(i + 3, toks.count)).first(where: { toks[$0].kind == .word && toks[$0].text == "map" }) {
                i = m + 1
                var depth = 0
                repeat {
                    if isPunct("{") { depth += 1 } else if isPunct("}") { depth -= 1 }
                    i += 1
                } while depth > 0 && tok.kind != .end
            } else if tok.kind == .word {
                // The address, with the pieces an IPv6 one lexes into (no space between them).
                i += 1
                while tok.kind != .end, tok.line == toks[i - 1].line, tok.column == toks[i - 1].column + toks[i - 1].width { i += 1 }
            }
            if isWord("device"), i + 1 < toks.count { i += 2 }
            throw refused("unsupported family", from: t, to: toks[i - 1])
        }
        guard table.family == .ip else { throw unsupported("dup in \(table.family.rawValue) tables (ip and netdev tables' dup is modelled)", at: t) }
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
            d.device = try deviceName()
        }
        return .dup(d)
    }
}

extension NFParser {
    /// `tproxy [ip|ip6] to ADDR[:PORT] | :PORT` (nft_tproxy), checked as nft's stmt_evaluate_tproxy
    /// does: a transport protocol first, then the network family the rule has fixed, then an
    /// address's family in inet tables. The address and port are constants here.
    mutating func tproxyBody(table: NFTable, context: RuleContext, at t: NFToken) throws(NFSyntaxError) -> NFStatement {
        i += 1
        var family: NFFamily? = nil
        if isWord("ip") || isWord("ip6") { family = isWord("ip") ? .ip : .ip6; i += 1 }
        guard isWord("to") else { throw err("syntax error, expecting to or ip or ip6") }
        i += 1
        var x = NFTProxy(family: table.family == .inet ? family : nil)
        let at = tok
        /// A port, by number or service name; a range is refused.
        func port(_ w: String, at pt: NFToken, _ p: NFParser) throws(NFSyntaxError) -> UInt16 {
            if w.contains("-") { throw p.refused("Port ranges are not supported for tproxy.", at: t) }
            guard let v = NFConstants.number(w) ?? NFConstants.services[w], let port = UInt16(exactly: v) else { throw p.err("expected a port", at: pt) }
            return port
        }
        if isPunct(":") {
            i += 1
            let pt = tok
            x.port = try port(try word("a port"), at: pt, self)
        } else if isPunct("[") || atIPv6Target() {
            if isPunct("[") {
                i += 1
                x.addr6 = try ipv6Word()
                try expectPunct("]")
                if isPunct(":") { i += 1; let pt = tok; x.port = try port(try word("a port"), at: pt, self) }
            } else {
                x.addr6 = try ipv6Word()
            }
        } else if tok.kind == .word, NFConstants.ipv4(String(tok.text.prefix { $0 != ":" })) != nil || tok.text.first?.isNumber == true {
            let w = try word("an address")
            let parts = w.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let a = NFConstants.ipv4(String(parts[0])) else {
                if isPunct("/") { throw unsupported("tproxy to a prefix", at: at) }
                throw err("expected an IPv4 address", at: at)
            }
            if isPunct("/") || w.contains("-") && parts.count == 1 { throw unsupported("tproxy to an address range", at: at) }
            x.addr = a
            if parts.count == 2 { x.port = try port(String(parts[1]), at: at, self) }
        } else {
            throw unsupported("tproxy to an address or port from a map", at: at)
        }
        if tok.kind == .word, tok.text == "map" || isPunct(".") { throw unsupported("tproxy to an address or port from a map", at: at) }
        // nft: "tproxy is only supported for IPv4/IPv6/INET".
        guard [.ip, .ip6, .inet].contains(table.family) else { throw refused("tproxy is only supported for IPv4/IPv6/INET", at: t) }
        guard context.l4 != nil || !context.l4Set.isEmpty else { throw refused("Transparent proxy support requires transport protocol match", at: t) }
        let net: NFFamily? = table.family == .inet ? (context.ipv4 ? .ip : context.ipv6Only ? .ip6 : nil) : table.family
        let given = table.family == .inet ? family : family ?? table.family
        if let net, given != net {
            throw refused("conflicting protocols specified: \(net.rawValue) vs. \(given?.rawValue ?? "unknown"). You must specify ip or ip6 family in tproxy statement", at: t)
        }
        if x.addr != nil || x.addr6 != nil {
            if table.family == .inet, family == nil { throw refused("ip or ip6 must be specified with address for inet tables.", at: t) }
            if (x.addr6 != nil && given == .ip) || (x.addr != nil && given == .ip6) {
                throw refused("Could not resolve hostname: Address family for hostname not supported", at: at)
            }
        }
        return .tproxy(x)
    }
}
