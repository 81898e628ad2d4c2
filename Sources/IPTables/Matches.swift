import Foundation
import NFTables

/// The match modules translated, each as iptables-nft-save prints it and as nft expressions with
/// the kernel's semantics (xt_tcpudp, xt_multiport, xt_state/xt_conntrack, xt_mark, xt_connmark,
/// xt_limit, xt_addrtype, xt_statistic, xt_comment, xt_icmp), and xt_set, which iptables-nft
/// loads as an xtables match (`xt match set`).
enum IPTMatches {
    /// Options per module and how many words each takes.
    static let options: [String: [String: Int]] = [
        "tcp": ["sport": 1, "source-port": 1, "dport": 1, "destination-port": 1, "tcp-flags": 2, "syn": 0],
        "udp": ["sport": 1, "source-port": 1, "dport": 1, "destination-port": 1],
        "icmp": ["icmp-type": 1],
        "multiport": ["sports": 1, "source-ports": 1, "dports": 1, "destination-ports": 1, "ports": 1],
        "state": ["state": 1],
        "conntrack": ["ctstate": 1],
        "comment": ["comment": 1],
        "mark": ["mark": 1],
        "connmark": ["mark": 1],
        "limit": ["limit": 1, "limit-burst": 1],
        "addrtype": ["src-type": 1, "dst-type": 1, "limit-iface-in": 0, "limit-iface-out": 0],
        "statistic": ["mode": 1, "probability": 1, "every": 1, "packet": 1],
        "iprange": ["src-range": 1, "dst-range": 1],
        "length": ["length": 1],
        "ttl": ["ttl-eq": 1, "ttl-gt": 1, "ttl-lt": 1],
        "pkttype": ["pkt-type": 1],
        "mac": ["mac-source": 1],
        "dscp": ["dscp": 1, "dscp-class": 1],
        "tos": ["tos": 1],
        "owner": ["uid-owner": 1, "gid-owner": 1, "socket-exists": 0, "suppl-groups": 0],
        "connlimit": ["connlimit-above": 1, "connlimit-upto": 1, "connlimit-mask": 1, "connlimit-saddr": 0, "connlimit-daddr": 0],
        "recent": ["set": 0, "rcheck": 0, "update": 0, "remove": 0, "seconds": 1, "reap": 0, "hitcount": 1, "rttl": 0, "name": 1,
                   "mask": 1, "rsource": 0, "rdest": 0],
        "set": ["match-set": 2, "set": 2, "return-nomatch": 0, "update-counters": 0, "update-subcounters": 0,
                "packets-eq": 1, "packets-lt": 1, "packets-gt": 1, "bytes-eq": 1, "bytes-lt": 1, "bytes-gt": 1],
    ]
    static var known: Set<String> { Set(options.keys) }
    static func arity(_ module: String, _ option: String) -> Int? { options[module]?[option] }

    /// `nft`: what the module does, as nft statements. `xt`: iptables-nft loads the module as this
    /// xtables match (nil: as the native expressions `nft`), which nft lists by its translation.
    /// `gone`: iptables-nft puts nothing of it into the kernel, so the saved line does not name it.
    struct Out { var save = ""; var nft: [String] = []; var comment: String? = nil; var xt: NFXtExpr? = nil; var gone = false }

    static func translate(_ m: IPTMatch, _ ctx: inout IPTContext) throws(IPTablesError) -> Out {
        var o = Out()
        func opt(_ name: String...) -> IPTOption? { m.options.last { name.contains($0.name) } }
        func neg(_ x: IPTOption) -> String { x.negated ? "! " : "" }
        func op(_ x: IPTOption) -> String { x.negated ? "!= " : "" }
        switch m.module {
        case "tcp", "udp":
            let p = try ctx.portProto(m.module, m.column)
            guard p == m.module else { throw ctx.fail("\(m.module) match needs -p \(m.module)", m.column) }
            var wholeRange = false
            for (names, dir) in [(["sport", "source-port"], "sport"), (["dport", "destination-port"], "dport")] {
                guard let x = m.options.last(where: { names.contains($0.name) }) else { continue }
                let (lo, hi) = try ports(x.args[0], ctx)
                guard let (s, n) = kernelPorts(p, dir, lo, hi, negated: x.negated) else { wholeRange = wholeRange || !x.negated; continue }
                o.save += " " + s; o.nft.append(n)
            }
            if let x = opt("tcp-flags", "syn") {
                let (mask, comp) = x.name == "syn" ? (0x17 as UInt64, 0x02 as UInt64) : (try flags(x.args[0], ctx), try flags(x.args[1], ctx))
                o.save += " \(neg(x))--tcp-flags \(flagNames(mask)) \(flagNames(comp))"
                // iptables-nft puts the flags before the ports (recorded).
                o.nft.insert(comp == 0 && !x.negated ? "tcp flags ! \(nftFlags(mask, ","))"
                             : "tcp flags & (\(nftFlags(mask, " | "))) \(x.negated ? "!=" : "==") \(comp == 0 ? "0x0" : nftFlags(comp, " | "))", at: 0)
            }
            // Nothing native to say (no options, or every port): the xtables match, listed as nothing.
            // A negated whole range alone is no match at all, not even in the saved line (recorded).
            if o.nft.isEmpty {
                if !m.options.isEmpty && !wholeRange { o.gone = true; return o }
                o.xt = NFXtExpr(target: false, name: m.module, text: "")
            }
        case "icmp":
            guard ctx.proto == 1, !ctx.protoNegated else { throw ctx.fail("icmp match needs -p icmp", m.column) }
            // libxt_icmp's translation: `any` as the protocol (negated too), one type by name; a code
            // it cannot say (recorded).
            o.xt = NFXtExpr(target: false, name: "icmp", text: "")
            if let x = opt("icmp-type") {
                guard let (type, code) = icmpType(x.args[0].text) else { throw ctx.fail("Invalid ICMP type `\(x.args[0].text)'", x.args[0].column) }
                if type == 255 {
                    o.save += " \(neg(x))--icmp-type any"
                    if x.negated { o.nft.append("icmp type != 0-255") }
                    o.xt!.text = "ip protocol icmp"
                } else {
                    o.save += " \(neg(x))--icmp-type \(type)" + (code.map { "/\($0)" } ?? "")
                    if let code {
                        guard !x.negated else { throw ctx.unsupported("! --icmp-type TYPE/CODE", x.column) }
                        o.nft.append("icmp type \(type) icmp code \(code)")
                        o.xt!.text = nil
                    } else {
                        o.nft.append("icmp type \(op(x))\(type)")
                        o.xt!.text = "icmp type \(op(x))" + (NFConstants.icmpTypes.first { $0.value == UInt64(type) }?.key ?? String(type))
                    }
                }
            }
        case "multiport":
            let p = try ctx.portProto("multiport", m.column)
            guard let x = m.options.last else { throw ctx.fail("multiport: no ports specified", m.column) }
            let dir: String
            switch x.name {
            case "sports", "source-ports": dir = "sport"
            case "dports", "destination-ports": dir = "dport"
            default: dir = "port"
            }
            let parts = x.args[0].text.split(separator: ",").map(String.init)
            guard !parts.isEmpty, parts.count <= 15 else { throw ctx.fail("multiport: too many ports specified", x.args[0].column) }
            var s: [String] = [], n: [String] = [], ends: [UInt64] = []
            for part in parts {
                let (lo, hi) = try ports(IPTWord(text: part, column: x.args[0].column), ctx)
                let (ps, pn) = portText(lo, hi)
                s.append(ps); n.append(pn); ends += lo == hi ? [lo] : [lo, hi]
            }
            if dir == "port" {
                // Either port (xt_multiport's XT_MULTIPORT_EITHER), which nft cannot say. libxt_multiport's
                // translation pairs each number with any port, a range's two ends alone, unnegated (recorded).
                o.save += " \(neg(x))--ports \(s.joined(separator: ","))"
                o.nft.append("xt match multiport")
                o.xt = NFXtExpr(target: false, name: "multiport", text: "\(p) sport . \(p) dport { "
                                + ends.map { "0-65535 . \($0), \($0) . 0-65535" }.joined(separator: ", ") + " }")
                return o
            }
            o.save += " \(neg(x))--\(dir)s \(s.joined(separator: ","))"
            o.nft.append("\(p) \(dir) \(op(x)){ \(n.joined(separator: ", ")) }")
            o.xt = NFXtExpr(target: false, name: "multiport", text: "\(p) \(dir) \(op(x))" + (n.count == 1 ? n[0] : "{ \(n.joined(separator: ", ")) }"))
        case "state", "conntrack":
            guard let x = opt("state", "ctstate") else { throw ctx.fail("\(m.module): no state specified", m.column) }
            let bits = try states(x.args[0], ctx, module: m.module)
            o.save += " \(neg(x))--\(x.name) \(stateNames(bits))"
            if bits & (snatBit | dnatBit) != 0 {
                // A NAT status among the states: xt_conntrack's own test; its translation names one status, unnegated (recorded).
                o.nft.append("xt match conntrack")
                o.xt = NFXtExpr(target: false, name: "conntrack", text: "ct status " + (bits & snatBit != 0 ? "snat" : "dnat"))
                return o
            }
            // xt_conntrack: the packet's one state bit is (or, negated, is not) among the listed ones.
            o.nft.append("ct state " + (x.negated ? "! " : "") + nftStates(bits))
            // iptables-nft loads `-m state` as xt_conntrack too.
            o.xt = NFXtExpr(target: false, name: "conntrack", text: o.nft[0])
        case "comment":
            guard let x = opt("comment") else { throw ctx.fail("comment: no comment given", m.column) }
            let c = x.args[0].text
            guard c.utf8.count <= 255 else { throw ctx.fail("comment may not exceed 255 characters", x.args[0].column) }
            guard !c.contains("\"") else { throw ctx.unsupported("a comment with a double quote", x.args[0].column) }
            o.save += " --comment" + saveString(c)
            o.comment = c
            o.xt = NFXtExpr(target: false, name: "comment", text: "")
        case "mark", "connmark":
            guard let x = opt("mark") else { throw ctx.fail("\(m.module): no mark given", m.column) }
            let (v, mask) = try markMask(x.args[0], ctx)
            let key = m.module == "mark" ? "meta mark" : "ct mark"
            o.save += " \(neg(x))--mark " + hex(v) + (mask == 0xffff_ffff ? "" : "/" + hex(mask))
            o.nft.append(mask == 0xffff_ffff ? "\(key) \(op(x))\(hex(v))" : "\(key) & \(hex(mask)) \(x.negated ? "!=" : "==") \(hex(v))")
            // mark is native in iptables-nft; connmark an xtables match, translated with `and`.
            if m.module == "connmark" {
                o.xt = NFXtExpr(target: false, name: "connmark", text: mask == 0xffff_ffff ? "ct mark \(op(x))\(hex(v))"
                                : "ct mark and \(hex(mask)) \(x.negated ? "!=" : "==") \(hex(v))")
            }
        case "limit":
            let rate = opt("limit")
            let (n, unit, period) = try limitRate(rate?.args[0], ctx)
            var burst = 5
            if let b = opt("limit-burst") {
                guard let v = Int(b.args[0].text), (1...10_000).contains(v) else { throw ctx.fail("bad --limit-burst `\(b.args[0].text)'", b.args[0].column) }
                burst = v
            }
            if rate?.negated == true { throw ctx.unsupported("! --limit", rate!.column) }
            o.save += " --limit \(printedRate(period))" + (burst != 5 ? " --limit-burst \(burst)" : "")
            o.nft.append("limit rate \(n)/\(unit)" + (burst != 5 ? " burst \(burst) packets" : ""))
        case "addrtype":
            if opt("limit-iface-in", "limit-iface-out") != nil { throw ctx.unsupported("addrtype --limit-iface-in/out", m.column) }
            for (name, dir) in [("src-type", "saddr"), ("dst-type", "daddr")] {
                guard let x = opt(name) else { continue }
                let types = x.args[0].text.split(separator: ",").map { $0.uppercased() }
                for t in types where addrTypes[t] == nil { throw ctx.fail("addrtype: unknown type `\(t)'", x.args[0].column) }
                o.save += " \(neg(x))--\(name) \(types.joined(separator: ","))"
                let nftTypes = types.map { addrTypes[$0]! }
                o.nft.append("fib \(dir) type \(op(x))" + (nftTypes.count == 1 ? nftTypes[0] : "{ \(nftTypes.joined(separator: ", ")) }"))
            }
            if o.nft.isEmpty { throw ctx.fail("addrtype: you must specify --src-type or --dst-type", m.column) }
            // libxt_addrtype's translation says one of the two: the source's when both are given (recorded).
            o.xt = NFXtExpr(target: false, name: "addrtype", text: o.nft[0])
        case "statistic":
            guard let mode = opt("mode") else { throw ctx.fail("statistic: no --mode given", m.column) }
            if mode.args[0].text == "nth" {
                // xt_statistic's nth mode: the count starts at --packet and wraps at --every; iptables-nft
                // writes it as nft's incrementing counter, `numgen inc mod EVERY PACKET`.
                guard let ew = opt("every"), let every = UInt32(ew.args[0].text), every > 0 else {
                    throw ctx.fail("statistic: --every takes a number above 0", m.column)
                }
                guard let pw = opt("packet") else { throw ctx.fail("statistic: option \"--every\" also requires \"--packet\".", ew.column) }
                guard let packet = UInt32(pw.args[0].text), packet < every else { throw ctx.fail("statistic: --packet must be below --every", pw.args[0].column) }
                o.save += " --mode nth \(neg(ew))--every \(every) --packet \(packet)"
                o.nft.append("numgen inc mod \(every) \(op(ew))\(packet)")
                o.xt = NFXtExpr(target: false, name: "statistic", text: o.nft[0])
                return o
            }
            guard mode.args[0].text == "random" else { throw ctx.unsupported("statistic --mode \(mode.args[0].text)", mode.args[0].column) }
            guard let pw = opt("probability"), let prob = Double(pw.args[0].text), prob >= 0, prob <= 1 else {
                throw ctx.fail("statistic: --probability takes a number from 0 to 1", m.column)
            }
            // libxt_statistic: probability = lround(2^31 * p); xt_statistic matches (random & 0x7fffffff) < it.
            let threshold = UInt32(min((Double(0x8000_0000) * prob).rounded(.toNearestOrAwayFromZero), Double(0x8000_0000)))
            o.save += " --mode random \(neg(pw))--probability " + String(format: "%.11f", Double(threshold) / Double(0x8000_0000))
            o.nft.append("numgen random mod 2147483648 \(pw.negated ? ">=" : "<") \(threshold)")
            o.xt = NFXtExpr(target: false, name: "statistic", text: "meta random & 2147483647 \(pw.negated ? ">=" : "<") \(threshold)")
        case "iprange":
            // libxt_iprange: an xtables match in iptables-nft, translated as address ranges.
            for (name, field) in [("src-range", "saddr"), ("dst-range", "daddr")] {
                guard let x = opt(name) else { continue }
                let parts = x.args[0].text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, let a = dottedQuad(parts[0]), let b = dottedQuad(parts[1]) else {
                    throw ctx.fail("iprange: bad range `\(x.args[0].text)'", x.args[0].column)
                }
                o.save += " \(neg(x))--\(name) \(a)-\(b)"
                o.nft.append("ip \(field) \(op(x))\(a)-\(b)")
            }
            if o.nft.isEmpty { throw ctx.fail("iprange match: You must specify `--src-range' or `--dst-range'", m.column) }
            o.xt = NFXtExpr(target: false, name: "iprange", text: o.nft.joined(separator: " "))
        case "length", "ttl", "pkttype", "mac", "dscp", "tos":
            try headerMatch(m, ctx, &o)
        case "connlimit":
            try connlimit(m, ctx, &o)
        case "owner":
            try owner(m, ctx, &o)
        case "recent":
            try recent(m, ctx, &o)
        case "set":
            let x = try xtSet(m, ctx)
            o.save += String(x.saveText.dropFirst("-m set".count))
            o.nft.append("xt match set")
        default:
            throw ctx.unsupported("match `-m \(m.module)'", m.column)
        }
        return o
    }

    /// libxt_set's set_parse_v4, with its messages; the set must exist (get_set_byname).
    static func xtSet(_ m: IPTMatch, _ ctx: IPTContext) throws(IPTablesError) -> NFXtSetMatch {
        var x: NFXtSetMatch? = nil
        for o in m.options where o.name == "match-set" || o.name == "set" {
            guard x == nil else { throw ctx.fail("--match-set can be specified only once", o.column) }
            let (name, flags) = (o.args[0], o.args[1])
            guard ctx.ipsets.contains(name.text) else { throw ctx.fail("Set \(name.text) doesn't exist.", name.column) }
            x = NFXtSetMatch(name: name.text, source: try setFlags(flags, ctx))
            x!.invert = o.negated
        }
        guard var x else { throw ctx.fail("You must specify `--match-set' with proper arguments", m.column) }
        for o in m.options {
            switch o.name {
            case "return-nomatch":
                guard !o.negated else { throw ctx.fail("--return-nomatch flag cannot be inverted", o.column) }
                x.returnNomatch = true
            case "update-counters": x.updateCounters = !o.negated
            case "update-subcounters": x.updateSubcounters = !o.negated
            case let n where n.hasPrefix("packets-") || n.hasPrefix("bytes-"):
                let what = n.hasPrefix("packets-") ? "packets" : "bytes"
                guard let op = NFXtSetMatch.CounterOp(rawValue: String(n.dropFirst(what.count + 1))) else { continue }
                guard !o.negated || op == .eq else { throw ctx.fail("--\(n) option cannot be inverted", o.column) }
                guard (what == "packets" ? x.packets : x.bytes) == nil else { throw ctx.fail("only one of the --\(what)-[eq|lt|gt] is allowed", o.column) }
                guard let v = UInt64(o.args[0].text) else { throw ctx.fail("Cannot parse \(o.args[0].text) as a counter value", o.args[0].column) }
                let c = (op: o.negated ? NFXtSetMatch.CounterOp.ne : op, value: v)
                if what == "packets" { x.packets = c } else { x.bytes = c }
            default: break
            }
        }
        return x
    }

    /// `src,dst,...` as libxt_set's parse_dirs reads them: one to six.
    static func setFlags(_ w: IPTWord, _ ctx: IPTContext) throws(IPTablesError) -> [Bool] {
        let dirs = w.text.split(separator: ",", omittingEmptySubsequences: false)
        guard dirs.count <= 6 else { throw ctx.fail("Can't be more src/dst options than 6.", w.column) }
        guard dirs.allSatisfy({ $0 == "src" || $0 == "dst" }) else {
            throw ctx.fail("You must spefify (the comma separated list of) 'src' or 'dst'.", w.column)
        }
        return dirs.map { $0 == "src" }
    }

    static let addrTypes: [String: String] = [
        "UNSPEC": "unspec", "UNICAST": "unicast", "LOCAL": "local", "BROADCAST": "broadcast", "ANYCAST": "anycast",
        "MULTICAST": "multicast", "BLACKHOLE": "blackhole", "UNREACHABLE": "unreachable", "PROHIBIT": "prohibit",
    ]

    /// An IPv4 address in dotted-quad form (as inet_pton takes it), printed back canonically.
    static func dottedQuad(_ t: String) -> String? {
        let p = t.split(separator: ".", omittingEmptySubsequences: false)
        guard p.count == 4 else { return nil }
        var out: [String] = []
        for x in p {
            guard !x.isEmpty, x.count <= 3, x.allSatisfy(\.isASCII), let n = UInt8(x) else { return nil }
            out.append(String(n))
        }
        return out.joined(separator: ".")
    }

    /// `22`, `ssh`, `1000:2000`, `:1023`, `1024:`: the first and last port.
    static func ports(_ w: IPTWord, _ ctx: IPTContext) throws(IPTablesError) -> (UInt64, UInt64) {
        func one(_ s: Substring, _ dflt: UInt64) throws(IPTablesError) -> UInt64 {
            if s.isEmpty { return dflt }
            guard let n = NFConstants.number(String(s)) ?? NFConstants.services[String(s)], n <= 65535 else {
                throw ctx.fail("invalid port/service `\(s)' specified", w.column)
            }
            return n
        }
        let parts = w.text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 1 { let n = try one(parts[0], 0); return (n, n) }
        let lo = try one(parts[0], 0), hi = try one(parts[1], 65535)
        guard lo <= hi else { throw ctx.fail("invalid portrange `\(w.text)' specified", w.column) }
        return (lo, hi)
    }

    /// Ports as iptables-save prints them (`22`, `1000:2000`) and as nft lists them (`22`, `1000-2000`).
    static func portText(_ lo: UInt64, _ hi: UInt64) -> (save: String, nft: String) { lo == hi ? ("\(lo)", "\(lo)") : ("\(lo):\(hi)", "\(lo)-\(hi)") }

    /// A tcp/udp port option as iptables-nft puts it into the kernel (recorded): a range from 0 is a
    /// `<=`, negated a `>` (which iptables-nft-save reads back as the range above); every port is
    /// nothing (nil), negated or not. The saved option and the nft expression.
    static func kernelPorts(_ p: String, _ dir: String, _ lo: UInt64, _ hi: UInt64, negated: Bool) -> (String, String)? {
        if lo == 0 && hi == 65535 { return nil }
        if lo == 0 && hi != 0 {
            return negated ? ("--\(dir) \(portText(hi + 1, 65535).save)", "\(p) \(dir) > \(hi)") : ("--\(dir) 0:\(hi)", "\(p) \(dir) <= \(hi)")
        }
        let (s, n) = portText(lo, hi)
        return ("\(negated ? "! " : "")--\(dir) \(s)", "\(p) \(dir) \(negated ? "!= " : "")\(n)")
    }

    static let tcpFlagList: [(String, UInt64)] = [("FIN", 1), ("SYN", 2), ("RST", 4), ("PSH", 8), ("ACK", 16), ("URG", 32)]
    static func flags(_ w: IPTWord, _ ctx: IPTContext) throws(IPTablesError) -> UInt64 {
        var v: UInt64 = 0
        for f in w.text.uppercased().split(separator: ",") {
            if f == "ALL" { v |= 0x3f; continue }
            if f == "NONE" { continue }
            guard let b = tcpFlagList.first(where: { $0.0 == f })?.1 else { throw ctx.fail("Unknown TCP flag `\(f)'", w.column) }
            v |= b
        }
        return v
    }
    static func flagNames(_ v: UInt64) -> String { v == 0 ? "NONE" : tcpFlagList.filter { v & $0.1 != 0 }.map(\.0).joined(separator: ",") }
    static func nftFlags(_ v: UInt64, _ sep: String) -> String { tcpFlagList.filter { v & $0.1 != 0 }.map { $0.0.lowercased() }.joined(separator: sep) }

    /// iptables' ICMP type names (libxt_icmp), to type and optional code.
    static let icmpNames: [String: (UInt8, UInt8?)] = [
        "any": (255, nil), "echo-reply": (0, nil), "pong": (0, nil), "destination-unreachable": (3, nil), "network-unreachable": (3, 0),
        "host-unreachable": (3, 1), "protocol-unreachable": (3, 2), "port-unreachable": (3, 3), "fragmentation-needed": (3, 4),
        "source-route-failed": (3, 5), "network-unknown": (3, 6), "host-unknown": (3, 7), "network-prohibited": (3, 9),
        "host-prohibited": (3, 10), "TOS-network-unreachable": (3, 11), "TOS-host-unreachable": (3, 12), "communication-prohibited": (3, 13),
        "host-precedence-violation": (3, 14), "precedence-cutoff": (3, 15), "source-quench": (4, nil), "redirect": (5, nil),
        "network-redirect": (5, 0), "host-redirect": (5, 1), "TOS-network-redirect": (5, 2), "TOS-host-redirect": (5, 3),
        "echo-request": (8, nil), "ping": (8, nil), "router-advertisement": (9, nil), "router-solicitation": (10, nil),
        "time-exceeded": (11, nil), "ttl-exceeded": (11, nil), "ttl-zero-during-transit": (11, 0), "ttl-zero-during-reassembly": (11, 1),
        "parameter-problem": (12, nil), "ip-header-bad": (12, 0), "required-option-missing": (12, 1), "timestamp-request": (13, nil),
        "timestamp-reply": (14, nil), "address-mask-request": (17, nil), "address-mask-reply": (18, nil),
    ]
    static func icmpType(_ s: String) -> (UInt8, UInt8?)? {
        if let n = icmpNames[s] { return n }
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let t = UInt8(parts[0]) else { return nil }
        if parts.count == 2 { guard let c = UInt8(parts[1]) else { return nil }; return (t, c) }
        return (t, nil)
    }

    /// Conntrack states in xt's bit order, with nft's names.
    static let stateList: [(String, String, UInt64)] = [("INVALID", "invalid", 1), ("NEW", "new", 8), ("RELATED", "related", 4),
                                                         ("ESTABLISHED", "established", 2), ("UNTRACKED", "untracked", 64)]
    /// `--ctstate`'s SNAT and DNAT (conntrack only), past the state bits.
    static let snatBit: UInt64 = 0x100, dnatBit: UInt64 = 0x200
    static func states(_ w: IPTWord, _ ctx: IPTContext, module: String) throws(IPTablesError) -> UInt64 {
        var v: UInt64 = 0
        for s in w.text.uppercased().split(separator: ",") {
            if module == "conntrack", s == "SNAT" || s == "DNAT" { v |= s == "SNAT" ? snatBit : dnatBit; continue }
            guard let b = stateList.first(where: { $0.0 == s })?.2 else { throw ctx.fail("Bad \(module == "state" ? "state" : "ctstate") \"\(s)\"", w.column) }
            v |= b
        }
        return v
    }
    static func stateNames(_ v: UInt64) -> String {
        (stateList.filter { v & $0.2 != 0 }.map(\.0) + (v & snatBit != 0 ? ["SNAT"] : []) + (v & dnatBit != 0 ? ["DNAT"] : [])).joined(separator: ",")
    }
    static func nftStates(_ v: UInt64) -> String { stateList.filter { v & $0.2 != 0 }.map(\.1).joined(separator: ",") }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
    /// A byte as `0x%02x`.
    static func hex2(_ v: UInt8) -> String { "0x" + (v < 16 ? "0" : "") + String(v, radix: 16) }
    /// `0x10`, `16`, `0x4000/0x4000`: value and mask (all ones without one).
    static func markMask(_ w: IPTWord, _ ctx: IPTContext) throws(IPTablesError) -> (UInt32, UInt32) {
        let parts = w.text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let v = NFConstants.number(String(parts[0])).flatMap({ UInt32(exactly: $0) }) else { throw ctx.fail("Bad MARK value \"\(w.text)\"", w.column) }
        var mask = UInt32.max
        if parts.count == 2 {
            guard let m = NFConstants.number(String(parts[1])).flatMap({ UInt32(exactly: $0) }) else { throw ctx.fail("Bad MARK mask \"\(w.text)\"", w.column) }
            mask = m
        }
        return (v, mask)
    }

    static let limitScale: UInt64 = 10000   // XT_LIMIT_SCALE
    static let rateUnits: [(String, UInt64)] = [("day", 86400), ("hour", 3600), ("min", 60), ("sec", 1)]
    /// `3/min` → (3, "minute", period in XT_LIMIT_SCALE units, as libxt_limit stores it).
    static func limitRate(_ w: IPTWord?, _ ctx: IPTContext) throws(IPTablesError) -> (UInt64, String, UInt64) {
        let text = w?.text ?? "3/hour"
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let n = UInt64(parts[0]), n > 0 else { throw ctx.fail("bad rate \"\(text)\"", w?.column ?? 1) }
        let u = parts.count == 2 ? parts[1].lowercased() : "sec"
        let (unit, secs): (String, UInt64) = switch u.first {
        case "s": ("second", 1)
        case "m": ("minute", 60)
        case "h": ("hour", 3600)
        case "d": ("day", 86400)
        default: ("", 0)
        }
        guard secs > 0 else { throw ctx.fail("bad rate \"\(text)\"", w?.column ?? 1) }
        let period = limitScale * secs / n
        guard period > 0 else { throw ctx.fail("Rate too fast \"\(text)\"", w?.column ?? 1) }
        return (n, unit, period)
    }
    /// libxt_limit's print_rate: the largest unit the period still divides into whole packets.
    static func printedRate(_ period: UInt64) -> String {
        var k = 1
        while k < rateUnits.count {
            let mult = rateUnits[k].1 * limitScale
            if period > mult || mult / period < mult % period { break }
            k += 1
        }
        return "\(rateUnits[k - 1].1 * limitScale / period)/\(rateUnits[k - 1].0)"
    }

    /// libxtables' xtables_save_string: bare when only letters, digits, `-` and `_`, else quoted.
    static func saveString(_ s: String) -> String {
        let bare = !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        if bare { return " " + s }
        return " \"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "\""
    }
}
