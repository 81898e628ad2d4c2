import Foundation

/// A token of nft's language, with where it starts.
public struct NFToken: Sendable, Equatable {
    /// `handle` is a `# handle N` comment, as `nft -a list ruleset` prints it: it keeps a rule's handle.
    /// `iptables` is the `# iptables: -A ...` that follows a stored rule's handle: the line it was translated from.
    public enum Kind: Sendable, Equatable { case word, string, punct, newline, end, handle, iptables }
    public var kind: Kind
    public var text: String
    public var line: Int
    public var column: Int
    /// Columns the token takes in the source (a string with its quotes; 1 for a line end).
    var width: Int { kind == .string ? text.count + 2 : kind == .newline || kind == .end ? 1 : text.count }
}

/// A syntax error as nft reports it: where, and what was expected.
public struct NFSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// nft cannot parse it.
        case syntax
        /// It parses, but nft or the kernel refuses it (no such chain, a loop, a value out of range).
        case refused
        /// nft takes it, the model does not model it yet: refused rather than accepted and ignored.
        case unsupported
    }
    public var line: Int
    public var column: Int
    public var message: String
    public var kind: Kind
    /// Characters of the offending token (what nft underlines with carets).
    public var length: Int
    /// The included file the error is in (nil: the ruleset itself).
    public var file: String? = nil
    public var description: String { "line \(line), column \(column): \(message)" }
    public init(line: Int, column: Int, message: String, kind: Kind = .syntax, length: Int = 1) {
        self.line = line; self.column = column; self.message = message; self.kind = kind; self.length = max(1, length)
    }

    /// The error as `nft -f` prints it: `FILE:LINE:FIRST-LAST: Error: ...`, the line itself, and
    /// carets under the token (tabs kept, so they line up).
    public func nftText(source: String, file: String = "ruleset") -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let text = line >= 1 && line <= lines.count ? String(lines[line - 1]) : ""
        let pad = String(text.prefix(column - 1).map { $0 == "\t" ? "\t" : " " })
        return "\(file):\(line):\(column)-\(column + length - 1): Error: \(message)\n\(text)\n\(pad)\(String(repeating: "^", count: length))"
    }
}

/// Splits nft text into words (names, numbers, addresses, ranges), strings, punctuation and
/// newlines (which end statements like `;`). `#` starts a comment.
struct NFLexer {
    static func tokenize(_ text: String) throws(NFSyntaxError) -> [NFToken] {
        var out: [NFToken] = []
        let b = Array(text.utf8)
        var i = 0, line = 1, col = 1
        func isWordByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2e || c == 0x2d || c == 0x24
        }
        while i < b.count {
            let c = b[i]
            if c == 0x0a { out.append(NFToken(kind: .newline, text: "\n", line: line, column: col)); i += 1; line += 1; col = 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0d { i += 1; col += 1; continue }
            if c == 0x5c, i + 1 < b.count, b[i + 1] == 0x0a { i += 2; line += 1; col = 1; continue }   // line continuation
            if c == 0x23 {
                var j = i
                while j < b.count && b[j] != 0x0a { j += 1 }
                let comment = String(decoding: b[(i + 1)..<j], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                // A stored version: `# handle 7 # iptables: -A INPUT -j ACCEPT`.
                let parts = comment.split(separator: "# iptables: ", maxSplits: 1)
                if comment.hasPrefix("handle "), let h = Int(parts[0].dropFirst(7).trimmingCharacters(in: .whitespaces)) {
                    out.append(NFToken(kind: .handle, text: String(h), line: line, column: col))
                    if parts.count == 2 { out.append(NFToken(kind: .iptables, text: String(parts[1]), line: line, column: col)) }
                }
                col += j - i; i = j
                continue
            }
            if c == 0x22 {
                let startCol = col
                var j = i + 1
                while j < b.count && b[j] != 0x22 && b[j] != 0x0a { j += 1 }
                // (nft's scanner has no token for it: bison's "unexpected junk", and what it expected.)
                guard j < b.count, b[j] == 0x22 else { throw NFSyntaxError(line: line, column: startCol, message: "syntax error, unexpected junk (an unterminated string)") }
                out.append(NFToken(kind: .string, text: String(decoding: b[(i + 1)..<j], as: UTF8.self), line: line, column: startCol))
                col += j + 1 - i; i = j + 1
                continue
            }
            if isWordByte(c) {
                var j = i
                // nft identifiers start with a letter and may hold '/' (kube-proxy's chain names:
                // service-X/ns/tcp/p80); an address or prefix starts with a digit and keeps '/' apart.
                let identifier = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                // A word may carry a ':' inside an IPv6-less address:port only when a digit follows (198.18.1.2:80).
                func slashJoins(_ j: Int) -> Bool {
                    guard identifier, b[j] == 0x2f, j + 1 < b.count, isWordByte(b[j + 1]) else { return false }
                    // `10 kbytes/second` is a rate, not a name.
                    var k = j + 1
                    while k < b.count && isWordByte(b[k]) { k += 1 }
                    return !["second", "minute", "hour", "day", "week"].contains(String(decoding: b[(j + 1)..<k], as: UTF8.self))
                }
                while j < b.count && (isWordByte(b[j]) || slashJoins(j) || (b[j] == 0x3a && j + 1 < b.count && b[j + 1] >= 0x30 && b[j + 1] <= 0x39 && j > i && b[i] >= 0x30 && b[i] <= 0x39 && b[i..<j].contains(0x2e))) { j += 1 }
                out.append(NFToken(kind: .word, text: String(decoding: b[i..<j], as: UTF8.self), line: line, column: col))
                col += j - i; i = j
                continue
            }
            let two = i + 1 < b.count ? String(decoding: b[i...(i + 1)], as: UTF8.self) : ""
            if ["!=", "<=", ">=", "==", "<<", ">>"].contains(two) {
                out.append(NFToken(kind: .punct, text: two, line: line, column: col)); i += 2; col += 2; continue
            }
            if "{};,:/!<>=&|()@*[]+^".utf8.contains(c) {
                out.append(NFToken(kind: .punct, text: String(UnicodeScalar(c)), line: line, column: col)); i += 1; col += 1; continue
            }
            throw NFSyntaxError(line: line, column: col, message: "syntax error, unexpected junk (the character '\(UnicodeScalar(c))')")
        }
        out.append(NFToken(kind: .end, text: "", line: line, column: col))
        return out
    }
}
