/// Renders JSON compactly (or indented), keys in the order they were given. Written as UTF-8
/// bytes: a String appended to a scalar at a time was most of a summary trace's cost.
public extension JSONValue {
    func rendered(pretty: Bool = false) -> String { String(decoding: utf8(pretty: pretty), as: UTF8.self) }
    var bytes: [UInt8] { utf8() }

    /// The document as UTF-8 bytes.
    func utf8(pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    /// An object rendered compactly, with where the values of its fields named in `keys` lie in
    /// the bytes: a caller that keeps some fields apart cuts them out instead of rendering twice.
    func utf8(marking keys: Set<String>) -> (bytes: [UInt8], spans: [String: Range<Int>]) {
        guard case .object(let f) = self else { return (utf8(), [:]) }
        var o: [UInt8] = [], spans: [String: Range<Int>] = [:]
        o.reserveCapacity(1024)
        o.append(UInt8(ascii: "{"))
        for (k, kv) in f.enumerated() {
            if k > 0 { o.append(UInt8(ascii: ",")) }
            JSONValue.quote(kv.0, into: &o)
            o.append(UInt8(ascii: ":"))
            let start = o.count
            kv.1.write(into: &o, pretty: false, indent: 1)
            if keys.contains(kv.0) { spans[kv.0] = start..<o.count }
        }
        o.append(UInt8(ascii: "}"))
        return (o, spans)
    }

    private func write(into o: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: o.append(contentsOf: "null".utf8)
        case .bool(let v): o.append(contentsOf: (v ? "true" : "false").utf8)
        case .int(let v): JSONValue.decimal(v, into: &o)
        case .double(let v):
            if v.isFinite { o.append(contentsOf: (v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)).utf8) } else { o.append(contentsOf: "null".utf8) }
        case .string(let s): JSONValue.quote(s, into: &o)
        case .array(let a):
            if a.isEmpty { o.append(contentsOf: "[]".utf8); return }
            o.append(UInt8(ascii: "["))
            for (k, v) in a.enumerated() {
                if k > 0 { o.append(UInt8(ascii: ",")) }
                if pretty { newline(&o, indent + 1) }
                v.write(into: &o, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&o, indent) }
            o.append(UInt8(ascii: "]"))
        case .object(let f):
            if f.isEmpty { o.append(contentsOf: "{}".utf8); return }
            o.append(UInt8(ascii: "{"))
            for (k, kv) in f.enumerated() {
                if k > 0 { o.append(UInt8(ascii: ",")) }
                if pretty { newline(&o, indent + 1) }
                JSONValue.quote(kv.0, into: &o)
                o.append(UInt8(ascii: ":"))
                if pretty { o.append(UInt8(ascii: " ")) }
                kv.1.write(into: &o, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&o, indent) }
            o.append(UInt8(ascii: "}"))
        }
    }

    private func newline(_ o: inout [UInt8], _ indent: Int) {
        o.append(0x0a)
        o.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    /// An integer in decimal, without a String in between.
    static func decimal(_ v: Int, into o: inout [UInt8]) {
        if v < 0 { o.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = 0
            repeat {
                digits[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            for k in stride(from: n - 1, through: 0, by: -1) { o.append(digits[k]) }
        }
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10 }

    /// A JSON string: the runs that need no escape copied whole.
    static func quote(_ s: String, into o: inout [UInt8]) {
        o.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { p in
            var start = 0
            for i in 0..<p.count {
                let c = p[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                o.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<i]))
                start = i + 1
                switch c {
                case UInt8(ascii: "\""): o.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): o.append(contentsOf: "\\\\".utf8)
                case 0x0a: o.append(contentsOf: "\\n".utf8)
                case 0x0d: o.append(contentsOf: "\\r".utf8)
                case 0x09: o.append(contentsOf: "\\t".utf8)
                default:
                    o.append(contentsOf: "\\u00".utf8)
                    o.append(JSONValue.hexDigit(c >> 4))
                    o.append(JSONValue.hexDigit(c & 15))
                }
            }
            o.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<p.count]))
        }
        o.append(UInt8(ascii: "\""))
    }
}
