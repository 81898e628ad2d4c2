import Foundation
import JSON

// libnftables JSON commands other than `add` of a listing's objects: {"insert": {"rule": ...}},
// {"delete": {"element": ...}}, {"flush": {"set": ...}}, {"reset": {"counters": ...}}... as the
// text commands they stand for (nft's parser_json.c reads the same objects).
extension NFJSON {
    /// The text command for `verb` (add, create, insert, replace, delete, destroy, flush, reset,
    /// rename) on the object `what` described by `b`. `sets` gives a set's key and data types
    /// by table and name, for its elements' text.
    static func verbCommand(_ verb: String, _ what: String, _ b: JSONValue, path: String,
                            sets: (String, String) -> (key: String, data: String?)?) throws(NFJSONError) -> String {
        let fam = (try? str(b["family"], path + "/family")) ?? "ip"
        func field(_ k: String) throws(NFJSONError) -> String { try str(b[k], path + "/" + k) }
        func number(_ k: String) -> Int? { if case .int(let n) = b[k] ?? .null { n } else { nil } }
        switch (verb, what) {
        case ("flush", "ruleset"):
            return "flush ruleset\n"
        case ("reset", "counters"), ("reset", "quotas"), ("reset", "rules"):
            // (No table: every table's; nft's "family" alone is not a scope of reset counters.)
            guard case .object = b, let t = try? field("table") else { return "reset \(what)\(what == "rules" ? " \(fam)" : "")\n" }
            return "reset \(what) table \(fam) \(t)\n"
        case ("reset", "counter"), ("reset", "quota"):
            return "reset \(what) \(fam) \(try field("table")) \(try field("name"))\n"
        case ("rename", "chain"):
            return "rename chain \(fam) \(try field("table")) \(try field("name")) \(try field("newname"))\n"
        case ("delete", "table"), ("destroy", "table"), ("flush", "table"):
            return "\(verb) table \(fam) \(try field("name"))\n"
        case (_, "chain") where ["delete", "destroy", "flush"].contains(verb), (_, "set") where ["delete", "destroy", "flush"].contains(verb),
             (_, "map") where ["delete", "destroy", "flush"].contains(verb):
            return "\(verb) \(what) \(fam) \(try field("table")) \(try field("name"))\n"
        case ("delete", "rule"), ("destroy", "rule"):
            guard let h = number("handle") else { throw NFJSONError(path: path + "/handle", message: "expected a rule handle") }
            return "\(verb) rule \(fam) \(try field("table")) \(try field("chain")) handle \(h)\n"
        case (_, _) where (verb == "delete" || verb == "destroy") && ["counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation", "synproxy"].contains(what):
            if let h = number("handle"), b["name"] == nil { return "\(verb) \(what) \(fam) \(try field("table")) handle \(h)\n" }
            return "\(verb) \(what) \(fam) \(try field("table")) \(try field("name"))\n"
        case (_, "element") where ["add", "create", "delete", "destroy"].contains(verb):
            let (t, n) = (try field("table"), try field("name"))
            guard case .array(let elems) = b["elem"] ?? .null else { throw NFJSONError(path: path + "/elem", message: "expected an array") }
            let types = sets(t, n)
            let key = types.flatMap { NFSetKey(rawValue: $0.key)?.selector }
            // A delete names keys alone.
            let body = try elementsText(elems, key: key, data: verb == "add" || verb == "create" ? types?.data : nil, path: path)
            return "\(verb) element \(fam) \(t) \(n) { \(body) }\n"
        case ("add", "rule"), ("create", "rule"), ("insert", "rule"), ("replace", "rule"):
            guard case .array(let exprs) = b["expr"] ?? .null else { throw NFJSONError(path: path + "/expr", message: "expected an array") }
            let stmts = try exprs.enumerated().map { k, e throws(NFJSONError) in try exprText(e, path + "/expr/\(k)") }
            let comment = if case .string(let c) = b["comment"] ?? .null { " comment \"\(c)\"" } else { "" }
            // The rule's place: `handle` (the rule to insert it before; the one replaced), or
            // `index`. nft 1.0.6 appends an added rule whatever its `handle` says (as recorded).
            var place = ""
            if let h = number("handle"), verb != "add" && verb != "create" { place = " handle \(h)" } else if let x = number("index") { place = " index \(x)" }
            if verb == "replace", place.isEmpty || number("index") != nil { throw NFJSONError(path: path + "/handle", message: "expected a rule handle") }
            let cmd = verb == "create" ? "add" : verb
            return "\(cmd) rule \(fam) \(try field("table")) \(try field("chain"))\(place) \(stmts.joined(separator: " "))\(comment)\n"
        case ("create", _):
            return try command(what, b, path: path).replacingOccurrences(of: "add ", with: "create ", options: .anchored)
        default:
            throw NFJSONError(path: path, message: "unknown command \(verb) \(what)")
        }
    }

    /// A set's key type and a map's data type ("verdict", an object kind, a set type), from the
    /// ruleset the commands run on, else from a set or map the document itself adds.
    static func setTypes(_ table: String, _ name: String, base: NFRuleset, items: [JSONValue]) -> (key: String, data: String?)? {
        for t in base.tables where t.name == table {
            guard let s = t.sets.first(where: { $0.name == name }) else { continue }
            let data: String? = s.verdicts != nil ? "verdict" : s.objectKind?.rawValue ?? s.dataType.map { $0.rawValue + (s.dataPort ? " . inet_service" : "") }
            return (s.keys.map(\.rawValue).joined(separator: " . "), data)
        }
        for item in items {
            guard case .object(let kv) = item, kv.count == 1, case .object(let inner) = kv[0].1, inner.count == 1,
                  ["set", "map"].contains(inner[0].0), inner[0].1["table"] == .string(table), inner[0].1["name"] == .string(name),
                  case .string(let key) = inner[0].1["type"] ?? .null else { continue }
            if case .string(let d) = inner[0].1["map"] ?? .null { return (key, d) }
            return (key, inner[0].0 == "map" ? "verdict" : nil)
        }
        return nil
    }
}
