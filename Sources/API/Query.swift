import Foundation

/// A parsed query string that rejects parameters nobody reads.
struct Query {
    /// A query has a few parameters: a walk over them costs less than hashing their names
    /// (a dictionary and a set of the names read were a twentieth of a one-packet injection).
    private var params: [Param] = []
    /// A struct, not a tuple: an array of tuples looked its type up at run time on each use.
    private struct Param { let key: String, value: String; var used = false }

    init(_ raw: String) throws(Problem) {
        // One walk over the bytes (split into substrings and their arrays cost a twentieth of a
        // one-packet injection); most parameters are plain: decoded only with a `+` or a `%`.
        let b = Array(raw.utf8)
        func text(_ r: Range<Int>) -> String? {
            let s = String(decoding: b[r], as: UTF8.self)
            guard b[r].contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return s }
            return s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        var start = 0
        while start <= b.count {
            let end = b[start...].firstIndex(of: UInt8(ascii: "&")) ?? b.count
            defer { start = end + 1 }
            guard end > start else { continue }
            let eq = b[start..<end].firstIndex(of: UInt8(ascii: "="))
            guard let k = text(start..<(eq ?? end)), let v = eq.map({ text(($0 + 1)..<end) }) ?? "" else {
                throw Problem.badRequest("invalid-query", "query parameter \(String(decoding: b[start..<end], as: UTF8.self)) is not valid percent-encoding")
            }
            guard !has(k) else { throw Problem.badRequest("invalid-query", "query parameter \(k) given twice") }
            params.append(Param(key: k, value: v))
        }
    }

    /// The parameter was given (read or not).
    func has(_ k: String) -> Bool { params.contains { $0.key == k } }

    mutating func string(_ k: String) -> String? {
        guard let i = params.firstIndex(where: { $0.key == k }) else { return nil }
        params[i].used = true
        return params[i].value.isEmpty ? nil : params[i].value
    }

    mutating func int(_ k: String, in range: ClosedRange<Int>, default d: Int) throws(Problem) -> Int {
        guard let s = string(k) else { return d }
        guard let n = Int(s), range.contains(n) else {
            throw Problem.badRequest("invalid-query", "\(k) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    mutating func bool(_ k: String) throws(Problem) -> Bool {
        guard let s = string(k) else { return false }
        switch s {
        case "true", "1": return true
        case "false", "0": return false
        default: throw Problem.badRequest("invalid-query", "\(k) must be true or false")
        }
    }

    /// Cursors are opaque to clients: the last id seen, base64url-encoded.
    mutating func cursor() throws(Problem) -> Int64 {
        guard let c = string("cursor") else { return 0 }
        guard let id = decodeCursor(c) else { throw Problem.badRequest("invalid-cursor", "cursor \(c) was not issued by this server") }
        return id
    }

    func finish() throws(Problem) {
        if let k = params.filter({ !$0.used }).map(\.key).min() {
            throw Problem.badRequest("unknown-parameter", "unknown query parameter \(k)")
        }
    }
}

func encodeCursor(_ id: Int64) -> String {
    Data("c\(id)".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
}

func decodeCursor(_ s: String) -> Int64? {
    var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while t.count % 4 != 0 { t += "=" }
    guard let d = Data(base64Encoded: t), let text = String(data: d, encoding: .utf8), text.hasPrefix("c"),
          let id = Int64(text.dropFirst()), id >= 0 else { return nil }
    return id
}
