import NFTables

/// An option as written after `-m NAME` or `-j NAME`: `[!] --name [args...]`.
struct IPTOption {
    var name: String
    var negated: Bool
    var args: [IPTWord]
    var column: Int
}

/// One `-m` match module (or the implicit one `-p tcp --dport` brings) with its options.
struct IPTMatch {
    var module: String
    var options: [IPTOption] = []
    var column: Int
}

/// A rule read from an `-A`/`-I` line: its canonical iptables-save text and its nft translation.
struct IPTRule {
    var line: Int
    /// As iptables-nft-save prints it: `-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT`.
    var save: String
    /// nft statements, as iptables-nft builds them (a counter before the verdict), comment last.
    var nft: String
    /// The expressions as the kernel holds them, in nft's words: xtables ones as `xt match NAME`
    /// or `xt target NAME`, in the order of `xt`, which says how nft lists each.
    var listed: String
    var xt: [NFXtExpr]
    /// Its place among the rules its file made in the table (`-A` and `-I` alike).
    var seq = 0
    var jumpTarget: String?
    var targetName: String
    var targetColumn: Int
    /// Builtin chains the target may run in (nil: any).
    var allowedChains: Set<String>?

    /// Parses the words after `-A CHAIN`; a list of addresses (`-s a,b`) makes one rule per address, as iptables does.
    static func parse(_ words: [IPTWord], chain: String, table: String, counters: (Int, Int)?, line: Int,
                      ipsets: Set<String>) throws(IPTablesError) -> [IPTRule] {
        var p = IPTRuleParser(words: words, line: line, table: table, ipsets: ipsets)
        try p.run()
        var out: [IPTRule] = []
        for s in p.sources.isEmpty ? [nil] : p.sources.map(Optional.some) {
            for d in p.destinations.isEmpty ? [nil] : p.destinations.map(Optional.some) {
                out.append(try p.rule(chain: chain, source: s, destination: d, counters: counters))
            }
        }
        return out
    }
}

/// An IPv4 prefix as iptables prints it (`10.0.0.0/8`, a host as `/32`).
struct IPTPrefix {
    var addr: UInt32, len: Int
    var save: String { NFConstants.ipv4Text(addr) + "/\(len)" }
    var nft: String { len == 32 ? NFConstants.ipv4Text(addr) : save }
}

struct IPTRuleParser {
    let words: [IPTWord]
    let line: Int
    let table: String
    let ipsets: Set<String>
    var i = 0
    var sources: [IPTPrefix] = [], sourceNeg = false
    var destinations: [IPTPrefix] = [], destinationNeg = false
    var inIface: (String, Bool)? = nil, outIface: (String, Bool)? = nil
    /// Where `-i` and `-o` were written.
    var inColumn = 0, outColumn = 0
    var proto: (UInt8, Bool)? = nil
    /// `-f` (true: later fragments only) or `! -f` (false: unfragmented packets and first fragments).
    var fragment: Bool? = nil
    var matches: [IPTMatch] = []
    var target: IPTMatch? = nil
    var goto = false

    func fail(_ m: String, _ col: Int) -> IPTablesError { IPTablesError(line: line, column: col, message: m) }
    func unsupported(_ m: String, _ col: Int) -> IPTablesError { IPTablesError(line: line, column: col, message: "not supported yet: \(m)", kind: .unsupported) }

    mutating func next(_ opt: IPTWord) throws(IPTablesError) -> IPTWord {
        guard i < words.count else { throw fail("option \"\(opt.text)\" requires an argument", opt.column) }
        i += 1
        return words[i - 1]
    }

    mutating func run() throws(IPTablesError) {
        var neg: IPTWord? = nil
        while i < words.count {
            let w = words[i]
            i += 1
            if w.text == "!" {
                guard neg == nil else { throw fail("multiple consecutive ! not allowed", w.column) }
                neg = w; continue
            }
            let n = neg != nil
            defer { neg = nil }
            switch w.text {
            case "-s", "--source", "--src":
                sources = try prefixes(try next(w)); sourceNeg = n
            case "-d", "--destination", "--dst":
                destinations = try prefixes(try next(w)); destinationNeg = n
            case "-i", "--in-interface": inIface = (try iface(try next(w)), n); inColumn = w.column
            case "-o", "--out-interface": outIface = (try iface(try next(w)), n); outColumn = w.column
            case "-p", "--protocol":
                let v = try next(w)
                guard let num = IPTProtocols.number(v.text) else { throw fail("unknown protocol \"\(v.text)\" specified", v.column) }
                if num == 0 { if n { throw fail("rule would never match protocol", v.column) } } else { proto = (num, n) }
            case "-m", "--match":
                if let neg { throw fail("unexpected ! flag before --match", neg.column) }
                let v = try next(w)
                guard IPTMatches.known.contains(v.text) else {
                    throw unsupported("match `-m \(v.text)' (translated: \(IPTMatches.known.sorted().joined(separator: ", ")))", v.column)
                }
                matches.append(IPTMatch(module: v.text, column: v.column))
            case "-j", "--jump", "-g", "--goto":
                guard target == nil else { throw fail("multiple -j flags not allowed", w.column) }
                let v = try next(w)
                // An xtables target extension the translation lacks: refused as such, not mistaken
                // for a chain whose options are unknown.
                if IPTTargets.options[v.text] == nil, IPTTargets.extensions.contains(v.text) {
                    throw unsupported("target `-j \(v.text)' (translated: \(IPTTargets.options.keys.sorted().joined(separator: ", ")))", v.column)
                }
                target = IPTMatch(module: v.text, column: v.column)
                goto = w.text == "-g" || w.text == "--goto"
            case "-f", "--fragment":
                fragment = !n
            case "-c", "--set-counters":
                throw unsupported("-c inside a rule (a `[packets:bytes]` prefix is read)", w.column)
            default:
                guard w.text.hasPrefix("--") else { throw fail("Bad argument `\(w.text)'", w.column) }
                try option(w, negated: n)
            }
        }
    }

    /// `--name args` for the last module (or the target) that knows it; `-p tcp --dport` loads the implicit `-m tcp`.
    mutating func option(_ w: IPTWord, negated: Bool) throws(IPTablesError) {
        let name = String(w.text.dropFirst(2))
        func take(_ count: Int) throws(IPTablesError) -> [IPTWord] {
            var a: [IPTWord] = []
            for _ in 0..<count { a.append(try next(w)) }
            return a
        }
        if let t = target, let arity = IPTTargets.arity(t.module, name) {
            target!.options.append(IPTOption(name: name, negated: negated, args: try take(arity), column: w.column))
            return
        }
        for k in matches.indices.reversed() {
            if let arity = IPTMatches.arity(matches[k].module, name) {
                matches[k].options.append(IPTOption(name: name, negated: negated, args: try take(arity), column: w.column))
                return
            }
        }
        if let (p, _) = proto, let module = IPTProtocols.implicitModule[p], let arity = IPTMatches.arity(module, name) {
            matches.append(IPTMatch(module: module, column: w.column))
            matches[matches.count - 1].options.append(IPTOption(name: name, negated: negated, args: try take(arity), column: w.column))
            return
        }
        throw fail("unknown option \"\(w.text)\"", w.column)
    }

    func prefixes(_ w: IPTWord) throws(IPTablesError) -> [IPTPrefix] {
        try w.text.split(separator: ",").map { (part: Substring) throws(IPTablesError) -> IPTPrefix in
            let bits = part.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let a = NFConstants.ipv4(String(bits[0])) else {
                throw fail("host/network `\(part)' not found" + (bits[0].contains(where: \.isLetter) ? " (host names are not resolved here)" : ""), w.column)
            }
            var len = 32
            if bits.count == 2 {
                if let n = Int(bits[1]), (0...32).contains(n) { len = n } else if let m = NFConstants.ipv4(String(bits[1])), (~m &+ 1) & ~m == 0 || m == 0 {
                    len = m.nonzeroBitCount
                } else { throw fail("invalid mask `\(bits[1])' specified", w.column) }
            }
            let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << (32 - len)
            return IPTPrefix(addr: a & mask, len: len)
        }
    }

    func iface(_ w: IPTWord) throws(IPTablesError) -> String {
        guard !w.text.isEmpty, w.text.utf8.count < 16 else { throw fail("interface name `\(w.text)' must be shorter than IFNAMSIZ (16)", w.column) }
        return w.text
    }

    /// The rule for one source and destination: the save line and the nft statements.
    func rule(chain: String, source: IPTPrefix?, destination: IPTPrefix?, counters: (Int, Int)?) throws(IPTablesError) -> IPTRule {
        // iptables' generic check: no output device where packets come in, no input device where they go out.
        if outIface != nil, chain == "PREROUTING" || chain == "INPUT" { throw fail("Can't use -o with \(chain)", outColumn) }
        if inIface != nil, chain == "POSTROUTING" || chain == "OUTPUT" { throw fail("Can't use -i with \(chain)", inColumn) }
        var save = "-A \(chain)"
        // What runs, and what the kernel holds (native expressions and xtables placeholders).
        var nft: [String] = [], listed: [String] = [], xts: [NFXtExpr] = []
        func native(_ s: String) { nft.append(s); listed.append(s) }
        func xt(_ x: NFXtExpr, runs: [String]) {
            nft += runs; xts.append(x)
            listed.append("xt \(x.target ? "target" : "match") \(x.name)")
        }
        func neg(_ n: Bool) -> String { n ? "! " : "" }
        func nftIface(_ s: String) -> String { "\"" + (s.hasSuffix("+") ? s.dropLast() + "*" : s) + "\"" }
        if let s = source { save += " \(neg(sourceNeg))-s \(s.save)" }
        if let d = destination { save += " \(neg(destinationNeg))-d \(d.save)" }
        if let (v, n) = inIface { save += " \(neg(n))-i \(v)"; native("iifname \(n ? "!= " : "")\(nftIface(v))") }
        if let (v, n) = outIface { save += " \(neg(n))-o \(v)"; native("oifname \(n ? "!= " : "")\(nftIface(v))") }
        var ctx = IPTContext(chain: chain, proto: proto?.0, protoNegated: proto?.1 ?? false, table: table, line: line, ipsets: ipsets)
        if let (p, n) = proto {
            save += " \(neg(n))-p \(IPTProtocols.name(p))"
            // nft leaves it out of the listing when a native field of the protocol follows.
            native("meta l4proto \(n ? "!= " : "")\(IPTProtocols.nftName(p))")
        }
        if let s = source { native("ip saddr \(sourceNeg ? "!= " : "")\(s.nft)") }
        if let d = destination { native("ip daddr \(destinationNeg ? "!= " : "")\(d.nft)") }
        // IPT_F_FRAG, as iptables-nft writes it: the fragment offset (13 bits) is, or is not, zero.
        if let f = fragment {
            save += f ? " -f" : " ! -f"
            native("ip frag-off & 8191 \(f ? "!=" : "==") 0")
        }
        var comment: String? = nil
        for m in matches {
            let r = try IPTMatches.translate(m, &ctx)
            if r.gone { continue }
            save += " -m \(m.module)" + r.save
            if let x = r.xt { xt(x, runs: r.nft) } else { r.nft.forEach(native) }
            if let c = r.comment { comment = c }
        }
        native(counters.map { "counter packets \($0.0) bytes \($0.1)" } ?? "counter")
        var jump: String? = nil, allowed: Set<String>? = nil
        var targetName = ""
        if let t = target {
            targetName = t.module
            if goto {
                save += " -g \(t.module)"
                guard t.options.isEmpty else { throw fail("unknown option \"--\(t.options[0].name)\"", t.options[0].column) }
                native("goto \(t.module)"); jump = t.module
            } else if let r = try IPTTargets.translate(t, &ctx) {
                save += " -j \(t.module)" + r.save
                if let x = r.xt { xt(x, runs: [r.nft]) } else { native(r.nft) }
                allowed = r.chains
            } else {
                try IPTablesRestore.checkChainName(t.module, line: line, column: t.column)
                guard t.options.isEmpty else { throw fail("unknown option \"--\(t.options[0].name)\"", t.options[0].column) }
                save += " -j \(t.module)"
                native("jump \(t.module)"); jump = t.module
            }
        }
        if let c = comment { nft.append("comment \"\(c)\"") }
        return IPTRule(line: line, save: save, nft: nft.joined(separator: " "), listed: listed.joined(separator: " "), xt: xts,
                       jumpTarget: jump, targetName: targetName, targetColumn: target?.column ?? 1, allowedChains: allowed)
    }
}

/// What the translation of one module knows of the rule so far.
struct IPTContext {
    var chain = ""
    var proto: UInt8?
    var protoNegated: Bool
    let table: String
    let line: Int
    /// The stack's ipsets, by name (`-m set` names one of them).
    let ipsets: Set<String>
    func fail(_ m: String, _ col: Int) -> IPTablesError { IPTablesError(line: line, column: col, message: m) }
    func unsupported(_ m: String, _ col: Int) -> IPTablesError { IPTablesError(line: line, column: col, message: "not supported yet: \(m)", kind: .unsupported) }
    /// The protocol a port match needs (`-p tcp` and not negated).
    func portProto(_ module: String, _ col: Int) throws(IPTablesError) -> String {
        guard let p = proto, !protoNegated, [6, 17, 132, 33, 136].contains(p) else {
            throw fail("\(module): Need TCP, UDP, SCTP or DCCP with port specification", col)
        }
        return IPTProtocols.nftName(p)
    }
}

enum IPTProtocols {
    static let names: [UInt8: String] = [1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 33: "dccp", 47: "gre", 50: "esp", 51: "ah", 132: "sctp", 136: "udplite"]
    static let implicitModule: [UInt8: String] = [6: "tcp", 17: "udp", 1: "icmp"]
    static func number(_ s: String) -> UInt8? {
        let l = s.lowercased()
        if l == "all" || l == "0" { return 0 }
        if let n = UInt8(l) { return n }
        return names.first { $0.value == l }?.key
    }
    static func name(_ p: UInt8) -> String { names[p] ?? String(p) }
    static func nftName(_ p: UInt8) -> String { names[p] ?? String(p) }
}
