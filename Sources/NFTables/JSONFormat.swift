import JSON

/// libnftables JSON (`nft -j list ruleset` / `nft -j -f`): the ruleset as an array of objects
/// (metainfo, table, chain, set, map, rule) with each rule's expressions as a tree.
public enum NFJSON {
    // MARK: encoding

    public static func encode(_ rs: NFRuleset, counters: [Int: [Int: (Int, Int)]] = [:]) -> JSONValue {
        var items: [JSONValue] = [.object([("metainfo", .object([("version", .string("1.0.6")), ("release_name", .string("Lester Gooch #5")),
                                                                  ("json_schema_version", .int(1))]))])]
        for (ti, t) in rs.tables.enumerated() {
            let fam = JSONValue.string(t.family.rawValue), tname = JSONValue.string(t.name)
            items.append(.object([("table", .object([("family", fam), ("name", tname), ("handle", .int(t.handle))]))]))
            for c in t.chains {
                var o: [(String, JSONValue)] = [("family", fam), ("table", tname), ("name", .string(c.name)), ("handle", .int(c.handle))]
                if let b = c.base {
                    o += [("type", .string(b.type.rawValue)), ("hook", .string(b.hook.rawValue)), ("prio", .int(b.priority)), ("policy", .string(b.policy.text))]
                    if let d = b.device { o.append(("dev", .string(d))) }
                }
                items.append(.object([("chain", .object(o))]))
            }
            for s in t.sets {
                var o: [(String, JSONValue)] = [("family", fam), ("name", .string(s.name)), ("table", tname), ("type", .string(s.key.rawValue)),
                                                ("handle", .int(s.handle))]
                if s.verdicts != nil { o.append(("map", .string("verdict"))) }
                if s.interval { o.append(("flags", .array([.string("interval")]))) }
                if !s.elements.isEmpty {
                    let sel = s.key.selector
                    o.append(("elem", .array(s.elements.enumerated().map { k, e in
                        let v = value(e, sel)
                        if let vs = s.verdicts { return .array([v, verdict(vs[k])]) }
                        return v
                    })))
                }
                items.append(.object([(s.verdicts == nil ? "set" : "map", .object(o))]))
            }
            for c in t.chains {
                for r in c.rules {
                    let cnt = counters[ti]?[r.handle] ?? (0, 0)
                    items.append(.object([("rule", .object([("family", fam), ("table", tname), ("chain", .string(c.name)), ("handle", .int(r.handle)),
                                                            ("expr", .array(r.statements.map { statement($0, counter: cnt) }))]))]))
                }
            }
        }
        return .object([("nftables", .array(items))])
    }

    static func left(_ sel: NFSelector) -> JSONValue {
        let parts = sel.rawValue.split(separator: " ").map(String.init)
        switch parts[0] {
        case "meta": return .object([("meta", .object([("key", .string(parts[1]))]))])
        case "ct": return .object([("ct", .object([("key", .string(parts[1]))]))])
        default: return .object([("payload", .object([("protocol", .string(parts[0])), ("field", .string(parts[1]))]))])
        }
    }

    static func value(_ v: NFValue, _ sel: NFSelector) -> JSONValue {
        switch v {
        case .range(let lo, let hi, let text):
            if sel == .ctState || sel == .ctStatus || sel == .tcpFlags {
                let names = NFPrinter.flags(lo, sel).split(separator: ",").map { JSONValue.string(String($0)) }
                return names.count == 1 ? names[0] : .array(names)
            }
            if sel == .ipSaddr || sel == .ipDaddr {
                if lo == hi { return .string(NFConstants.ipv4Text(UInt32(lo))) }
                if text.contains("/") {
                    let p = text.split(separator: "/")
                    return .object([("prefix", .object([("addr", .string(String(p[0]))), ("len", .int(Int(p[1]) ?? 32))]))])
                }
                return .object([("range", .array([.string(NFConstants.ipv4Text(UInt32(lo))), .string(NFConstants.ipv4Text(UInt32(hi)))]))])
            }
            if lo != hi { return .object([("range", .array([.int(Int(lo)), .int(Int(hi))]))]) }
            if let n = Int(text) { return .int(n) }
            if sel == .mark || sel == .ctMark { return .int(Int(lo)) }
            return .string(text)
        case .string(let s): return .string(s)
        case .set(let vs):
            // A flag list (`ct state established,related`) is a plain array; anything else an anonymous set.
            if sel == .ctState || sel == .ctStatus || sel == .tcpFlags { return .array(vs.map { value($0, sel) }) }
            return .object([("set", .array(vs.map { value($0, sel) }))])
        case .named(let n): return .string("@" + n)
        }
    }

    static func verdict(_ v: NFVerdict) -> JSONValue {
        switch v {
        case .jump(let c): return .object([("jump", .object([("target", .string(c))]))])
        case .goto(let c): return .object([("goto", .object([("target", .string(c))]))])
        case .queue(let n, let bypass):
            var o: [(String, JSONValue)] = [("num", .int(n))]
            if bypass { o.append(("flags", .array([.string("bypass")]))) }
            return .object([("queue", .object(o))])
        default: return .object([(v.text, .null)])
        }
    }

    static func statement(_ s: NFStatement, counter: (Int, Int)) -> JSONValue {
        switch s {
        case .match(let sel, let mask, let op, let v):
            var l = left(sel)
            if let mask {
                let m: JSONValue = sel == .tcpFlags || sel == .ctState || sel == .ctStatus ? value(.range(mask, mask, text: ""), sel) : .int(Int(mask))
                l = .object([("&", .array([l, m]))])
            }
            let flagList = (sel == .ctState || sel == .ctStatus || sel == .tcpFlags) && mask == nil
            let opText = flagList && op == .eq ? "in" : op.rawValue
            return .object([("match", .object([("op", .string(opText)), ("left", l), ("right", value(v, sel))]))])
        case .counter: return .object([("counter", .object([("packets", .int(counter.0)), ("bytes", .int(counter.1))]))])
        case .limit(let r, let per, let burst, let over):
            let unit = [1_000_000_000: "second", 60_000_000_000: "minute", 3_600_000_000_000: "hour", 86_400_000_000_000: "day"][per] ?? "second"
            var o: [(String, JSONValue)] = [("rate", .int(Int(r))), ("burst", .int(Int(burst))), ("per", .string(unit))]
            if over { o.append(("inv", .bool(true))) }
            return .object([("limit", .object(o))])
        case .log(let p): return .object([("log", p.map { .object([("prefix", .string($0))]) } ?? .null)])
        case .setMark(let m): return .object([("mangle", .object([("key", .object([("meta", .object([("key", .string("mark"))]))])), ("value", .int(Int(m)))]))])
        case .setCtMark(let m): return .object([("mangle", .object([("key", .object([("ct", .object([("key", .string("mark"))]))])), ("value", .int(Int(m)))]))])
        case .notrack: return .object([("notrack", .null)])
        case .verdict(let v): return verdict(v)
        case .vmap(let sel, let entries):
            return .object([("vmap", .object([("key", left(sel)), ("data", .object([("set", .array(entries.map { .array([value($0.0, sel), verdict($0.1)]) }))]))]))])
        case .snat(let a, _, let p, _): return .object([("snat", nat(a, p))])
        case .dnat(let a, _, let p, _): return .object([("dnat", nat(a, p))])
        case .masquerade(let p, _): return .object([("masquerade", p.map { .object([("port", .int(Int($0)))]) } ?? .null)])
        case .redirect(let p, _): return .object([("redirect", p.map { .object([("port", .int(Int($0)))]) } ?? .null)])
        case .reject(let rst, let code):
            if rst { return .object([("reject", .object([("type", .string("tcp reset"))]))]) }
            if code == 3 { return .object([("reject", .null)]) }
            let name = NFConstants.icmpUnreachCodes.first { $0.value == code }?.key ?? String(code)
            return .object([("reject", .object([("type", .string("icmp")), ("expr", .string(name))]))])
        }
    }

    static func nat(_ a: UInt32?, _ p: UInt16?) -> JSONValue {
        var o: [(String, JSONValue)] = []
        if let a { o.append(("addr", .string(NFConstants.ipv4Text(a)))) }
        if let p { o.append(("port", .int(Int(p)))) }
        return .object(o)
    }
}
