import NFTables

// The match modules iptables-nft loads as xtables matches that nft has no expression for (or lists
// by a translation): what each runs as in the model, its saved form and its listing.
extension IPTMatches {
    /// libxt_dscp's class names (`--dscp-class`, and the DSCP target's `--set-dscp-class`).
    private static let dscpClasses: [String: UInt8] = ["CS0": 0, "CS1": 8, "CS2": 16, "CS3": 24, "CS4": 32, "CS5": 40, "CS6": 48, "CS7": 56, "BE": 0,
                                               "AF11": 10, "AF12": 12, "AF13": 14, "AF21": 18, "AF22": 20, "AF23": 22, "AF31": 26, "AF32": 28,
                                               "AF33": 30, "AF41": 34, "AF42": 36, "AF43": 38, "EF": 46]

    /// A DSCP value as libxt_dscp reads it: a class name (`--dscp-class`, `--set-dscp-class`) or a
    /// number of at most 63.
    static func dscpValue(_ text: String, className: Bool) -> UInt8? {
        className ? dscpClasses[text.uppercased()] : NFConstants.number(text).flatMap { $0 <= 63 ? UInt8($0) : nil }
    }

    /// libxt_connlimit: one of --connlimit-above/--connlimit-upto, a prefix length mask.
    static func connlimit(_ m: IPTMatch, _ ctx: IPTContext, _ o: inout Out) throws(IPTablesError) {
        func opt(_ name: String...) -> IPTOption? { m.options.last { name.contains($0.name) } }
        guard let l = opt("connlimit-above", "connlimit-upto") else { throw ctx.fail("connlimit: option \"--connlimit-above\" or \"--connlimit-upto\" required", m.column) }
        guard let n = UInt32(l.args[0].text) else { throw ctx.fail("connlimit: bad value `\(l.args[0].text)'", l.args[0].column) }
        // `! --connlimit-above N` is `--connlimit-upto N` and the other way round.
        var x = NFXtConnlimit(limit: n, upto: (l.name == "connlimit-upto") != l.negated)
        if let mk = opt("connlimit-mask") {
            guard let p = Int(mk.args[0].text), (0...32).contains(p) else { throw ctx.fail("connlimit: bad mask `\(mk.args[0].text)'", mk.args[0].column) }
            x.prefix = p
        }
        x.daddr = opt("connlimit-daddr") != nil
        o.save += String(x.saveText.dropFirst("-m connlimit".count))
        o.nft.append("xt match connlimit")
        o.xt = NFXtExpr(target: false, name: "connlimit")
    }

    /// libxt_owner: ids or ranges (root by name); nft says one id test alone (skuid, skgid).
    static func owner(_ m: IPTMatch, _ ctx: IPTContext, _ o: inout Out) throws(IPTablesError) {
        var x = NFXtOwner()
        func ids(_ w: IPTWord) throws(IPTablesError) -> ClosedRange<UInt32> {
            if w.text == "root" { return 0...0 }
            let p = w.text.split(separator: "-", maxSplits: 1).map { UInt32($0) }
            guard let lo = p.first ?? nil, let hi = p.last ?? nil, lo <= hi else {
                throw ctx.unsupported("owner: `\(w.text)' (ids, not names other than root: the model has no user database)", w.column)
            }
            return lo...hi
        }
        for o in m.options {
            switch o.name {
            case "uid-owner": x.uid = try ids(o.args[0]); x.invertUID = o.negated
            case "gid-owner": x.gid = try ids(o.args[0]); x.invertGID = o.negated
            case "socket-exists": x.socketExists = true; x.invertSocket = o.negated
            default: x.supplGroups = true
            }
        }
        guard x.uid != nil || x.gid != nil || x.socketExists else { throw ctx.fail("owner: no test given", m.column) }
        o.save += String(x.saveText.dropFirst("-m owner".count))
        o.nft.append("xt match owner")
        let text: String? = x.socketExists || x.supplGroups || (x.uid != nil) == (x.gid != nil) ? nil
            : x.uid.map { "skuid \(x.invertUID ? "!= " : "")\(NFXtOwner.range($0))" } ?? x.gid.map { "skgid \(x.invertGID ? "!= " : "")\(NFXtOwner.range($0))" }
        o.xt = NFXtExpr(target: false, name: "owner", text: text)
    }

    /// libxt_recent's parse, then recent_mt_check's refusals (the kernel's EINVAL).
    static func recent(_ m: IPTMatch, _ ctx: IPTContext, _ o: inout Out) throws(IPTablesError) {
        var r = NFXtRecent(mode: .set, name: "DEFAULT")
        var modes = 0
        for x in m.options {
            switch x.name {
            case "set", "rcheck", "update", "remove":
                modes += 1
                guard modes == 1 else { throw ctx.fail("recent: option \"--\(r.mode.rawValue)\" cannot be used together with \"--\(x.name)\".", x.column) }
                r.mode = NFXtRecent.Mode(rawValue: x.name)!
                r.invert = x.negated
            case "seconds", "hitcount":
                guard let v = UInt32(x.args[0].text) else { throw ctx.fail("recent: bad --\(x.name) `\(x.args[0].text)'", x.args[0].column) }
                if x.name == "seconds" { r.seconds = v } else { r.hitcount = v }
            case "name":
                guard !x.args[0].text.isEmpty, x.args[0].text.utf8.count < 200 else { throw ctx.fail("recent: bad --name", x.args[0].column) }
                r.name = x.args[0].text
            case "mask":
                guard let v = NFConstants.ipv4(x.args[0].text) else { throw ctx.fail("recent: bad --mask `\(x.args[0].text)'", x.args[0].column) }
                r.mask = v
            case "reap": r.reap = true
            case "rttl": r.rttl = true
            case "rdest": r.rdest = true
            default: break
            }
        }
        guard modes == 1 else { throw ctx.fail("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'", m.column) }
        if r.reap && r.seconds == 0 { throw ctx.fail("recent: option \"--reap\" also requires \"--seconds\".", m.column) }
        if (r.mode == .set || r.mode == .remove) && (r.seconds != 0 || r.hitcount != 0 || r.reap || r.rttl) || r.hitcount > 255 {
            throw ctx.fail("RULE_APPEND failed (Invalid argument): rule in chain \(ctx.chain)", m.column)
        }
        o.save += String(r.saveText.dropFirst("-m recent".count))
        o.nft.append("xt match recent")
        o.xt = NFXtExpr(target: false, name: "recent")
    }

    /// Header matches iptables-nft loads as xtables ones, listed by their translations (tos has
    /// none): xt_length (the IP length), xt_hl (TTL), xt_pkttype, xt_mac (the frame's source),
    /// xt_dscp and xt_tos (the TOS byte under a mask, a raw read here). Recorded:
    /// scripts/record_xt_header_matches.sh.
    static func headerMatch(_ m: IPTMatch, _ ctx: IPTContext, _ o: inout Out) throws(IPTablesError) {
        guard let x = m.options.last else { throw ctx.fail("\(m.module): no option given", m.column) }
        let a = x.args[0]
        func bad() -> IPTablesError { ctx.fail("\(m.module): bad value `\(a.text)' for --\(x.name)", a.column) }
        func op(_ negated: Bool) -> String { negated ? "!= " : "" }
        let neg = x.negated ? "! " : ""
        var text: String? = nil
        switch m.module {
        case "length":
            let parts = a.text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let lo = parts[0].isEmpty ? 0 : UInt16(parts[0]), let hi = parts.count == 1 ? lo : parts[1].isEmpty ? 0xffff : UInt16(parts[1]), lo <= hi else { throw bad() }
            o.save += " \(neg)--length " + (lo == hi ? "\(lo)" : "\(lo):\(hi)")
            o.nft.append("meta length \(op(x.negated))" + (lo == hi ? "\(lo)" : "\(lo)-\(hi)"))
            text = o.nft[0]
        case "ttl":
            guard let v = UInt8(a.text) else { throw bad() }
            if x.negated && x.name != "ttl-eq" { throw ctx.fail("ttl: unexpected `!' with --\(x.name)", x.column) }
            o.save += " \(neg)--\(x.name) \(v)"
            let (sym, word) = x.name == "ttl-gt" ? ("> ", "gt ") : x.name == "ttl-lt" ? ("< ", "lt ") : (op(x.negated), op(x.negated))
            o.nft.append("ip ttl \(sym)\(v)")
            text = "ip ttl \(word)\(v)"
        case "pkttype":
            let names = ["unicast": "host", "host": "host", "broadcast": "broadcast", "multicast": "multicast", "otherhost": "other"]
            guard let n = names[a.text.lowercased()] else { throw ctx.fail("Bad packet type '\(a.text)'", a.column) }
            let shown = a.text.lowercased() == "host" ? "unicast" : a.text.lowercased()
            o.save += " \(neg)--pkt-type \(shown)"
            o.nft.append("meta pkttype \(op(x.negated))\(n)")
            text = "pkttype \(op(x.negated))\(shown)"
        case "mac":
            let bytes = a.text.split(separator: ":", omittingEmptySubsequences: false).compactMap { $0.count <= 2 ? UInt8($0, radix: 16) : nil }
            guard bytes.count == 6, a.text.split(separator: ":", omittingEmptySubsequences: false).count == 6 else { throw ctx.fail("Bad mac address \"\(a.text)\"", a.column) }
            let mac = bytes.map { String(hex2($0).dropFirst(2)) }.joined(separator: ":")
            o.save += " \(neg)--mac-source \(mac)"
            o.nft.append("ether saddr \(op(x.negated))\(mac)")
            text = o.nft[0]
        case "dscp":
            guard let v = dscpValue(a.text, className: x.name == "dscp-class") else { throw bad() }
            let hex = hex2(v)
            o.save += " \(neg)--dscp \(hex)"
            o.nft.append("ip dscp \(op(x.negated))\(hex)")
            text = o.nft[0]
        default:   // tos
            let names: [String: UInt8] = ["minimize-delay": 0x10, "maximize-throughput": 0x08, "maximize-reliability": 0x04,
                                          "minimize-cost": 0x02, "normal-service": 0x00]
            var value: UInt8, mask: UInt8 = 0xff
            if let n = names[a.text.lowercased()] { value = n; mask = 0x3f } else {
                let parts = a.text.split(separator: "/", maxSplits: 1).map { NFConstants.number(String($0)) }
                guard let v = parts[0], v <= 0xff else { throw bad() }
                value = UInt8(v)
                if parts.count == 2 { guard let mk = parts[1], mk <= 0xff else { throw bad() }; mask = UInt8(mk) }
            }
            o.save += " \(neg)--tos \(hex2(value))/\(hex2(mask))"
            o.nft.append("@nh,8,8 & \(hex2(mask)) \(x.negated ? "!=" : "==") \(hex2(value))")
        }
        o.xt = NFXtExpr(target: false, name: m.module, text: text)
    }
}
