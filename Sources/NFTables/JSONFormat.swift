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
            var to: [(String, JSONValue)] = [("family", fam), ("name", tname), ("handle", .int(t.handle))]
            // nft 1.0.6 prints the family here for a dormant table (a bug); the name is what it reads back.
            if t.dormant { to.append(("flags", .string("dormant"))) }
            if let cm = t.comment { to.append(("comment", .string(cm))) }
            items.append(.object([("table", .object(to))]))
            for o in t.objects {
                var b: [(String, JSONValue)] = [("family", fam), ("name", .string(o.name)), ("table", tname), ("handle", .int(o.handle))]
                switch o.statement {
                case .counter(let p0, let b0):
                    let (p, by) = counters[ti]?[o.handle] ?? (p0, b0)
                    b += [("packets", .int(p)), ("bytes", .int(by))]
                case .quota(let n, let over, let used):
                    // obj_print_json writes `inv` always (recorded).
                    b += [("bytes", .int(Int(n))), ("used", .int(Int(used))), ("inv", .bool(over))]
                case .ctObject(.helper(let type, let proto, let l3)):
                    b += [("type", .string(type)), ("protocol", .string(proto == 6 ? "tcp" : "udp")), ("l3proto", .string(l3.name))]
                case .ctObject(.timeout(let proto, let l3, let seconds)):
                    let states = NFCtObject.timeoutStates(proto)
                    let changed = zip(states, seconds).filter { $0.0.seconds != $0.1 }.map { ($0.0.name, JSONValue.int(Int($0.1))) }
                    b += [("protocol", .string(proto == 6 ? "tcp" : "udp")), ("l3proto", .string(l3.name)), ("policy", .object(changed))]
                case .ctObject(.expectation(let proto, let dport, let ms, let size, let l3)):
                    b += [("protocol", .string(proto == 6 ? "tcp" : "udp")), ("dport", .int(Int(dport))), ("timeout", .int(Int(ms))),
                          ("size", .int(Int(size))), ("l3proto", .string(l3.name))]
                case .limit:
                    // A limit object's keys in obj_print_json's order, not the statement's (recorded):
                    // rate, per, inv, rate_unit, burst, burst_unit.
                    let order = ["rate", "per", "inv", "rate_unit", "burst", "burst_unit"]
                    if case .object(let kv) = statement(o.statement, counter: nil, family: t.family), case .object(let inner) = kv[0].1 {
                        b += inner.sorted { (order.firstIndex(of: $0.0) ?? order.count) < (order.firstIndex(of: $1.0) ?? order.count) }
                    }
                default:
                    // As the statement's own JSON has it, without the keyword.
                    if case .object(let kv) = statement(o.statement, counter: nil, family: t.family), case .object(let inner) = kv[0].1 { b += inner }
                }
                items.append(.object([(o.kind.rawValue, .object(b))]))
            }
            for s in t.sets where !s.meter {
                var o: [(String, JSONValue)] = [("family", fam), ("name", .string(s.name)), ("table", tname), ("type", s.concat == nil ? .string(s.key.rawValue) : .array(s.keys.map { .string($0.rawValue) })),
                                                ("handle", .int(s.handle))]
                // nft's set_print_json order: comment, map, policy, size, flags, timeout, gc-interval.
                if let cm = s.comment { o.append(("comment", .string(cm))) }
                if s.verdicts != nil { o.append(("map", .string("verdict"))) }
                if let d = s.dataType { o.append(("map", .string(d.rawValue + (s.dataPort ? " . inet_service" : "")))) }
                if let k = s.objectKind { o.append(("map", .string(k.rawValue))) }
                if s.policyMemory && !s.constant { o.append(("policy", .string("memory"))) }
                if let n = s.effectiveSize, !s.constant { o.append(("size", .int(n))) }
                // nft -j names constant, interval and timeout (not dynamic; no auto-merge).
                let flags = [(s.constant, "constant"), (s.interval, "interval"), (s.timeouts, "timeout")].filter(\.0).map { JSONValue.string($0.1) }
                if !flags.isEmpty { o.append(("flags", .array(flags))) }
                if let t = s.timeout { o.append(("timeout", .int(Int(t / 1000)))) }
                if let g = s.gcInterval { o.append(("gc-interval", .int(Int(g / 1000)))) }
                if !s.elements.isEmpty {
                    let sels = s.keys.map(\.selector)
                    o.append(("elem", .array(NFPrinter.listingOrder(s).map { k in
                        var v = tupleJSON(s.elements[k], sels)
                        let info = s.info(k)
                        var extra: [(String, JSONValue)] = []
                        if let t = info.timeout, t != s.timeout { extra.append(("timeout", .int(Int(t / 1000)))) }
                        if let x = info.expires { extra.append(("expires", .int(Int(x / 1000)))) }
                        if let c = info.comment { extra.append(("comment", .string(c))) }
                        for case .counter(let p, let b) in info.statements { extra.append(("counter", .object([("packets", .int(p)), ("bytes", .int(b))]))) }
                        if !extra.isEmpty { v = .object([("elem", .object([("val", v)] + extra))]) }
                        if let vs = s.verdicts { return .array([v, verdict(vs[k])]) }
                        if let names = s.objectNames { return .array([v, .string(names[k])]) }
                        if let d6 = s.data6, let ds = s.data {
                            let a = JSONValue.string(IPv6Text.text(d6[k]))
                            return .array([v, s.dataPort ? .object([("concat", .array([a, .int(Int(ds[k]))]))]) : a])
                        }
                        if let d = s.dataType, let ds = s.data, s.dataPort {
                            let a = ds[k] >> 16
                            return .array([v, .object([("concat", .array([value(.range(a, a, text: NFPrinter.valueText(a, d.selector)), d.selector), .int(Int(ds[k] & 0xffff))]))])])
                        }
                        if let d = s.dataType, let ds = s.data { return .array([v, value(.range(ds[k], ds[k], text: NFPrinter.valueText(ds[k], d.selector)), d.selector)]) }
                        return v
                    })))
                }
                // The set's own statements, after its elements (as nft 1.0.6 writes them).
                if !s.exprs.isEmpty { o.append(("stmt", .array(s.exprs.map { elementStatement($0, family: t.family) }))) }
                items.append(.object([(s.isMap ? "map" : "set", .object(o))]))
            }
            // nft -j lists a table's objects, then its sets, its chains, and the rules.
            for c in t.chains {
                var o: [(String, JSONValue)] = [("family", fam), ("table", tname), ("name", .string(c.name)), ("handle", .int(c.handle))]
                if let b = c.base {
                    o += [("type", .string(b.type.rawValue)), ("hook", .string(b.hook.rawValue)), ("prio", .int(b.priority)), ("policy", .string(b.policy.text))]
                    if b.devices.count > 1 { o.append(("dev", .array(b.devices.map { .string($0) }))) } else if let d = b.device { o.append(("dev", .string(d))) }
                }
                if let cm = c.comment { o.append(("comment", .string(cm))) }
                items.append(.object([("chain", .object(o))]))
            }
            for c in t.chains {
                for r in c.rules {
                    var o: [(String, JSONValue)] = [("family", fam), ("table", tname), ("chain", .string(c.name)), ("handle", .int(r.handle))]
                    // A rule iptables-nft loaded lists as the kernel holds it (its comment is an xt match there).
                    if let cm = r.comment, r.listed == nil { o.append(("comment", .string(cm))) }
                    let shown = r.listed ?? r.statements
                    let keys = NFStateKey.keys(shown, rule: r.handle)
                    o.append(("expr", .array(zip(shown, keys).map { statement($0, counter: counters[ti]?[$1], family: t.family) })))
                    items.append(.object([("rule", .object(o))]))
                }
            }
        }
        return .object([("nftables", .array(items))])
    }

    static func left(_ sel: NFSelector) -> JSONValue {
        if let f = sel.rawField {
            let base = switch f.base { case .link: "ll"; case .network: "nh"; case .transport: "th"; case .inner: "ih" }
            return .object([("payload", .object([("base", .string(base)), ("offset", .int(f.bitOffset)), ("len", .int(f.bitLength))]))])
        }
        let parts = sel.rawValue.split(separator: " ").map(String.init)
        if sel.isFib {
            // {"fib": {"result": "oif", "flags": ["saddr", "iif"]}}
            let words = parts.dropFirst().filter { $0 != "." }
            return .object([("fib", .object([("result", .string(words.last!)), ("flags", .array(words.dropLast().map { .string($0) }))]))])
        }
        if sel.isSocket { return .object([("socket", .object([("key", .string(parts[1]))]))]) }
        if sel.isOSF {
            // {"osf": {"key": "name"}}, with "ttl": "loose" or "skip" when given.
            return .object([("osf", .object([("key", .string(parts.last!))] + (parts.count == 4 ? [("ttl", .string(parts[2]))] : [])))])
        }
        if sel.exthdr != nil {
            // {"exthdr": {"name": "rt", "field": "type"}}; presence: {"exthdr": {"name": "hbh"}}.
            let o: [(String, JSONValue)] = parts[0] == "exthdr" ? [("name", .string(parts[1]))] : [("name", .string(parts[0])), ("field", .string(parts[1]))]
            return .object([("exthdr", .object(o))])
        }
        if sel.ipOption != nil {
            // {"ip option": {"name": "lsrr", "field": "type"}}; presence: {"ip option": {"name": "ra"}}.
            return .object([("ip option", .object([("name", .string(parts[2]))] + (parts.count > 3 ? [("field", .string(parts[3]))] : [])))])
        }
        if sel.tcpOption != nil || sel.sctpChunk != nil {
            var o: [(String, JSONValue)] = [("name", .string(parts[2]))]
            if parts.count > 3 { o.append(("field", .string(parts[3]))) }
            return .object([(sel.tcpOption != nil ? "tcp option" : "sctp chunk", .object(o))])
        }
        switch parts[0] {
        case "meta": return .object([("meta", .object([("key", .string(parts[1]))]))])
        case "rt":
            // {"rt": {"key": "nexthop", "family": "ip"}} for `rt ip nexthop`.
            if parts.count == 3 { return .object([("rt", .object([("key", .string(parts[2])), ("family", .string(parts[1]))]))]) }
            return .object([("rt", .object([("key", .string(parts[1]))]))])
        case "ct":
            // {"ct": {"key": "ip saddr", "dir": "original"}} for `ct original ip saddr`, as nft 1.0.6
            // writes it (recorded; later versions split the family out).
            var rest = Array(parts.dropFirst())
            var o: [(String, JSONValue)] = []
            var dir: String? = nil
            if ["original", "reply", "both"].contains(rest[0]) { dir = rest.removeFirst() }
            o.append(("key", .string(rest.joined(separator: " "))))
            if let dir { o.append(("dir", .string(dir))) }
            return .object([("ct", .object(o))])
        // (`arp saddr ip`: the field is the words after the protocol.)
        default: return .object([("payload", .object([("protocol", .string(parts[0])), ("field", .string(parts.dropFirst().joined(separator: " ")))]))])
        }
    }

    /// A map's elements in the listing's order, as nft -j dumps the set.
    static func listed<T>(_ entries: [(NFValue, T)], _ keys: [NFSelector]) -> [(NFValue, T)] {
        let order = keys.count > 1 ? NFPrinter.sortedTuples(entries.map(\.0), keys) : NFPrinter.sortedElements(entries.map(\.0))
        return order.compactMap { k in entries.first { $0.0 == k } }
    }

    /// {"map": {"key": ..., "data": {"set": [[K, "DEVICE"], ...]}}} (fwd's and netdev dup's device map).
    static func deviceMap(_ key: NFSelector, _ entries: [(NFValue, String)]) -> JSONValue {
        .object([("map", .object([("key", left(key)), ("data", .object([("set", .array(entries.map { .array([value($0.0, key), .string($0.1)]) }))]))]))])
    }

    static func value(_ v: NFValue, _ sel: NFSelector) -> JSONValue {
        switch v {
        case .range(let lo, let hi, let text):
            if sel.isOptionPresence || sel.rawValue == "rt ipsec" || sel.rawValue == "meta ipsec" { return .bool(lo == 1) }
            if sel.rawValue == "rt classid" || sel.rawValue == "meta rtclassid" { return .string(NFPrinter.number(lo, sel).replacingOccurrences(of: "\"", with: "")) }
            // A symbolic type's value without a name (`ip dscp 0x04`, `ether type 0x88cc`, a flags
            // field compared whole) goes out as its number.
            if lo == hi, text.hasPrefix("0x"), !sel.isAddress, sel != .mark, sel != .ctMark { return .int(Int(lo)) }
            if sel.isFlags {
                if lo == 0 { return .int(0) }
                let names = NFPrinter.flags(lo, sel).split(separator: ",").map { JSONValue.string(String($0)) }
                return names.count == 1 ? names[0] : .array(names)
            }
            if sel.isAddress {
                if lo == hi { return .string(NFConstants.ipv4Text(UInt32(lo))) }
                if text.contains("/") {
                    let p = text.split(separator: "/")
                    return .object([("prefix", .object([("addr", .string(String(p[0]))), ("len", .int(Int(p[1]) ?? 32))]))])
                }
                return .object([("range", .array([.string(NFConstants.ipv4Text(UInt32(lo))), .string(NFConstants.ipv4Text(UInt32(hi)))]))])
            }
            // Times go out in seconds, as nft -j writes them.
            if sel == .ctExpiration { return lo == hi ? .int(Int(lo / 1000)) : .object([("range", .array([.int(Int(lo / 1000)), .int(Int(hi / 1000))]))]) }
            if lo != hi, sel == .priority, let a = NFConstants.specialText(lo, for: sel), let b = NFConstants.specialText(hi, for: sel) {
                return .object([("range", .array([.string(a), .string(b)]))])
            }
            if lo != hi, let slash = text.firstIndex(of: "/"), let len = Int(text[text.index(after: slash)...]) {
                // (A symbolic type's prefix keeps its name: `ip6 dscp af22/4` is {"addr": "af22"}.)
                let name = String(text[..<slash])
                let addr: JSONValue = name.first?.isLetter == true && !name.hasPrefix("0x") ? .string(name) : .int(Int(lo))
                return .object([("prefix", .object([("addr", addr), ("len", .int(len))]))])
            }
            // Clock keys by their names, unquoted (`"08:00"`, `"Monday"`, a date), ranges too.
            if sel == .hour || sel == .day || sel == .time {
                func name(_ n: UInt64) -> JSONValue { .string(NFPrinter.number(n, sel).replacingOccurrences(of: "\"", with: "")) }
                return lo == hi ? name(lo) : .object([("range", .array([name(lo), name(hi)]))])
            }
            if lo != hi { return .object([("range", .array([.int(Int(lo)), .int(Int(hi))]))]) }
            if let n = Int(text) { return .int(n) }
            // A name the text quotes (a device group, `iifgroup "default"`) is a plain string (recorded).
            if text.count > 1, text.hasPrefix("\""), text.hasSuffix("\"") { return .string(String(text.dropFirst().dropLast())) }
            if sel == .mark || sel == .ctMark || sel.rawValue == "socket mark" { return .int(Int(lo)) }
            return .string(text)
        case .range6(let lo, let hi, let text):
            if lo == hi { return .string(text) }
            if text.contains("/") {
                let p = text.split(separator: "/")
                return .object([("prefix", .object([("addr", .string(String(p[0]))), ("len", .int(Int(p[1]) ?? 128))]))])
            }
            return .object([("range", .array([.string(IPv6Text.text(lo)), .string(IPv6Text.text(hi))]))])
        case .string(let s): return .string(s)
        case .set(let vs):
            // A bare flag list is a range value (an array of names above); braces are an anonymous set,
            // whose element of several flags is nft's {"|": [a, b]}, nested left to right.
            return .object([("set", .array((sel.isInterfaceIndex ? vs : NFPrinter.sortedElements(vs)).map { e in
                guard sel.isFlags, case .array(let names) = value(e, sel) else { return value(e, sel) }
                return names.dropFirst().reduce(names[0]) { .object([("|", .array([$0, $1]))]) }
            }))])
        case .named(let n): return .string("@" + n)
        case .tuple(let parts): return .object([("concat", .array(parts.map { value($0, sel) }))])
        case .catchAll: return .string("*")
        }
    }

    /// A generator as nft -j writes it.
    static func generator(_ g: NFGenerator) -> JSONValue {
        switch g {
        case .numgen(let random, let mod, let offset):
            return .object([("numgen", .object([("mode", .string(random ? "random" : "inc")), ("mod", .int(Int(Int32(bitPattern: mod)))), ("offset", .int(Int(offset)))]))])
        case .jhash(let sels, let mod, let seed, let offset):
            var o: [(String, JSONValue)] = [("mod", .int(Int(Int32(bitPattern: mod))))]
            if let seed { o.append(("seed", .int(Int(seed)))) }
            if offset != 0 { o.append(("offset", .int(Int(offset)))) }
            o.append(("expr", sels.count == 1 ? left(sels[0]) : concatLeft(sels)))
            return .object([("jhash", .object(o))])
        case .symhash(let mod, let offset):
            var o: [(String, JSONValue)] = [("mod", .int(Int(Int32(bitPattern: mod))))]
            if offset != 0 { o.append(("offset", .int(Int(offset)))) }
            return .object([("symhash", .object(o))])
        }
    }

    /// A generator's key: a number, or {"range": [lo, hi]}.
    static func plain(_ v: NFValue) -> JSONValue {
        guard case .range(let lo, let hi, _) = v else { return .null }
        return lo == hi ? .int(Int(lo)) : .object([("range", .array([.int(Int(lo)), .int(Int(hi))]))])
    }

    static func concatLeft(_ sels: [NFSelector]) -> JSONValue { .object([("concat", .array(sels.map(left)))]) }

    /// A concatenated value ({"concat": [...]}, each part typed by its selector), or a set of them.
    static func tupleJSON(_ v: NFValue, _ sels: [NFSelector]) -> JSONValue {
        switch v {
        case .tuple(let parts): return .object([("concat", .array(zip(parts, sels).map { value($0, $1) }))])
        case .set(let vs): return .object([("set", .array(NFPrinter.sortedTuples(vs, sels).map { tupleJSON($0, sels) }))])
        default: return value(v, sels[0])
        }
    }

    static func verdict(_ v: NFVerdict) -> JSONValue {
        switch v {
        case .jump(let c): return .object([("jump", .object([("target", .string(c))]))])
        case .goto(let c): return .object([("goto", .object([("target", .string(c))]))])
        case .queue(let n, _, let last, _):
            var o: [(String, JSONValue)] = [("num", last.map { .object([("range", .array([.int(n), .int($0)]))]) } ?? .int(n))]
            let flags = v.queueFlags
            if !flags.isEmpty { o.append(("flags", flags.count == 1 ? .string(flags[0]) : .array(flags.map { .string($0) }))) }
            return .object([("queue", .object(o))])
        default: return .object([(v.text, .null)])
        }
    }

    /// One statement; `counter` is the rule's live counter when it has run.
    /// A stateful statement inside a set element or meter: a counter as `{"counter": null}`, as nft -j prints it there.
    static func elementStatement(_ s: NFStatement, family: NFFamily) -> JSONValue {
        if case .counter = s { return .object([("counter", .null)]) }
        return statement(s, counter: nil, family: family)
    }

    static func statement(_ s: NFStatement, counter: (Int, Int)?, family: NFFamily) -> JSONValue {
        switch s {
        case .match(let sel, _, _, .range(_, _, let text)) where sel.isFib && (text == "exists" || text == "missing"):
            return .object([("match", .object([("op", .string("==")), ("left", left(sel)), ("right", .bool(text == "exists"))]))])
        case .match(let sel, let mask?, .eq, .range(0, 0, _)) where sel.isFlags:
            // `tcp flags ! syn,ack`: none of the bits, nft's "!" (recorded).
            return .object([("match", .object([("op", .string("!")), ("left", left(sel)), ("right", value(.range(mask, mask, text: ""), sel))]))])
        case .match(let sel, let mask, let op, let v):
            var l = left(sel)
            if let mask {
                // (An address's mask is an address, as nft -j writes it: "0.0.0.255".)
                let m: JSONValue = sel == .tcpFlags || sel == .ctState || sel == .ctStatus ? value(.range(mask, mask, text: ""), sel)
                    : sel.isAddress ? .string(NFConstants.ipv4Text(UInt32(truncatingIfNeeded: mask))) : .int(Int(mask))
                l = .object([("&", .array([l, m]))])
            }
            // A bare flag list is "in" (any of the bits); a braced set of them a lookup, "==" (recorded).
            let opText = op == .implicit ? (sel.isFlags && mask == nil && !v.isLookup ? "in" : "==") : op.rawValue
            return .object([("match", .object([("op", .string(opText)), ("left", l), ("right", value(v, sel))]))])
        case .xfrm(let x, let op, let v):
            // {"ipsec": {"key": "saddr", "family": "ip", "dir": "in", "spnum": 0}}
            let parts = x.key.rawValue.split(separator: " ").map(String.init)
            let key: [(String, JSONValue)] = parts[0] == "ipsec" ? [("key", .string(parts[1]))] : [("key", .string(parts[1])), ("family", .string(parts[0]))]
            let l = JSONValue.object([("ipsec", .object(key + [("dir", .string(x.input ? "in" : "out")), ("spnum", .int(Int(x.spnum)))]))])
            return .object([("match", .object([("op", .string(op == .implicit ? "==" : op.rawValue)), ("left", l), ("right", value(v, x.key))]))])
        case .match6Masked(let sel, let mask, let op, let v):
            return .object([("match", .object([("op", .string(op == .ne ? "!=" : "==")), ("left", .object([("&", .array([left(sel), .string(IPv6Text.text(mask))]))])),
                                               ("right", .string(IPv6Text.text(v)))]))])
        case .matchOr(let sel, let o, let op, let v):
            return .object([("match", .object([("op", .string(op.rawValue)), ("left", .object([("|", .array([left(sel), .int(Int(o))]))])),
                                               ("right", value(v, sel))]))])
        case .counter(let p0, let b0):
            let (p, b) = counter ?? (p0, b0)
            return .object([("counter", .object([("packets", .int(p)), ("bytes", .int(b))]))])
        case .limit(let r, let per, let burst, let over, let unit):
            let perText = [1_000_000_000: "second", 60_000_000_000: "minute", 3_600_000_000_000: "hour", 86_400_000_000_000: "day",
                           7 * 86_400_000_000_000: "week"][per] ?? "second"
            var o: [(String, JSONValue)]
            if unit == .bytes {
                // The rate and burst in the largest unit that divides them, as nft -j prints them.
                let (rv, ru) = byteUnit(r), (bv, bu) = byteUnit(burst)
                o = [("rate", .int(Int(rv))), ("burst", .int(Int(bv))), ("per", .string(perText))]
                if over { o.append(("inv", .bool(true))) }
                o += [("rate_unit", .string(ru)), ("burst_unit", .string(bu))]
            } else {
                o = [("rate", .int(Int(r))), ("burst", .int(Int(burst))), ("per", .string(perText))]
                if over { o.append(("inv", .bool(true))) }
            }
            return .object([("limit", .object(o))])
        case .quota(let n, let over, let used):
            let (v, u) = byteUnit(n), (uv, uu) = byteUnit(used)
            // nft's order: val, val_unit, inv, used, used_unit (recorded).
            var o: [(String, JSONValue)] = [("val", .int(Int(v))), ("val_unit", .string(u))]
            if over { o.append(("inv", .bool(true))) }
            if used > 0 { o += [("used", .int(Int(uv))), ("used_unit", .string(uu))] }
            return .object([("quota", .object(o))])
        case .log(let l):
            var o: [(String, JSONValue)] = []
            if let p = l.prefix { o.append(("prefix", .string(p))) }
            if let g = l.group { o.append(("group", .int(g))) }
            if let n = l.snaplen { o.append(("snaplen", .int(n))) }
            if let n = l.queueThreshold { o.append(("queue-threshold", .int(n))) }
            if let lv = l.level { o.append(("level", .string(lv))) }
            if l.flags & NFLog.all == NFLog.all { o.append(("flags", .string("all"))) } else if l.flags != 0 {
                let names = [(NFLog.tcpSequence, "tcp sequence"), (NFLog.tcpOptions, "tcp options"), (NFLog.ipOptions, "ip options"),
                             (NFLog.skuid, "skuid"), (NFLog.ether, "ether")].filter { l.flags & $0.0 != 0 }.map { JSONValue.string($0.1) }
                o.append(("flags", names.count == 1 ? names[0] : .array(names)))
            }
            return .object([("log", o.isEmpty ? .null : .object(o))])
        case .setMark(let m): return .object([("mangle", .object([("key", .object([("meta", .object([("key", .string("mark"))]))])), ("value", .int(Int(m)))]))])
        case .setCtMark(let m): return .object([("mangle", .object([("key", .object([("ct", .object([("key", .string("mark"))]))])), ("value", .int(Int(m)))]))])
        case .setExpr(let target, let source, let mask, let xor, let shift, let postMask, let postXor):
            // A priority by its tc handle (`"1:2"`), as nft -j writes it (recorded).
            var v: JSONValue = source.map(left) ?? (target == .priority ? .string(NFPrinter.number(UInt64(xor), .priority)) : .int(Int(xor)))
            // As nft -j nests them: {"|": [{"&": [src, m]}, o]}, a shift {"<<": [inner, n]} around them.
            func bitwise(_ v: inout JSONValue, _ mask: UInt32, _ xor: UInt32) {
                if mask != .max && !(mask & xor == 0 && mask | xor == .max) {
                    v = .object([("&", .array([v, .int(Int(mask & xor == 0 ? mask | xor : mask))]))])
                }
                if xor != 0 { v = .object([(mask & xor == 0 ? "|" : "^", .array([v, .int(Int(xor))]))]) }
            }
            if source != nil {
                bitwise(&v, mask, xor)
                if shift != 0 {
                    v = .object([(shift > 0 ? "<<" : ">>", .array([v, .int(abs(shift))]))])
                    bitwise(&v, postMask, postXor)
                }
            }
            return .object([("mangle", .object([("key", left(target)), ("value", v)]))])
        case .setPayload(let sel, let v): return .object([("mangle", .object([("key", left(sel)), ("value", value(v, sel))]))])
        case .setPayloadFrom(let sel, let source): return .object([("mangle", .object([("key", left(sel)), ("value", left(source))]))])
        case .resetTCPOption(let kind):
            return .object([("reset", .object([("tcp option", .object([("name", .string(NFSelector.tcpOptionName(kind) ?? String(kind)))]))]))])
        case .setGenerated(let target, let g): return .object([("mangle", .object([("key", left(target)), ("value", generator(g))]))])
        case .objref(let kind, let name): return .object([(kind.rawValue, .string(name))])
        case .objrefMapNamed(let kind, let keys, let map):
            let key = keys.count == 1 ? left(keys[0]) : concatLeft(keys)
            return .object([(kind.rawValue, .object([("map", .object([("key", key), ("data", .string("@" + map))]))]))])
        case .objrefMap(let kind, let keys, let entries):
            let key = keys.count == 1 ? left(keys[0]) : concatLeft(keys)
            let data = JSONValue.array(listed(entries, keys).map { .array([tupleJSON($0.0, keys), .string($0.1)]) })
            return .object([(kind.rawValue, .object([("map", .object([("key", key), ("data", .object([("set", data)]))]))]))])
        case .dynset(_, _, _, _, _, .some, _):
            // nft 1.0.6 has no JSON form for a map statement: it writes the statement's text.
            return .string(NFPrinter.statement(s))
        case .dynset(let op, let set, let keys, let timeout, let exprs, nil, let values):
            // A part that is a value is written as the value.
            let key = keys.count == 1 ? left(keys[0]) : values.isEmpty ? concatLeft(keys)
                : .object([("concat", .array(keys.enumerated().map { k, s in values[k].map { value($0, s) } ?? left(s) }))])
            let elem: JSONValue = timeout.map { .object([("elem", .object([("val", key), ("timeout", .int(Int($0 / 1000)))]))]) } ?? key
            var o: [(String, JSONValue)] = [("op", .string(op.rawValue)), ("elem", elem), ("set", .string("@" + set))]
            if !exprs.isEmpty { o.append(("stmt", .array(exprs.map { elementStatement($0, family: family) }))) }
            return .object([("set", .object(o))])
        case .meter(let name, let size, let keys, let timeout, let exprs):
            let key = keys.count == 1 ? left(keys[0]) : concatLeft(keys)
            let k: JSONValue = timeout.map { .object([("elem", .object([("val", key), ("timeout", .int(Int($0 / 1000)))]))]) } ?? key
            let stmt: JSONValue = exprs.count == 1 ? elementStatement(exprs[0], family: family) : .array(exprs.map { elementStatement($0, family: family) })
            return .object([("meter", .object([("key", k), ("stmt", stmt), ("size", .int(size)), ("name", .string(name))]))])
        case .setMappedNamed(let target, let key, let map):
            return .object([("mangle", .object([("key", left(target)), ("value", .object([("map", .object([("key", key.count == 1 ? left(key[0]) : concatLeft(key)), ("data", .string("@" + map))]))]))]))])
        case .natMapNamed(let source, let key, let map, let flags, let withPort, let v6):
            var o: [(String, JSONValue)] = []
            if family == .inet || withPort { o.append(("family", .string(v6 ? "ip6" : "ip"))) }
            o.append(("addr", .object([("map", .object([("key", key.count == 1 ? left(key[0]) : concatLeft(key)), ("data", .string("@" + map))]))])))
            o += natFlags(flags)
            return .object([(source ? "snat" : "dnat", .object(o))])
        case .rawMatch(let f, let mask, let op, let v):
            let base = switch f.base { case .link: "ll"; case .network: "nh"; case .transport: "th"; case .inner: "ih" }
            var l: JSONValue = .object([("payload", .object([("base", .string(base)), ("offset", .int(f.bitOffset)), ("len", .int(f.bitLength))]))])
            if let mask { l = .object([("&", .array([l, .int(Int(truncatingIfNeeded: mask))]))]) }
            let right: JSONValue = if case .set(let vs) = v { .object([("set", .array(vs.map(plain)))]) } else { plain(v) }
            return .object([("match", .object([("op", .string(op == .implicit ? "==" : op.rawValue)), ("left", l), ("right", right)]))])
        case .tcpOptionRaw(let kind, let off, let len, let op, let v):
            let l: JSONValue = .object([("tcp option", .object([("base", .int(Int(kind))), ("offset", .int(off)), ("len", .int(len))]))])
            let right: JSONValue = if case .set(let vs) = v { .object([("set", .array(vs.map(plain)))]) } else { plain(v) }
            return .object([("match", .object([("op", .string(op == .implicit ? "==" : op.rawValue)), ("left", l), ("right", right)]))])
        case .rawMatchWide(let f, let negate, let v):
            // The value as nft -j gives it: a hex string.
            let base = switch f.base { case .link: "ll"; case .network: "nh"; case .transport: "th"; case .inner: "ih" }
            let l: JSONValue = .object([("payload", .object([("base", .string(base)), ("offset", .int(f.bitOffset)), ("len", .int(f.bitLength))]))])
            return .object([("match", .object([("op", .string(negate ? "!=" : "==")), ("left", l), ("right", .string("0x" + String(v, radix: 16)))]))])
        case .setNftrace(let on):
            return .object([("mangle", .object([("key", .object([("meta", .object([("key", .string("nftrace"))]))])), ("value", .int(on ? 1 : 0))]))])
        case .ctCount(let n, let over):
            return .object([("ct count", .object([("val", .int(Int(n)))] + (over ? [("inv", .bool(true))] : [])))])
        case .setMapped6(let target, let keys, let entries):
            let key = keys.count == 1 ? left(keys[0]) : concatLeft(keys)
            let data = JSONValue.array(listed(entries, keys).map { .array([tupleJSON($0.0, keys), .string(IPv6Text.text($0.1))]) })
            return .object([("mangle", .object([("key", left(target)), ("value", .object([("map", .object([("key", key), ("data", .object([("set", data)]))]))]))]))])
        case .setMapped(let target, let keys, let entries):
            let key = keys.count == 1 ? left(keys[0]) : concatLeft(keys)
            let data = JSONValue.array(listed(entries, keys).map { .array([tupleJSON($0.0, keys), target.payload != nil ? value(.range($0.1, $0.1, text: NFPrinter.valueText($0.1, target)), target) : .int(Int($0.1))]) })
            return .object([("mangle", .object([("key", left(target)), ("value", .object([("map", .object([("key", key), ("data", .object([("set", data)]))]))]))]))])
        case .generatorVmap(let g, let entries):
            return .object([("vmap", .object([("key", generator(g)), ("data", .object([("set", .array(entries.map { .array([plain($0.0), verdict($0.1)]) }))]))]))])
        case .generatorMatch(let g, let op, let v):
            // `1-1` stays a range, as nft -j prints what was written.
            func number(_ v: NFValue) -> JSONValue {
                guard case .range(let lo, let hi, let text) = v, text.contains("-") else { return plain(v) }
                return .object([("range", .array([.int(Int(lo)), .int(Int(hi))]))])
            }
            let right: JSONValue = if case .set(let vs) = v { .object([("set", .array(vs.map(number)))]) } else { number(v) }
            return .object([("match", .object([("op", .string(op == .implicit ? "==" : op.rawValue)), ("left", generator(g)), ("right", right)]))])
        case .natMap(let m):
            let key: JSONValue = switch m.key { case .selector(let s): left(s); case .concat(let sels): concatLeft(sels); case .generator(let g): generator(g) }
            let data = JSONValue.array(m.entries.map { e in
                let k: JSONValue = switch m.key { case .selector(let s): value(e.key, s); case .concat(let sels): tupleJSON(e.key, sels); case .generator: plain(e.key) }
                return .array([k, natData(e.data)])
            })
            var o: [(String, JSONValue)] = []
            if family == .inet || m.namesFamily { o.append(("family", .string(m.v6 ? "ip6" : "ip"))) }
            o.append(("addr", .object([("map", .object([("key", key), ("data", .object([("set", data)]))]))])))
            o += natFlags(m.flags)
            return .object([(m.source ? "snat" : "dnat", .object(o))])
        case .notrack: return .object([("notrack", .null)])
        case .ctObject: return .object([])   // (declared objects only: see the table's objects)
        case .fwd(let f) where f.key != nil:
            return .object([("fwd", .object([("dev", deviceMap(f.key!, f.devices))]))])
        case .fwd(let f):
            var o: [(String, JSONValue)] = [("dev", .string(f.device))]
            if let fam = f.family, let a = f.addrText { o += [("family", .string(fam.rawValue)), ("addr", .string(a))] }
            return .object([("fwd", .object(o))])
        case .synproxy(let x):
            var o: [(String, JSONValue)] = []
            if x.flags & NFSynproxy.optMSS != 0 { o.append(("mss", .int(Int(x.mss)))) }
            if x.flags & NFSynproxy.optWscale != 0 { o.append(("wscale", .int(Int(x.wscale)))) }
            let flags = [(NFSynproxy.optTimestamp, "timestamp"), (NFSynproxy.optSackPerm, "sack-perm")].filter { x.flags & $0.0 != 0 }
            if !flags.isEmpty { o.append(("flags", .array(flags.map { .string($0.1) }))) }
            return .object([("synproxy", o.isEmpty ? .null : .object(o))])
        case .setCtEvent(let bits):
            // One name as a string, several as an array, none as the number.
            let names = NFParser.ctEventText(bits)
            let v: JSONValue = names.hasPrefix("0x") ? .int(Int(bits)) : names.contains(",") ? .array(names.split(separator: ",").map { .string(String($0)) }) : .string(names)
            return .object([("mangle", .object([("key", .object([("ct", .object([("key", .string("event"))]))])), ("value", v)]))])
        case .dup(let d) where d.toDevice:
            // nft -j names the device as the address (recorded), a device map too.
            return .object([("dup", .object([("addr", d.key.map { deviceMap($0, d.devices) } ?? .string(d.device ?? ""))]))])
        case .dup(let d):
            let addr: JSONValue = d.addr.map { .string(NFConstants.ipv4Text($0)) }
                ?? .object([("map", .object([("key", left(d.key!)), ("data", .object([("set", .array(d.entries.map {
                    .array([value($0.0, d.key!), .string(NFConstants.ipv4Text($0.1))]) }))]))]))])
            return .object([("dup", .object([("addr", addr)] + (d.device.map { [("dev", JSONValue.string($0))] } ?? [])))])
        case .tproxy(let x):
            // {"tproxy": {"family": "ip", "addr": "1.2.3.4", "port": 80}}: the family only where written (inet).
            var f: [(String, JSONValue)] = x.family.map { [("family", .string($0.rawValue))] } ?? []
            if let a = x.addr { f.append(("addr", .string(NFConstants.ipv4Text(a)))) }
            if let a = x.addr6 { f.append(("addr", .string(IPv6Text.text(a)))) }
            if let p = x.port { f.append(("port", .int(Int(p)))) }
            return .object([("tproxy", .object(f))])
        case .xtSet: return .object([("xt", .object([("type", .string("match")), ("name", .string("set"))]))])
        case .xtSetTarget: return .object([("xt", .object([("type", .string("target")), ("name", .string("SET"))]))])
        case .xtConnlimit: return .object([("xt", .object([("type", .string("match")), ("name", .string("connlimit"))]))])
        case .xtOwner: return .object([("xt", .object([("type", .string("match")), ("name", .string("owner"))]))])
        case .xtRecent: return .object([("xt", .object([("type", .string("match")), ("name", .string("recent"))]))])
        case .xtMultiport: return .object([("xt", .object([("type", .string("match")), ("name", .string("multiport"))]))])
        case .xtConntrack: return .object([("xt", .object([("type", .string("match")), ("name", .string("conntrack"))]))])
        case .xtConnmark: return .object([("xt", .object([("type", .string("target")), ("name", .string("CONNMARK"))]))])
        case .xt(let x): return .object([("xt", .object([("type", .string(x.target ? "target" : "match")), ("name", .string(x.name))]))])
        case .verdict(let v): return verdict(v)
        case .vmap(let sel, let entries):
            return .object([("vmap", .object([("key", left(sel)), ("data", .object([("set", .array(listed(entries, [sel]).map { .array([value($0.0, sel), verdict($0.1)]) }))]))]))])
        case .concatMatch(let sels, let op, let v):
            return .object([("match", .object([("op", .string(op == .ne ? "!=" : "==")), ("left", concatLeft(sels)), ("right", tupleJSON(v, sels))]))])
        case .concatVmapNamed(let sels, let m):
            return .object([("vmap", .object([("key", concatLeft(sels)), ("data", .string("@" + m))]))])
        case .concatVmap(let sels, let entries):
            return .object([("vmap", .object([("key", concatLeft(sels)),
                                              ("data", .object([("set", .array(entries.map { .array([tupleJSON($0.0, sels), verdict($0.1)]) }))]))]))])
        case .vmapNamed(let sel, let m):
            return .object([("vmap", .object([("key", left(sel)), ("data", .string("@" + m))]))])
        case .snat(let a, let ah, let p, let ph, let f): return .object([("snat", nat(a, ah, p, ph, f, family: family))])
        case .nat6(let source, let a, let ah, let p, let ph, let f):
            var o: [(String, JSONValue)] = []
            if family == .inet { o.append(("family", .string("ip6"))) }
            o.append(("addr", addrRange(a, ah.flatMap { $0 == a ? nil : $0 }, v6: true)))
            if let p { o.append(("port", ph.map { .object([("range", .array([.int(Int(p)), .int(Int($0))]))]) } ?? .int(Int(p)))) }
            o += natFlags(f)
            return .object([(source ? "snat" : "dnat", .object(o))])
        case .dnat(let a, let ah, let p, let ph, let f): return .object([("dnat", nat(a, ah, p, ph, f, family: family))])
        case .masquerade(let p, let ph, let f): return .object([("masquerade", p == nil && f.isEmpty ? .null : nat(nil, nil, p, ph, f, family: family))])
        case .redirect(let p, let ph, let f): return .object([("redirect", p == nil && f.isEmpty ? .null : nat(nil, nil, p, ph, f, family: family))])
        case .natPortMap(let masq, let key, let entries, let f):
            let port = JSONValue.object([("map", .object([("key", left(key)), ("data", .object([("set", .array(entries.map { .array([value($0.0, key), .int(Int($0.1))]) }))]))]))])
            return .object([(masq ? "masquerade" : "redirect", .object([("port", port)] + natFlags(f)))])
        case .reject(let rst, let code, let icmpx):
            if rst { return .object([("reject", .object([("type", .string("tcp reset"))]))]) }
            // Plain `reject`: nft -j names the family's type and port-unreachable (recorded).
            if code == 3 && (icmpx || family == .ip || family == .ip6) {
                let type = family == .ip ? "icmp" : family == .ip6 ? "icmpv6" : "icmpx"
                return .object([("reject", .object([("type", .string(type)), ("expr", .string("port-unreachable"))]))])
            }
            let name = (icmpx ? NFConstants.icmpxCodes : NFConstants.icmpUnreachCodes).first { $0.value == code }?.key ?? String(code)
            return .object([("reject", .object([("type", .string(icmpx ? "icmpx" : "icmp")), ("expr", .string(name))]))])
        case .rejectICMPv6(let code):
            let name = NFConstants.icmp6CodeList.first { $0.1 == UInt64(code) }?.0 ?? String(code)
            return .object([("reject", .object([("type", .string("icmpv6")), ("expr", .string(name))]))])
        }
    }

    /// A NAT target: `family` in inet tables, addresses and ports as values or ranges.
    static func nat(_ a: UInt32?, _ ah: UInt32?, _ p: UInt16?, _ ph: UInt16?, _ flags: NFNATFlags, family: NFFamily) -> JSONValue {
        var o: [(String, JSONValue)] = []
        if family == .inet, a != nil { o.append(("family", .string("ip"))) }
        if let a { o.append(("addr", addrRange(UInt128(a), ah.flatMap { $0 == a ? nil : UInt128($0) }, v6: false))) }
        if let p { o.append(("port", ph.map { .object([("range", .array([.int(Int(p)), .int(Int($0))]))]) } ?? .int(Int(p)))) }
        o += natFlags(flags)
        return .object(o)
    }

    /// One flag as a string, several as an array, as nft -j writes them; `prefix` is the netmap
    /// flag and a type flag of its own.
    static func natFlags(_ flags: NFNATFlags) -> [(String, JSONValue)] {
        let names = (flags.names + (flags.contains(.netmap) ? ["netmap"] : [])).map { JSONValue.string($0) }
        var o: [(String, JSONValue)] = []
        if !names.isEmpty { o.append(("flags", names.count == 1 ? names[0] : .array(names))) }
        if flags.contains(.netmap) { o.append(("type_flags", .string("prefix"))) }
        return o
    }

    /// A NAT map's data: an address, `{"prefix": ...}` or `{"range": ...}`, or a concatenation with the port.
    static func natData(_ d: NFNATData) -> JSONValue {
        let addr = d.port != nil || !d.interval ? addrRange(d.addr, d.addr == d.addrHi ? nil : d.addrHi, v6: d.v6)
            : addrRange(d.addr, d.addrHi, v6: d.v6)
        guard let p = d.port, let ph = d.portHi else { return addr }
        let port: JSONValue = p == ph ? .int(Int(p)) : .object([("range", .array([.int(Int(p)), .int(Int(ph))]))])
        return .object([("concat", .array([addr, port]))])
    }

    /// An address, or a range: `{"prefix": ...}` where it is one (a one-address interval too), else `{"range": ...}`.
    static func addrRange(_ lo: UInt128, _ hi: UInt128?, v6: Bool) -> JSONValue {
        func text(_ a: UInt128) -> JSONValue { .string(v6 ? IPv6Text.text(a) : NFConstants.ipv4Text(UInt32(truncatingIfNeeded: a))) }
        guard let hi else { return text(lo) }
        guard let len = NFPrinter.prefixLength(lo, hi, bits: v6 ? 128 : 32) else { return .object([("range", .array([text(lo), text(hi)]))]) }
        return .object([("prefix", .object([("addr", text(lo)), ("len", .int(len))]))])
    }

    static func byteUnit(_ n: UInt64) -> (UInt64, String) {
        if n >= 1024 * 1024 && n % (1024 * 1024) == 0 { return (n / (1024 * 1024), "mbytes") }
        if n >= 1024 && n % 1024 == 0 { return (n / 1024, "kbytes") }
        return (n, "bytes")
    }
}
