import NFTables

/// The targets translated, as iptables-nft-save prints them and as nft statements with the
/// kernel's semantics (ipt_REJECT, xt_LOG, xt_NAT/MASQUERADE/REDIRECT, xt_MARK, xt_CONNMARK, xt_CT).
enum IPTTargets {
    static let options: [String: [String: Int]] = [
        "ACCEPT": [:], "DROP": [:], "RETURN": [:], "NOTRACK": [:],
        "REJECT": ["reject-with": 1],
        "LOG": ["log-prefix": 1, "log-level": 1, "log-tcp-sequence": 0, "log-tcp-options": 0, "log-ip-options": 0, "log-uid": 0],
        "MASQUERADE": ["to-ports": 1, "random": 0, "random-fully": 0],
        "SNAT": ["to-source": 1, "random": 0, "random-fully": 0, "persistent": 0],
        "DNAT": ["to-destination": 1, "random": 0, "persistent": 0],
        "REDIRECT": ["to-ports": 1, "random": 0],
        "MARK": ["set-xmark": 1, "set-mark": 1, "and-mark": 1, "or-mark": 1, "xor-mark": 1],
        "CONNMARK": ["set-xmark": 1, "set-mark": 1, "and-mark": 1, "or-mark": 1, "xor-mark": 1, "save-mark": 0, "restore-mark": 0,
                     "nfmask": 1, "ctmask": 1, "mask": 1],
        "CT": ["notrack": 0],
        "DSCP": ["set-dscp": 1, "set-dscp-class": 1],
        "SET": ["add-set": 2, "del-set": 2, "map-set": 2, "exist": 0, "timeout": 1, "map-mark": 0, "map-prio": 0, "map-queue": 0],
    ]
    static func arity(_ target: String, _ option: String) -> Int? { options[target]?[option] }
    /// iptables' other target extensions (libxt_*/libipt_* targets of iptables 1.8.9).
    static let extensions: Set<String> = ["AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNSECMARK", "ECN", "HL", "HMARK", "IDLETIMER",
                                          "LED", "NETMAP", "NFLOG", "NFQUEUE", "RATEEST", "SECMARK", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP",
                                          "TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG"]

    /// `xt`: iptables-nft loads the target as this xtables target (nil: native, a verdict), listed
    /// by its translation; `nft` is what it does.
    struct Out { var save: String; var nft: String; var chains: Set<String>? = nil; var xt: NFXtExpr? = nil }

    static let rejectTypes: [(String, String)] = [
        ("icmp-net-unreachable", "reject with icmp net-unreachable"), ("icmp-host-unreachable", "reject with icmp host-unreachable"),
        ("icmp-port-unreachable", "reject"), ("icmp-proto-unreachable", "reject with icmp prot-unreachable"),
        ("icmp-net-prohibited", "reject with icmp net-prohibited"), ("icmp-host-prohibited", "reject with icmp host-prohibited"),
        ("icmp-admin-prohibited", "reject with icmp admin-prohibited"), ("tcp-reset", "reject with tcp reset"),
    ]
    static let rejectAliases = ["net-unreach": "icmp-net-unreachable", "host-unreach": "icmp-host-unreachable", "port-unreach": "icmp-port-unreachable",
                                "proto-unreach": "icmp-proto-unreachable", "tcp-rst": "tcp-reset"]
    static let logLevels = ["emerg": 0, "panic": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4, "warn": 4, "notice": 5, "info": 6, "debug": 7]
    static let nftLevels = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"]

    /// nil: not a target this knows (a user chain).
    static func translate(_ t: IPTMatch, _ ctx: inout IPTContext) throws(IPTablesError) -> Out? {
        guard options[t.module] != nil else { return nil }
        func opt(_ name: String) -> IPTOption? { t.options.last { $0.name == name } }
        for o in t.options where o.negated { throw ctx.fail("unexpected ! flag before --\(o.name)", o.column) }
        switch t.module {
        case "ACCEPT", "DROP", "RETURN": return Out(save: "", nft: t.module.lowercased())
        case "SET":
            // libxt_set's set_target_parse_v3; the sets must exist.
            var x = NFXtSetTarget()
            for o in t.options {
                switch o.name {
                case "add-set", "del-set":
                    guard (o.name == "add-set" ? x.add : x.del) == nil else { throw ctx.fail("--\(o.name) can be specified only once", o.column) }
                    guard ctx.ipsets.contains(o.args[0].text) else { throw ctx.fail("Set \(o.args[0].text) doesn't exist.", o.args[0].column) }
                    let v = (name: o.args[0].text, source: try IPTMatches.setFlags(o.args[1], ctx))
                    if o.name == "add-set" { x.add = v } else { x.del = v }
                case "map-set", "map-mark", "map-prio", "map-queue":
                    throw ctx.unsupported("-j SET --\(o.name) (skbinfo)", o.column)
                case "exist": x.exist = true
                case "timeout":
                    guard let v = UInt32(o.args[0].text), v <= 2_147_483 else { throw ctx.fail("Cannot parse \(o.args[0].text) as timeout value", o.args[0].column) }
                    x.timeout = v
                default: break
                }
            }
            guard x.add != nil || x.del != nil else { throw ctx.fail("You must specify either `--add-set' or `--del-set' or `--map-set'", t.column) }
            return Out(save: String(x.saveText.dropFirst("-j SET".count)), nft: "xt target SET")
        case "NOTRACK":
            guard ctx.table == "raw" else { throw ctx.fail("NOTRACK is only valid in the raw table", t.column) }
            return Out(save: "", nft: "notrack", xt: NFXtExpr(target: true, name: "CT", text: "notrack"))
        case "CT":
            guard opt("notrack") != nil else { throw ctx.unsupported("-j CT without --notrack", t.column) }
            guard ctx.table == "raw" else { throw ctx.fail("CT is only valid in the raw table", t.column) }
            return Out(save: " --notrack", nft: "notrack", xt: NFXtExpr(target: true, name: "CT", text: "notrack"))
        case "DSCP":
            // xt_DSCP (mangle only, the kernel's EINVAL elsewhere): the DSCP bits set, ECN kept, as
            // nft's `ip dscp set` writes them.
            guard ctx.table == "mangle" else { throw ctx.fail("RULE_APPEND failed (Invalid argument): rule in chain \(ctx.chain)", t.column) }
            guard let o = t.options.last else { throw ctx.fail("DSCP target: Parameter --set-dscp is required", t.column) }
            guard let v = IPTMatches.dscpValue(o.args[0].text, className: o.name == "set-dscp-class") else { throw ctx.fail("DSCP target: Invalid DSCP value `\(o.args[0].text)'", o.args[0].column) }
            let nft = "ip dscp set \(IPTMatches.hex2(v))"
            return Out(save: " --set-dscp \(IPTMatches.hex2(v))", nft: nft, xt: NFXtExpr(target: true, name: "DSCP", text: nft))
        case "REJECT":
            var with = opt("reject-with")?.args[0].text ?? "icmp-port-unreachable"
            with = rejectAliases[with] ?? with
            guard let r = rejectTypes.first(where: { $0.0 == with }) else { throw ctx.fail("unknown reject type \"\(with)\"", opt("reject-with")!.args[0].column) }
            // ipt_REJECT's checkentry: a TCP reset only for rules that match TCP.
            if with == "tcp-reset", ctx.proto != 6 || ctx.protoNegated { throw ctx.fail("TCP_RESET invalid for non-tcp", t.column) }
            // libipt_REJECT's translation names ICMP types as `icmp type X` (recorded).
            return Out(save: " --reject-with \(with)", nft: r.1, chains: ["INPUT", "FORWARD", "OUTPUT"],
                       xt: NFXtExpr(target: true, name: "REJECT", text: r.1.replacingOccurrences(of: "with icmp ", with: "with icmp type ")))
        case "LOG":
            var save = "", nft = "log"
            if let p = opt("log-prefix") {
                let s = p.args[0].text
                guard s.utf8.count <= 29 else { throw ctx.fail("Maximum prefix length 29 for --log-prefix", p.args[0].column) }
                guard !s.contains("\"") else { throw ctx.unsupported("a log prefix with a double quote", p.args[0].column) }
                save += " --log-prefix" + IPTMatches.saveString(s); nft += " prefix \"\(s)\""
            }
            if let l = opt("log-level") {
                guard let n = Int(l.args[0].text) ?? logLevels[l.args[0].text.lowercased()], (0...7).contains(n) else {
                    throw ctx.fail("log-level `\(l.args[0].text)' unknown", l.args[0].column)
                }
                if n != 4 { save += " --log-level \(n)"; nft += " level \(nftLevels[n])" }
            }
            var flags: [String] = []
            if opt("log-tcp-sequence") != nil { save += " --log-tcp-sequence"; flags.append("tcp sequence") }
            if opt("log-tcp-options") != nil { save += " --log-tcp-options"; flags.append("tcp options") }
            if opt("log-ip-options") != nil { save += " --log-ip-options"; flags.append("ip options") }
            if opt("log-uid") != nil { save += " --log-uid"; flags.append("skuid") }
            if flags.count >= 2, flags[0] == "tcp sequence", flags[1] == "tcp options" { flags.replaceSubrange(0...1, with: ["tcp sequence,options"]) }
            for f in flags { nft += " flags \(f)" }
            return Out(save: save, nft: nft, xt: NFXtExpr(target: true, name: "LOG", text: nft))
        case "MASQUERADE", "REDIRECT":
            guard ctx.table == "nat" else { throw ctx.fail("\(t.module) is only valid in the nat table", t.column) }
            var save = "", nft = t.module == "MASQUERADE" ? "masquerade" : "redirect"
            if let p = opt("to-ports") {
                _ = try ctx.portProto(t.module, p.column)
                let (lo, hi) = try portRange(p.args[0], ctx)
                save += " --to-ports \(lo)" + (hi != lo ? "-\(hi)" : ""); nft += " to :\(lo)" + (hi != lo ? "-\(hi)" : "")
            }
            if opt("random") != nil { save += " --random"; nft += " random" }
            if opt("random-fully") != nil { save += " --random-fully"; nft += nft.hasSuffix(" random") ? ",fully-random" : " fully-random" }
            return Out(save: save, nft: nft, chains: t.module == "MASQUERADE" ? ["POSTROUTING"] : ["PREROUTING", "OUTPUT"],
                       xt: NFXtExpr(target: true, name: t.module, text: nft))
        case "SNAT", "DNAT":
            guard ctx.table == "nat" else { throw ctx.fail("\(t.module) is only valid in the nat table", t.column) }
            let key = t.module == "SNAT" ? "to-source" : "to-destination"
            guard let to = opt(key) else { throw ctx.fail("\(t.module): option \"--\(key)\" is required", t.column) }
            let (saveTo, nftTo) = try natRange(to.args[0], ctx, t.module)
            var save = " --\(key) \(saveTo)", nft = "\(t.module.lowercased()) to \(nftTo)"
            var flags: [String] = []
            if opt("random") != nil { save += " --random"; flags.append("random") }
            if opt("random-fully") != nil { save += " --random-fully"; flags.append("fully-random") }
            if opt("persistent") != nil { save += " --persistent"; flags.append("persistent") }
            if !flags.isEmpty { nft += " " + flags.joined(separator: ",") }
            return Out(save: save, nft: nft, chains: t.module == "SNAT" ? ["POSTROUTING", "INPUT"] : ["PREROUTING", "OUTPUT"],
                       xt: NFXtExpr(target: true, name: t.module, text: nft))
        case "MARK", "CONNMARK":
            return try mark(t, ctx)
        default: return nil
        }
    }

    /// `1000` or `1000-2000` (a `:` too): the port range of a NAT or REDIRECT target.
    static func portRange(_ w: IPTWord, _ ctx: IPTContext) throws(IPTablesError) -> (UInt16, UInt16) {
        let parts = w.text.split(separator: w.text.contains("-") ? "-" : ":", maxSplits: 1).map { UInt16($0) }
        guard (1...2).contains(parts.count), let lo = parts[0], let hi = parts.last!, lo <= hi else { throw ctx.fail("Port range `\(w.text)' invalid", w.column) }
        return (lo, hi)
    }

    /// `[a[-b]][:p[-q]]`: the save form and nft's `a-b:p-q` (`:p` alone keeps the address).
    static func natRange(_ w: IPTWord, _ ctx: IPTContext, _ target: String) throws(IPTablesError) -> (String, String) {
        let parts = w.text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let addrs = parts[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { NFConstants.ipv4(String($0)) }
        var save = ""
        if !parts[0].isEmpty || parts.count == 1 {
            guard let lo = addrs[0], let hi = addrs.last!, lo <= hi else { throw ctx.fail("Bad IP address \"\(parts[0])\"", w.column) }
            save = NFConstants.ipv4Text(lo) + (hi != lo ? "-" + NFConstants.ipv4Text(hi) : "")
        }
        var nft = save
        if parts.count == 2 {
            _ = try ctx.portProto(target, w.column)
            let (plo, phi) = try portRange(IPTWord(text: String(parts[1]), column: w.column), ctx)
            let p = ":\(plo)" + (phi != plo ? "-\(phi)" : "")
            save += p; nft += p
        }
        return (save, nft)
    }

    /// MARK and CONNMARK: `(mark & ~mask) ^ value`, as libxt_MARK/libxt_CONNMARK store and save it.
    static func mark(_ t: IPTMatch, _ ctx: IPTContext) throws(IPTablesError) -> Out {
        let key = t.module == "MARK" ? "meta mark" : "ct mark"
        guard let o = t.options.first(where: { ["set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark", "save-mark", "restore-mark"].contains($0.name) }) else {
            throw ctx.fail("\(t.module) target: Parameter --set/and/or/xor-mark is required", t.column)
        }
        if o.name == "save-mark" || o.name == "restore-mark" {
            // libxt_CONNMARK: --mask sets both masks; in the order given.
            var nfmask = UInt32.max, ctmask = UInt32.max
            for m in t.options where ["nfmask", "ctmask", "mask"].contains(m.name) {
                guard let v = NFConstants.number(m.args[0].text).flatMap({ UInt32(exactly: $0) }) else { throw ctx.fail("Bad mask value \"\(m.args[0].text)\"", m.args[0].column) }
                if m.name != "ctmask" { nfmask = v }
                if m.name != "nfmask" { ctmask = v }
            }
            let save = o.name == "save-mark"
            let x = NFXtConnmark(save: save, nfmask: nfmask, ctmask: ctmask)
            // libxt_CONNMARK's translation says one mask only.
            let xlate = nfmask != ctmask ? nil : (save ? "ct mark set mark" : "meta mark set ct mark") + (nfmask == .max ? "" : " and \(IPTMatches.hex(nfmask))")
            let nft = nfmask == .max && ctmask == .max ? (save ? "ct mark set meta mark" : "meta mark set ct mark") : "xt target CONNMARK"
            return Out(save: String(x.saveText.dropFirst("-j CONNMARK".count)), nft: nft, xt: NFXtExpr(target: true, name: "CONNMARK", text: xlate))
        }
        let (v, m) = try IPTMatches.markMask(o.args[0], ctx)
        let (value, mask): (UInt32, UInt32) = switch o.name {
        case "set-xmark": (v, m)
        case "set-mark": (v, v | m)
        case "and-mark": (0, ~v)
        case "or-mark": (v, v)
        default: (v, 0)
        }
        let save = " --set-xmark \(IPTMatches.hex(value))/\(IPTMatches.hex(mask))"
        let nft = mask == 0xffff_ffff ? "\(key) set \(IPTMatches.hex(value))"
            : "\(key) set \(key) & \(IPTMatches.hex(~mask)) ^ \(IPTMatches.hex(value))"
        // libxt_MARK's and libxt_CONNMARK's translations (recorded): the cases they name, and
        // `and`/`xor` in the order each prints them.
        let (h, notMask) = (IPTMatches.hex(value), IPTMatches.hex(~mask))
        let old = t.module == "MARK" ? "mark" : "ct mark"
        let xlate = mask == 0xffff_ffff ? h : value == 0 ? "\(old) and \(notMask)" : value == mask ? "\(old) or \(h)" : mask == 0 ? "\(old) xor \(h)"
            : t.module == "MARK" ? "mark and \(notMask) xor \(h)" : "ct mark xor \(h) and \(notMask)"
        return Out(save: save, nft: nft, xt: NFXtExpr(target: true, name: t.module, text: "\(key) set \(xlate)"))
    }
}
