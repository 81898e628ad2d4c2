/// Renders JSON compactly (or indented), keys in the order they were given.
public extension JSONValue {
    func rendered(pretty: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(256)
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }
    var bytes: [UInt8] { Array(rendered().utf8) }

    private func write(into o: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: o += "null"
        case .bool(let v): o += v ? "true" : "false"
        case .int(let v): o += String(v)
        case .double(let v):
            if v.isFinite { o += v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) } else { o += "null" }
        case .string(let s): JSONValue.quote(s, into: &o)
        case .array(let a):
            if a.isEmpty { o += "[]"; return }
            o += "["
            for (k, v) in a.enumerated() {
                if k > 0 { o += "," }
                if pretty { o += "\n" + String(repeating: "  ", count: indent + 1) }
                v.write(into: &o, pretty: pretty, indent: indent + 1)
            }
            if pretty { o += "\n" + String(repeating: "  ", count: indent) }
            o += "]"
        case .object(let f):
            if f.isEmpty { o += "{}"; return }
            o += "{"
            for (k, kv) in f.enumerated() {
                if k > 0 { o += "," }
                if pretty { o += "\n" + String(repeating: "  ", count: indent + 1) }
                JSONValue.quote(kv.0, into: &o)
                o += pretty ? ": " : ":"
                kv.1.write(into: &o, pretty: pretty, indent: indent + 1)
            }
            if pretty { o += "\n" + String(repeating: "  ", count: indent) }
            o += "}"
        }
    }

    static func quote(_ s: String, into o: inout String) {
        o += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    o += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else { o.unicodeScalars.append(u) }
            }
        }
        o += "\""
    }
}
