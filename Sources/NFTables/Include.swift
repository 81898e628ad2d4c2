/// `include "FILE"` as nft reads it: the named file's text in place of the line. The files are
/// the ones the request carries (there is no file system to read); a glob (`"/etc/nftables.d/*.nft"`)
/// takes every matching file in name order and may match none, a plain name must match one.
enum NFInclude {
    /// Where each line of the expanded text came from.
    struct Origin { var file: String?; var line: Int }

    static let maxDepth = 16   // nft's MAX_INCLUDE_DEPTH

    static func expand(_ text: String, files: [String: String]) throws(NFSyntaxError) -> (String, [Origin]) {
        var out: [Substring] = []
        var origins: [Origin] = []
        try splice(text, file: nil, files: files, depth: 0, into: &out, &origins)
        return (out.joined(separator: "\n"), origins)
    }

    private static func splice(_ text: String, file: String?, files: [String: String], depth: Int,
                               into out: inout [Substring], _ origins: inout [Origin]) throws(NFSyntaxError) {
        for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("include ") || trimmed.hasPrefix("include\t") else {
                out.append(line); origins.append(Origin(file: file, line: k + 1)); continue
            }
            let column = line.count - trimmed.count + 1
            func fail(_ m: String, _ kind: NFSyntaxError.Kind = .refused) -> NFSyntaxError {
                var e = NFSyntaxError(line: k + 1, column: column, message: m, kind: kind, length: trimmed.count)
                e.file = file
                return e
            }
            let rest = trimmed.dropFirst(8).drop { $0 == " " || $0 == "\t" }
            guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else { throw fail("syntax error, include expects a quoted file name", .syntax) }
            let path = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...].drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard after.isEmpty || after.hasPrefix("#") else { throw fail("syntax error, one include per line", .syntax) }
            guard depth < maxDepth else { throw fail("Include nested too deeply, max \(maxDepth) levels") }
            let names = matches(path, in: files)
            if names.isEmpty && !path.contains("*") && !path.contains("?") {
                throw fail("File not found: \(path) (the request carries \(files.isEmpty ? "no other files" : files.keys.sorted().joined(separator: ", ")))")
            }
            // The include line itself stays as an empty line, so the lines around it keep their numbers.
            out.append(""); origins.append(Origin(file: file, line: k + 1))
            for n in names { try splice(files[n]!, file: n, files: files, depth: depth + 1, into: &out, &origins) }
        }
    }

    /// The files an include names. A file is named by its path in the request (`nftables.d/lan.nft`):
    /// it matches an include whose last components are that path (`/etc/nftables.d/lan.nft`); a glob
    /// matches component by component, and a bare file name only a glob without directories, so
    /// `extra.nft` is not taken by `/etc/nftables.d/*.nft`. Matches in name order, as nft's glob.
    static func matches(_ path: String, in files: [String: String]) -> [String] {
        let want = path.split(separator: "/").map(String.init)
        let isGlob = path.contains("*") || path.contains("?")
        let found = files.keys.filter { key in
            let have = key.split(separator: "/").map(String.init)
            guard !have.isEmpty, have.count <= want.count else { return false }
            if isGlob && have.count == 1 && want.count > 1 { return false }
            return zip(want.suffix(have.count), have).allSatisfy { isGlob ? glob($0, $1) : $0 == $1 }
        }.sorted()
        return isGlob ? found : Array(found.prefix(1))
    }

    /// fnmatch without flags: `*` and `?` match any characters, `/` included.
    static func glob(_ pattern: String, _ s: String) -> Bool {
        let p = Array(pattern), t = Array(s)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] { pi += 1; ti += 1 }
            else if pi < p.count, p[pi] == "*" { star = pi; mark = ti; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
