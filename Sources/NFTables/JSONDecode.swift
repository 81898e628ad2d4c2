import Foundation
import JSON

/// Why a libnftables JSON document cannot be loaded; `path` is a JSON Pointer.
public struct NFJSONError: Error, Equatable, Sendable {
    public var path: String
    public var message: String
    /// As for text: a syntax error, something nft refuses, or something not modelled yet.
    public var kind: NFSyntaxError.Kind = .syntax
}

extension NFJSON {
    /// Reads `nft -j` JSON (a list ruleset, or add/flush commands) onto `base`. Handles are assigned
    /// as when the same objects are added in order; the ones in the document are ignored.
    /// `interfaces`: the devices interface indexes may name (NFParser's `interfaces`).
    public static func decode(_ doc: JSONValue, onto base: NFRuleset = NFRuleset(), interfaces: [String]? = nil) throws(NFJSONError) -> NFRuleset {
        guard case .array(let items) = doc["nftables"] ?? .null else { throw NFJSONError(path: "/nftables", message: "expected an array") }
        // Rebuild through the text syntax so handles, validation and printing stay in one place.
        var text = ""
        // A listing (nft -j list ruleset) has a table's objects and sets before its chains; the
        // chains are added first, as a ruleset file's are, so the handles come out the same.
        func rank(_ item: JSONValue) -> Int {
            guard case .object(let kv) = item, kv.count == 1 else { return 2 }
            switch kv[0].0 { case "metainfo", "table": return 0; case "chain": return 1; case "rule": return 3; default: return 2 }
        }
        let commands: Set<String> = ["flush", "add", "create", "insert", "replace", "delete", "destroy", "reset", "rename"]
        let isListing = !items.contains { if case .object(let kv) = $0, let k = kv.first?.0 { commands.contains(k) } else { false } }
        let ordered = isListing ? items.enumerated().sorted { (rank($0.1), $0.0) < (rank($1.1), $1.0) } : Array(items.enumerated())
        for (i, item) in ordered {
            let path = "/nftables/\(i)"
            guard case .object(let kv) = item, kv.count == 1 else { throw NFJSONError(path: path, message: "expected an object with one key") }
            let (kind, body) = kv[0]
            switch kind {
            case "metainfo": continue
            case "add", "create", "insert", "replace", "delete", "destroy", "flush", "reset", "rename":
                guard case .object(let inner) = body, inner.count == 1 else { throw NFJSONError(path: path + "/" + kind, message: "expected one object") }
                let (what, b, p) = (inner[0].0, inner[0].1, path + "/\(kind)/\(inner[0].0)")
                // `add` of a table, chain, set, rule or object reads as in a listing; the rest are commands.
                if kind == "add" && !["element", "rule"].contains(what) { text += try command(what, b, path: p) } else {
                    text += try verbCommand(kind, what, b, path: p, sets: { t, n in setTypes(t, n, base: base, items: items) })
                }
            default:
                text += try command(kind, body, path: path + "/" + kind)
            }
        }
        do { return try NFParser.parse(text, onto: base, interfaces: interfaces) } catch {
            throw NFJSONError(path: "/nftables", message: error.kind == .syntax ? "not a valid ruleset: \(error.message)" : error.message, kind: error.kind)
        }
    }

    /// A named object declared in a table: {"counter": {"family", "table", "name", "packets", "bytes"}}.
    private static func object(_ kind: String, _ b: JSONValue, fam: String, path: String) throws(NFJSONError) -> String {
        var body: String
        switch kind {
        case "counter":
            body = "packets \(b["packets"]?.rendered() ?? "0") bytes \(b["bytes"]?.rendered() ?? "0")"
        case "quota":
            body = (b["inv"] == .bool(true) ? "over " : "") + "\(b["bytes"]?.rendered() ?? "0") bytes"
            if let used = b["used"], used != .int(0) { body += " used \(used.rendered()) bytes" }
        case "ct helper":
            body = "type \"\(try str(b["type"], path + "/type"))\" protocol \(try str(b["protocol"], path + "/protocol")); "
            if case .string(let l3) = b["l3proto"] ?? .null { body += "l3proto \(l3); " }
        case "ct timeout":
            body = "protocol \(try str(b["protocol"], path + "/protocol")); "
            if case .string(let l3) = b["l3proto"] ?? .null { body += "l3proto \(l3); " }
            if case .object(let states) = b["policy"] ?? .null {
                body += "policy = { " + states.map { "\($0.0) : \($0.1.rendered())" }.joined(separator: ", ") + " }; "
            }
        case "synproxy":
            body = String(try synproxyArgs(b, path).dropFirst())
        case "ct expectation":
            // The timeout in ms.
            body = "protocol \(try str(b["protocol"], path + "/protocol")); dport \(b["dport"]?.rendered() ?? "0"); "
                + "timeout \(b["timeout"]?.rendered() ?? "0")ms; size \(b["size"]?.rendered() ?? "0"); "
            if case .string(let l3) = b["l3proto"] ?? .null { body += "l3proto \(l3); " }
        default:
            let rate = b["rate"]?.rendered() ?? "1", per = (try? str(b["per"], path + "/per")) ?? "second"
            let over = b["inv"] == .bool(true) ? "over " : ""
            if case .string(let unit) = b["rate_unit"] ?? .null, unit != "packets" {
                body = "rate \(over)\(rate) \(unit)/\(per)"
                if let burst = b["burst"], burst != .int(0) { body += " burst \(burst.rendered()) \((try? str(b["burst_unit"], path + "/burst_unit")) ?? "bytes")" }
            } else {
                body = "rate \(over)\(rate)/\(per)"
                if let burst = b["burst"], burst != .int(5) { body += " burst \(burst.rendered()) packets" }
            }
        }
        return "table \(fam) \(try str(b["table"], path + "/table")) { \(kind) \(try str(b["name"], path + "/name")) { \(body) }\n}\n"
    }

    /// A set's or map's elements as nft's text: `key` the key's field (for names and numbers),
    /// `data` a map's data type ("verdict", an object kind or a set type; nil for a set).
    /// An element with a comment or timeout is {"elem": {"val": ..., "comment": ...}}.
    static func elementsText(_ elems: [JSONValue], key sel: NFSelector?, data: String?, path: String) throws(NFJSONError) -> String {
        func element(_ e: JSONValue, _ p: String) throws(NFJSONError) -> String {
            guard let inner = e["elem"], let val = inner["val"] else { return try valueText(e, sel, p) }
            var extra = ""
            if case .int(let t) = inner["timeout"] ?? .null { extra += " timeout \(t)s" }
            if case .int(let t) = inner["expires"] ?? .null { extra += " expires \(t)s" }
            if case .string(let c) = inner["comment"] ?? .null { extra += " comment \"\(c)\"" }
            if let c = inner["counter"] { extra += " counter packets \(c["packets"]?.rendered() ?? "0") bytes \(c["bytes"]?.rendered() ?? "0")" }
            return try valueText(val, sel, p + "/elem/val") + extra
        }
        let dataSel = data.flatMap { NFSetKey(rawValue: String($0.prefix { $0 != " " }))?.selector }
        return try elems.enumerated().map { k, e throws(NFJSONError) -> String in
            if let data, case .array(let pair) = e, pair.count == 2 {
                let d = if let dataSel { try valueText(pair[1], dataSel, path + "/elem/\(k)/1") }
                    else if case .string(let n) = pair[1], ["counter", "quota", "limit", "synproxy"].contains(data) { "\"\(n)\"" }
                    else { try verdictText(pair[1], path + "/elem/\(k)/1") }
                return try element(pair[0], path + "/elem/\(k)/0") + " : " + d
            }
            return try element(e, path + "/elem/\(k)")
        }.joined(separator: ", ")
    }

    /// A synproxy statement's or object's settings as nft's words (" mss 1460 wscale 7 timestamp").
    private static func synproxyArgs(_ b: JSONValue, _ path: String) throws(NFJSONError) -> String {
        var out = ""
        if let m = b["mss"] { out += " mss \(m.rendered())" }
        if let w = b["wscale"] { out += " wscale \(w.rendered())" }
        if case .array(let flags) = b["flags"] ?? .null {
            for (k, f) in flags.enumerated() { out += " " + (try str(f, path + "/flags/\(k)")) }
        } else if case .string(let f) = b["flags"] ?? .null { out += " " + f }
        return out
    }

    static func str(_ v: JSONValue?, _ path: String) throws(NFJSONError) -> String {
        guard case .string(let s) = v ?? .null else { throw NFJSONError(path: path, message: "expected a string") }
        return s
    }

    static func command(_ kind: String, _ b: JSONValue, path: String) throws(NFJSONError) -> String {
        let fam = (try? str(b["family"], path + "/family")) ?? "ip"
        switch kind {
        case "counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation", "synproxy":
            return try object(kind, b, fam: fam, path: path)
        case "table":
            var s = "add table \(fam) \(try str(b["name"], path + "/name"))"
            var body = ""
            if let f = b["flags"] {
                let flags: [JSONValue] = if case .array(let a) = f { a } else { [f] }
                body += "flags " + (try flags.enumerated().map { k, x throws(NFJSONError) in try str(x, path + "/flags/\(k)") }).joined(separator: ",") + "; "
            }
            if case .string(let c) = b["comment"] ?? .null { body += "comment \"\(c)\"; " }
            if !body.isEmpty { s += " { " + body + "}" }
            return s + "\n"
        case "chain":
            var s = "add chain \(fam) \(try str(b["table"], path + "/table")) \(try str(b["name"], path + "/name"))"
            if case .string(let hook) = b["hook"] ?? .null {
                let type = (try? str(b["type"], path + "/type")) ?? "filter"
                var prio = 0
                if case .int(let p) = b["prio"] ?? .null { prio = p }
                s += " { type \(type) hook \(hook)"
                if case .string(let d) = b["dev"] ?? .null { s += " device \"\(d)\"" }
                if case .array(let ds) = b["dev"] ?? .null {
                    s += " devices = { " + (try ds.enumerated().map { k, d throws(NFJSONError) in "\"\(try str(d, path + "/dev/\(k)"))\"" }).joined(separator: ", ") + " }"
                }
                s += " priority \(prio); policy \((try? str(b["policy"], path + "/policy")) ?? "accept");"
                if case .string(let c) = b["comment"] ?? .null { s += " comment \"\(c)\";" }
                s += " }"
            } else if case .string(let c) = b["comment"] ?? .null {
                s += " { comment \"\(c)\"; }"
            }
            return s + "\n"
        case "set", "map":
            // A concatenated type is an array of types.
            let typeText: String
            if case .array(let ts) = b["type"] ?? .null {
                typeText = try ts.enumerated().map { k, t throws(NFJSONError) in try str(t, path + "/type/\(k)") }.joined(separator: " . ")
            } else {
                typeText = try str(b["type"], path + "/type")
            }
            var s = "table \(fam) \(try str(b["table"], path + "/table")) { \(kind) \(try str(b["name"], path + "/name")) { type \(typeText)"
            // Verdict maps and data maps of addresses, marks and ports; others are refused, not taken as one.
            var dataSel: NFSelector? = nil
            if kind == "map" {
                let data = (try? str(b["map"], path + "/map")) ?? "?"
                guard data == "verdict" || data != "ifname" && data != "iface_index" && NFSetKey(rawValue: data) != nil || ["ipv4_addr . inet_service", "ipv6_addr . inet_service",
                                            "counter", "quota", "limit", "synproxy"].contains(data) else {
                    throw NFJSONError(path: path + "/map", message: "not supported yet: maps of type \(data) (verdict maps and data maps of the set types but ifname and iface_index are modelled)", kind: .unsupported)
                }
                if data != "verdict", let k = NFSetKey(rawValue: String(data.prefix { $0 != " " })) { dataSel = k.selector }
                s += " : \(data)"
            }
            s += ";"
            var flagNames: [String] = []
            if let f = b["flags"] {
                let flags: [JSONValue] = if case .array(let a) = f { a } else { [f] }
                flagNames = try flags.enumerated().map { k, x throws(NFJSONError) in try str(x, path + "/flags/\(k)") }
            }
            // nft -j names no `dynamic` flag: elements with statements and no set statement are
            // what rules added (the text form would refuse them on a set that is not dynamic).
            if case .array(let elems) = b["elem"] ?? .null, b["stmt"] == nil, !flagNames.contains("dynamic"),
               elems.contains(where: { $0["elem"]?["counter"] != nil }) { flagNames.append("dynamic") }
            if !flagNames.isEmpty { s += " flags " + flagNames.joined(separator: ",") + ";" }
            if case .string(let pol) = b["policy"] ?? .null { s += " policy \(pol);" }
            if case .int(let n) = b["size"] ?? .null { s += " size \(n);" }
            if case .int(let n) = b["timeout"] ?? .null { s += " timeout \(n)s;" }
            if case .int(let n) = b["gc-interval"] ?? .null { s += " gc-interval \(n)s;" }
            if case .string(let c) = b["comment"] ?? .null { s += " comment \"\(c)\";" }
            if let stmts = b["stmt"], stmts != .null { s += try elementStatements(stmts, path + "/stmt") + ";" }
            if case .array(let elems) = b["elem"] ?? .null, !elems.isEmpty {
                let sel: NFSelector? = (try? str(b["type"], "")).map { NFSetKey(rawValue: $0)?.selector ?? .thDport }
                s += " elements = { " + (try elementsText(elems, key: sel, data: kind == "map" ? ((try? str(b["map"], "")) ?? "") : nil, path: path)) + " }"
            }
            return s + " }\n}\n"
        case "rule":
            guard case .array(let exprs) = b["expr"] ?? .null else { throw NFJSONError(path: path + "/expr", message: "expected an array") }
            let stmts = try exprs.enumerated().map { k, e throws(NFJSONError) in try exprText(e, path + "/expr/\(k)") }
            let comment = if case .string(let c) = b["comment"] ?? .null { " comment \"\(c)\"" } else { "" }
            return "add rule \(fam) \(try str(b["table"], path + "/table")) \(try str(b["chain"], path + "/chain")) \(stmts.joined(separator: " "))\(comment)\n"
        default:
            throw NFJSONError(path: path, message: "unknown object \(kind)")
        }
    }

    /// The key a rule adds: fields, and values among them (`{"concat": [234, {"payload": ...}]}`).
    private static func dynsetKey(_ l: JSONValue, _ path: String) throws(NFJSONError) -> String {
        guard case .array(let parts) = l["concat"] ?? .null else { return try leftSelector(l, path) }
        return try parts.enumerated().map { k, x throws(NFJSONError) -> String in
            switch x {
            case .int(let n): return "\(n)"
            case .string(let v): return v
            default: return try leftSelector(x, path + "/concat/\(k)")
            }
        }.joined(separator: " . ")
    }

    private static func leftSelector(_ l: JSONValue, _ path: String) throws(NFJSONError) -> String {
        if case .array(let parts) = l["concat"] ?? .null {
            return try parts.enumerated().map { k, x throws(NFJSONError) in try leftSelector(x, path + "/concat/\(k)") }.joined(separator: " . ")
        }
        if let p = l["payload"] {
            // Raw bits: {"payload": {"base": "nh", "offset": 8, "len": 8}}.
            if case .string(let base) = p["base"] ?? .null {
                return "@\(base),\(p["offset"]?.rendered() ?? "0"),\(p["len"]?.rendered() ?? "0")"
            }
            return "\(try str(p["protocol"], path + "/payload/protocol")) \(try str(p["field"], path + "/payload/field"))"
        }
        if let m = l["meta"] { return "meta \(try str(m["key"], path + "/meta/key"))" }
        if let r = l["rt"] {
            let fam = (try? str(r["family"], path + "/rt/family")).map { $0 + " " } ?? ""
            return "rt \(fam)\(try str(r["key"], path + "/rt/key"))"
        }
        if case .string(let k) = l["socket"]?["key"] ?? .null { return "socket \(k)" }
        if let x = l["ipsec"] {
            let spnum = x["spnum"].map { $0 == .int(0) ? "" : " spnum \($0.rendered())" } ?? ""
            let family = (try? str(x["family"], "")).map { $0 + " " } ?? ""
            return "ipsec \(try str(x["dir"], path + "/ipsec/dir"))\(spnum) \(family)\(try str(x["key"], path + "/ipsec/key"))"
        }
        if let o = l["osf"] {
            // {"osf": {"key": "name", "ttl": "loose"}}
            return "osf " + ((try? str(o["ttl"], "")).map { "ttl \($0) " } ?? "") + (try str(o["key"], path + "/osf/key"))
        }
        if let f = l["fib"] {
            guard case .array(let flags) = f["flags"] ?? .null else { throw NFJSONError(path: path + "/fib/flags", message: "expected an array") }
            let words = try flags.enumerated().map { k, x throws(NFJSONError) in try str(x, path + "/fib/flags/\(k)") }
            return "fib " + words.joined(separator: " . ") + " " + (try str(f["result"], path + "/fib/result"))
        }
        if let e = l["exthdr"] {
            let name = try str(e["name"], path + "/exthdr/name")
            if let f = try? str(e["field"], "") { return "\(name) \(f)" }
            return "exthdr \(name)"
        }
        // {"tcp option": {"base": 255, "offset": 8, "len": 8}}: an option's raw bits.
        if let o = l["tcp option"], case .int(let kind) = o["base"] ?? .null {
            return "tcp option @\(kind),\(o["offset"]?.rendered() ?? "0"),\(o["len"]?.rendered() ?? "0")"
        }
        for list in ["tcp option", "sctp chunk", "ip option"] {
            if let o = l[list] { return "\(list) \(try str(o["name"], path + "/\(list)/name"))" + ((try? str(o["field"], "")).map { " " + $0 } ?? "") }
        }
        // nft -j prints a modulus of 2^31 or more as a negative 32-bit number.
        func modulus(_ v: JSONValue?) -> String {
            if case .int(let n) = v ?? .null, n < 0, n >= Int(Int32.min) { return String(UInt32(bitPattern: Int32(n))) }
            return v?.rendered() ?? ""
        }
        if let g = l["numgen"] {
            let offset = g["offset"].map { $0 == .int(0) ? "" : " offset \($0.rendered())" } ?? ""
            return "numgen \(try str(g["mode"], path + "/numgen/mode")) mod \(modulus(g["mod"]))" + offset
        }
        for kind in ["jhash", "symhash"] {
            guard let h = l[kind] else { continue }
            var t = kind
            if kind == "jhash" { t += " " + (try leftSelector(h["expr"] ?? .null, path + "/jhash/expr")) }
            t += " mod \(modulus(h["mod"]))"
            if case .int(let s) = h["seed"] ?? .null { t += " seed 0x" + String(s, radix: 16) }
            if let o = h["offset"], o != .int(0) { t += " offset \(o.rendered())" }
            return t
        }
        if let c = l["ct"] {
            let dir = (try? str(c["dir"], path + "/ct/dir")).map { $0 + " " } ?? ""
            let fam = (try? str(c["family"], path + "/ct/family")).map { $0 + " " } ?? ""
            return "ct \(dir)\(fam)\(try str(c["key"], path + "/ct/key"))"
        }
        throw NFJSONError(path: path, message: "expected payload, meta or ct")
    }

    static func valueText(_ v: JSONValue, _ sel: NFSelector?, _ path: String) throws(NFJSONError) -> String {
        switch v {
        case .bool(let b): return b ? "exists" : "missing"
        case .int(let n): return String(n)
        case .string(let s):
            // Names and clock values are quoted in nft's text (`"08:00"`, `"Monday"`).
            let quoted: Set<NFSelector> = [.iifname, .oifname, .iif, .oif, NFSelector.ctHelper, .hour, .day, .time]
            // (`"@s"` names a set: never quoted.)
            return !s.hasPrefix("@") && sel.map { quoted.contains($0) || $0.isOSF } == true ? "\"\(s)\"" : s
        case .array(let a): return try a.enumerated().map { k, x throws(NFJSONError) in try valueText(x, sel, path + "/\(k)") }.joined(separator: ",")
        case .object:
            if let p = v["prefix"] {
                // An address, or an integer (`meta mark 0xffffff00/24` is {"addr": 4294967040, "len": 24}).
                let addr = if case .int(let n) = p["addr"] ?? .null { String(n) } else { try str(p["addr"], path + "/prefix/addr") }
                return "\(addr)/\(p["len"].map { $0.rendered() } ?? "32")"
            }
            if case .array(let r) = v["range"] ?? .null, r.count == 2 {
                return "\(try valueText(r[0], sel, path + "/range/0"))-\(try valueText(r[1], sel, path + "/range/1"))"
            }
            if case .array(let parts) = v["concat"] ?? .null {
                // The parts of a concatenated value; each part's type comes from its own selector.
                let sels = sel.map { [$0] } ?? []
                return try parts.enumerated().map { k, x throws(NFJSONError) in try valueText(x, k < sels.count ? sels[k] : nil, path + "/concat/\(k)") }
                    .joined(separator: " . ")
            }
            if case .array(let s) = v["set"] ?? .null {
                // An element of several flags is {"|": [a, b]} (nested for more), or a list of names.
                func element(_ x: JSONValue, _ p: String) throws(NFJSONError) -> String {
                    if case .object(let kv) = x, kv.count == 1, kv[0].0 == "|", case .array(let ops) = kv[0].1, ops.count == 2 {
                        return "\(try element(ops[0], p + "/|/0")) | \(try element(ops[1], p + "/|/1"))"
                    }
                    if case .array(let names) = x { return try names.enumerated().map { k, n throws(NFJSONError) in try valueText(n, sel, p + "/\(k)") }.joined(separator: " | ") }
                    return try valueText(x, sel, p)
                }
                return "{ " + (try s.enumerated().map { k, x throws(NFJSONError) in try element(x, path + "/set/\(k)") }).joined(separator: ", ") + " }"
            }
            // A named map: {"map": {"key": ..., "data": "@m"}}.
            if let m = v["map"], case .string(let named) = m["data"] ?? .null, named.hasPrefix("@") {
                return "\(try leftSelector(m["key"] ?? .null, path + "/map/key")) map \(named)"
            }
            // A NAT address from a map: {"map": {"key": ..., "data": {"set": [[k, addr], ...]}}}.
            if let m = v["map"], case .array(let entries) = m["data"]?["set"] ?? .null {
                let key = try leftSelector(m["key"] ?? .null, path + "/map/key")
                let items = try entries.enumerated().map { k, e throws(NFJSONError) -> String in
                    guard case .array(let pair) = e, pair.count == 2 else { throw NFJSONError(path: path + "/map/data/set/\(k)", message: "expected [key, value]") }
                    return "\(try valueText(pair[0], NFSelector(rawValue: key), path + "/map/data/set/\(k)/0")) : \(try valueText(pair[1], nil, path + "/map/data/set/\(k)/1"))"
                }
                return "\(key) map { \(items.joined(separator: ", ")) }"
            }
            throw NFJSONError(path: path, message: "unsupported value")
        default: throw NFJSONError(path: path, message: "unsupported value")
        }
    }

    /// {"key": ..., "data": {"set": [[K, "DEVICE"], ...]}} as `KEY map { K : "DEVICE", ... }`.
    private static func deviceMapText(_ m: JSONValue, _ path: String) throws(NFJSONError) -> String {
        let key = try leftSelector(m["key"] ?? .null, path + "/key")
        guard case .array(let entries) = m["data"]?["set"] ?? .null else { throw NFJSONError(path: path + "/data", message: "expected a set") }
        let items = try entries.enumerated().map { n, e throws(NFJSONError) -> String in
            guard case .array(let pair) = e, pair.count == 2 else { throw NFJSONError(path: path + "/data/set/\(n)", message: "expected [key, device]") }
            return "\(try valueText(pair[0], NFSelector(rawValue: key), path + "/data/set/\(n)/0")) : \"\(try str(pair[1], path + "/data/set/\(n)/1"))\""
        }
        return "\(key) map { \(items.joined(separator: ", ")) }"
    }

    /// A mangle value: a number, a tc handle, a selector, or a binary operation on one.
    private static func mangleValue(_ v: JSONValue, _ path: String) throws(NFJSONError) -> String {
        if case .object(let kv) = v, kv.count == 1, ["&", "|", "^", "<<", ">>"].contains(kv[0].0), case .array(let ops) = kv[0].1, ops.count == 2 {
            var inner = try mangleValue(ops[0], path + "/\(kv[0].0)/0")
            // What a shift applies to is parenthesised when it is itself an operation.
            if kv[0].0.count == 2, case .object(let ikv) = ops[0], ikv.count == 1, ["&", "|", "^"].contains(ikv[0].0) { inner = "(\(inner))" }
            return "\(inner) \(kv[0].0) \(ops[1].rendered())"
        }
        if v["map"] != nil { return try valueText(v, nil, path) }
        if case .object = v { return try leftSelector(v, path) }
        if case .string(let s) = v { return s }
        // `ct event set new,destroy`: {"value": ["new", "destroy"]}.
        if case .array(let items) = v, case let names = items.compactMap({ if case .string(let s) = $0 { s } else { nil } }), names.count == items.count {
            return names.joined(separator: ",")
        }
        return v.rendered()
    }

    static func verdictText(_ v: JSONValue, _ path: String) throws(NFJSONError) -> String {
        guard case .object(let kv) = v, kv.count == 1 else { throw NFJSONError(path: path, message: "expected a verdict") }
        switch kv[0].0 {
        case "jump", "goto": return "\(kv[0].0) \(try str(kv[0].1["target"], path + "/\(kv[0].0)/target"))"
        case "accept", "drop", "continue", "return": return kv[0].0
        case "queue":
            var t = "queue"
            let flags: [JSONValue] = switch kv[0].1["flags"] ?? .null { case .array(let f): f; case .null: []; case let f: [f] }
            if flags.contains(.string("bypass")) { t += " bypass" }
            if flags.contains(.string("fanout")) { t += " fanout" }
            if case .int(let n) = kv[0].1["num"] ?? .null { t += " num \(n)" }
            if case .array(let r) = kv[0].1["num"]?["range"] ?? .null, r.count == 2 { t += " num \(r[0].rendered())-\(r[1].rendered())" }
            return t
        default: throw NFJSONError(path: path, message: "expected a verdict")
        }
    }

    /// A set element's or meter's statements (one object or a list), as text after the key.
    private static func elementStatements(_ v: JSONValue?, _ path: String) throws(NFJSONError) -> String {
        guard let v, v != .null else { return "" }
        let list: [JSONValue] = if case .array(let a) = v { a } else { [v] }
        return try list.enumerated().map { k, x throws(NFJSONError) in " " + (try exprText(x, path + "/\(k)")) }.joined()
    }

    static func exprText(_ e: JSONValue, _ path: String) throws(NFJSONError) -> String {
        guard case .object(let kv) = e, kv.count == 1 else { throw NFJSONError(path: path, message: "expected an object with one key") }
        let (k, b) = kv[0]
        let p = path + "/" + k
        switch k {
        case "match":
            guard let l = b["left"], let r = b["right"] else { throw NFJSONError(path: p, message: "needs left and right") }
            var lhs: String, selName: String
            if case .array(let or) = l["|"] ?? .null, or.count == 2 {
                selName = try leftSelector(or[0], p + "/left/|/0")
                lhs = selName + " | " + or[1].rendered()
            } else if case .array(let and) = l["&"] ?? .null, and.count == 2 {
                selName = try leftSelector(and[0], p + "/left/&/0")
                lhs = selName + " & " + (try valueText(and[1], NFSelector(rawValue: selName), p + "/left/&/1").replacingOccurrences(of: ",", with: "|"))
                if ["tcp flags", "ct state", "ct status"].contains(selName) { lhs = selName + " & (" + String(lhs.dropFirst(selName.count + 3)) + ")" }
            } else {
                selName = try leftSelector(l, p + "/left")
                lhs = selName
            }
            // A presence test (`tcp option sack-perm exists`) has a boolean right side and no operator in text.
            if case .bool(let present) = r { return lhs + (present ? " exists" : " missing") }
            let op = (try? str(b["op"], p + "/op")) ?? "=="
            let sel = NFSelector(rawValue: selName)
            let rhs = try valueText(r, sel, p + "/right")
            // "in" is nft's implicit operator (any bit of a flag list); "==" is written out.
            return lhs + (op == "in" ? " " : " \(op) ") + rhs
        // (`where` binds to each pattern: a Swift case list applies it to the last one only.)
        case "counter" where b.isObjectReference, "quota" where b.isObjectReference, "limit" where b.isObjectReference,
             "ct helper" where b.isObjectReference, "ct timeout" where b.isObjectReference, "ct expectation" where b.isObjectReference,
             "synproxy" where b.isObjectReference:
            // {"counter": "c1"} or {"counter": {"map": {"key": ..., "data": {"set": [[k, "c1"], ...]}}}};
            // conntrack objects are attached with `set` (`ct helper set "h"`).
            let verb = k.hasPrefix("ct ") ? "set" : "name"
            if case .string(let n) = b { return "\(k) \(verb) \"\(n)\"" }
            let m = b["map"] ?? .null
            let key = try leftSelector(m["key"] ?? .null, p + "/map/key")
            if case .string(let named) = m["data"] ?? .null { return "\(k) \(verb) \(key) map \(named)" }
            guard case .array(let entries) = m["data"]?["set"] ?? .null else { throw NFJSONError(path: p + "/map/data", message: "expected a set") }
            let items = try entries.enumerated().map { n, e throws(NFJSONError) -> String in
                guard case .array(let pair) = e, pair.count == 2 else { throw NFJSONError(path: p + "/map/data/set/\(n)", message: "expected [key, name]") }
                return "\(try valueText(pair[0], NFSelector(rawValue: key), p + "/map/data/set/\(n)/0")) : \"\(try str(pair[1], p + "/map/data/set/\(n)/1"))\""
            }
            return "\(k) \(verb) \(key) map { \(items.joined(separator: ", ")) }"
        case "counter":
            if case .int(let n) = b["packets"] ?? .null, case .int(let m) = b["bytes"] ?? .null { return "counter packets \(n) bytes \(m)" }
            return "counter"
        case "notrack": return "notrack"
        case "fwd":
            // {"fwd": {"dev": "eth1"}} or {"fwd": {"dev": "eth1", "family": "ip", "addr": "192.168.1.2"}}
            if case .object = b["dev"] ?? .null { return "fwd to " + (try deviceMapText(b["dev"]?["map"] ?? .null, p + "/dev/map")) }
            let dev = try str(b["dev"], p + "/dev")
            if case .string(let fam) = b["family"] ?? .null { return "fwd \(fam) to \(try str(b["addr"], p + "/addr")) device \"\(dev)\"" }
            return "fwd to \"\(dev)\""
        case "synproxy":
            // {"synproxy": null} or {"synproxy": {"mss": 1460, "wscale": 7, "flags": ["timestamp", "sack-perm"]}}
            return "synproxy" + (try synproxyArgs(b, p))
        case "dup":
            // {"dup": {"addr": "192.168.2.1" | {"map": {"key": ..., "data": {"set": [[k, addr], ...]}}}, "dev": "lo"}}
            var s = "dup to "
            let data = b["addr"]?["map"]?["data"]?["set"]
            let devices: Bool = if case .array(let es) = data ?? .null {
                es.contains { if case .array(let pair) = $0, pair.count == 2, case .string(let d) = pair[1] { NFConstants.ipv4(d) == nil } else { false } }
            } else { false }
            // (An address is an IPv4 one; anything else names a device: netdev's dup.)
            if case .string(let a) = b["addr"] ?? .null { s += NFConstants.ipv4(a) == nil ? "\"\(a)\"" : a } else if devices {
                s += try deviceMapText(b["addr"]?["map"] ?? .null, p + "/addr/map")
            } else {
                let m = b["addr"]?["map"] ?? .null
                let key = try leftSelector(m["key"] ?? .null, p + "/addr/map/key")
                guard case .array(let entries) = m["data"]?["set"] ?? .null else { throw NFJSONError(path: p + "/addr/map/data", message: "expected a set") }
                let items = try entries.enumerated().map { n, e throws(NFJSONError) -> String in
                    guard case .array(let pair) = e, pair.count == 2 else { throw NFJSONError(path: p + "/addr/map/data/set/\(n)", message: "expected [key, address]") }
                    return "\(try valueText(pair[0], NFSelector(rawValue: key), p + "/addr/map/data/set/\(n)/0")) : \(try str(pair[1], p + "/addr/map/data/set/\(n)/1"))"
                }
                s += "\(key) map { \(items.joined(separator: ", ")) }"
            }
            if case .string(let dev) = b["dev"] ?? .null { s += " device \"\(dev)\"" }
            return s
        case "tproxy":
            // {"tproxy": {"family": "ip", "addr": "1.2.3.4", "port": 80}}
            var s = "tproxy"
            if case .string(let f) = b["family"] ?? .null { s += " " + f }
            s += " to "
            if case .string(let a) = b["addr"] ?? .null { s += a.contains(":") ? "[\(a)]" : a }
            if case .int(let n) = b["port"] ?? .null { s += ":\(n)" }
            return s
        case "log":
            var s = "log"
            if case .string(let pre) = b["prefix"] ?? .null { s += " prefix \"\(pre)\"" }
            for key in ["group", "snaplen", "queue-threshold"] { if case .int(let n) = b[key] ?? .null { s += " \(key) \(n)" } }
            if case .string(let lv) = b["level"] ?? .null { s += " level \(lv)" }
            if let f = b["flags"] {
                let flags: [JSONValue] = if case .array(let a) = f { a } else { [f] }
                for (k, x) in flags.enumerated() { s += " flags \(try str(x, p + "/flags/\(k)"))" }
            }
            return s
        case "quota":
            var s = "quota " + (b["inv"] == .bool(true) ? "over " : "")
            s += "\(b["val"]?.rendered() ?? "0") \((try? str(b["val_unit"], p + "/val_unit")) ?? "bytes")"
            if let used = b["used"] { s += " used \(used.rendered()) \((try? str(b["used_unit"], p + "/used_unit")) ?? "bytes")" }
            return s
        case "limit":
            let rate = b["rate"]?.rendered() ?? "1", per = (try? str(b["per"], p + "/per")) ?? "second"
            let over = b["inv"] == .bool(true) ? "over " : ""
            if case .string(let unit) = b["rate_unit"] ?? .null, unit != "packets" {
                // A byte rate: rate_unit and burst_unit are bytes, kbytes or mbytes.
                var s = "limit rate \(over)\(rate) \(unit)/\(per)"
                if let burst = b["burst"], burst != .int(0) { s += " burst \(burst.rendered()) \((try? str(b["burst_unit"], p + "/burst_unit")) ?? "bytes")" }
                return s
            }
            var s = "limit rate \(over)\(rate)/\(per)"
            if let burst = b["burst"], burst != .int(5) { s += " burst \(burst.rendered()) packets" }
            return s
        case "set" where b["op"] != nil:
            // {"set": {"op": "add", "elem": KEY or {"elem": {"val": KEY, "timeout": T}}, "set": "@s"}}
            let op = try str(b["op"], p + "/op")
            let e = b["elem"] ?? .null
            let key = try dynsetKey(e["elem"]?["val"] ?? e, p + "/elem")
            let timeout = if case .int(let t) = e["elem"]?["timeout"] ?? .null { " timeout \(t)s" } else { "" }
            return "\(op) \(try str(b["set"], p + "/set")) { \(key)\(timeout)\(try elementStatements(b["stmt"], p + "/stmt")) }"
        case "meter":
            // {"meter": {"key": KEY or {"elem": {"val": KEY, "timeout": T}}, "stmt": STMT, "size": N, "name": "m"}}
            let e = b["key"] ?? .null
            let key = try leftSelector(e["elem"]?["val"] ?? e, p + "/key")
            let timeout = if case .int(let t) = e["elem"]?["timeout"] ?? .null { " timeout \(t)s" } else { "" }
            let size = if case .int(let n) = b["size"] ?? .null { " size \(n)" } else { "" }
            return "meter \(try str(b["name"], p + "/name"))\(size) { \(key)\(timeout)\(try elementStatements(b["stmt"], p + "/stmt")) }"
        case "ct count":
            guard case .int(let n) = b["val"] ?? .null else { throw NFJSONError(path: p + "/val", message: "expected a number") }
            return "ct count " + (b["inv"] == .bool(true) ? "over " : "") + "\(n)"
        case "reset":
            return "reset tcp option \(try str(b["tcp option"]?["name"], p + "/tcp option/name"))"
        case "mangle":
            guard let key = b["key"], let v = b["value"] else { throw NFJSONError(path: p, message: "needs key and value") }
            return "\(try leftSelector(key, p + "/key")) set \(try mangleValue(v, p + "/value"))"
        case "accept", "drop", "continue", "return", "queue", "jump", "goto":
            return try verdictText(e, path)
        case "vmap":
            if let key = b["key"], case .string(let named) = b["data"] ?? .null, named.hasPrefix("@") {
                return "\(try leftSelector(key, p + "/key")) vmap \(named)"
            }
            guard let key = b["key"], case .array(let entries) = b["data"]?["set"] ?? .null else { throw NFJSONError(path: p, message: "needs key and data") }
            let sel = try leftSelector(key, p + "/key")
            let items = try entries.enumerated().map { i, x throws(NFJSONError) -> String in
                guard case .array(let pair) = x, pair.count == 2 else { throw NFJSONError(path: p + "/data/set/\(i)", message: "expected [value, verdict]") }
                return "\(try valueText(pair[0], NFSelector(rawValue: sel), p + "/data/set/\(i)/0")) : \(try verdictText(pair[1], p + "/data/set/\(i)/1"))"
            }
            return "\(sel) vmap { \(items.joined(separator: ", ")) }"
        case "snat", "dnat", "masquerade", "redirect":
            // addr and port are values or {"range": [lo, hi]}; family names the address family in inet.
            var t = k
            if case .string(let f) = b["family"] ?? .null { t += " \(f)" }
            var addr = try b["addr"].map { x throws(NFJSONError) in try valueText(x, nil, p + "/addr") }
            var port: String? = nil
            if let m = b["port"]?["map"] {
                // {"port": {"map": {"key": ..., "data": {"set": [[22, 8000], ...]}}}}: `to :KEY map { ... }`.
                let key = try leftSelector(m["key"] ?? .null, p + "/port/map/key")
                guard case .array(let entries) = m["data"]?["set"] ?? .null else { throw NFJSONError(path: p + "/port/map/data", message: "expected a set") }
                let items = try entries.enumerated().map { n, e throws(NFJSONError) -> String in
                    guard case .array(let pair) = e, pair.count == 2 else { throw NFJSONError(path: p + "/port/map/data/set/\(n)", message: "expected [key, port]") }
                    return "\(try valueText(pair[0], NFSelector(rawValue: key), p + "/port/map/data/set/\(n)/0")) : \(try valueText(pair[1], nil, p + "/port/map/data/set/\(n)/1"))"
                }
                port = "\(key) map { \(items.joined(separator: ", ")) }"
            } else {
                port = try b["port"].map { x throws(NFJSONError) in try valueText(x, nil, p + "/port") }
            }
            // An IPv6 address before a port is bracketed: [2001:db8::1]:80, [a]-[b]:80.
            // A prefix is not bracketed (`2001:db8::/120:80`, as nft lists it).
            if let a = addr, a.contains(":"), !a.contains("/"), port != nil { addr = a.split(separator: "-").map { "[\($0)]" }.joined(separator: "-") }
            // "type_flags": "prefix" (with the netmap flag) is the text's `prefix to`.
            let typeFlags: [JSONValue] = if case .array(let a) = b["type_flags"] ?? .null { a } else { b["type_flags"].map { [$0] } ?? [] }
            if typeFlags.contains(.string("prefix")) { t += " prefix" }
            if addr != nil || port != nil { t += " to \(addr ?? ""):" + (port ?? "") }
            if t.hasSuffix(":") { t.removeLast() }
            if let f = b["flags"] {
                let flags: [JSONValue] = if case .array(let a) = f { a } else { [f] }
                let names = try flags.enumerated().map { n, x throws(NFJSONError) in try str(x, p + "/flags/\(n)") }.filter { $0 != "netmap" }
                if !names.isEmpty { t += " " + names.joined(separator: ",") }
            }
            return t
        case "reject":
            if case .string(let type) = b["type"] ?? .null {
                if type == "tcp reset" { return "reject with tcp reset" }
                if case .string(let x) = b["expr"] ?? .null { return "reject with \(type == "icmpx" || type == "icmpv6" ? type : "icmp") \(x)" }
            }
            return "reject"
        default:
            throw NFJSONError(path: p, message: "unsupported statement \(k)")
        }
    }
}

private extension JSONValue {
    /// `{"counter": "name"}` or a `{"map": ...}` of names: a reference to named objects, not an anonymous one.
    var isObjectReference: Bool {
        if case .string = self { return true }
        return self["map"] != nil
    }
}
