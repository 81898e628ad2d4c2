import Foundation

/// A parsed query string that rejects parameters nobody reads.
struct Query {
    private var params: [String: String] = [:]
    private var used: Set<String> = []

    init(_ raw: String) throws(Problem) {
        for pair in raw.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            // Most parameters are plain: decoded only when they hold a `+` or a `%`.
            func decoded(_ s: Substring) -> String? {
                s.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") })
                    ? String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding : String(s)
            }
            guard let k = decoded(kv[0]), let v = kv.count > 1 ? decoded(kv[1]) : "" else {
                throw Problem.badRequest("invalid-query", "query parameter \(pair) is not valid percent-encoding")
            }
            guard params[k] == nil else { throw Problem.badRequest("invalid-query", "query parameter \(k) given twice") }
            params[k] = v
        }
    }

    /// The parameter was given (read or not).
    func has(_ k: String) -> Bool { params[k] != nil }

    mutating func string(_ k: String) -> String? { used.insert(k); return params[k].flatMap { $0.isEmpty ? nil : $0 } }

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
        if let k = params.keys.sorted().first(where: { !used.contains($0) }) {
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
