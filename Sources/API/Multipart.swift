import Foundation
import HTTPServer

/// A `multipart/form-data` body as `curl -F name=@file` sends it: each part's field name, file
/// name and bytes. A ruleset and the files its `include` lines name travel this way.
struct MultipartPart {
    var name: String
    var filename: String?
    var body: [UInt8]
}

enum Multipart {
    /// The boundary of a `multipart/form-data` content type, nil for any other type.
    static func boundary(_ contentType: String?) -> String? {
        guard let ct = contentType, ct.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for param in ct.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" { return kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }

    static func parse(_ body: [UInt8], boundary: String) throws(Problem) -> [MultipartPart] {
        let bad = { (m: String) in Problem.badRequest("multipart", "multipart/form-data body: \(m)") }
        let delimiter = Array("--\(boundary)".utf8)
        guard !boundary.isEmpty, var at = find(delimiter, in: body, from: 0) else { throw bad("no boundary line") }
        var parts: [MultipartPart] = []
        while true {
            at += delimiter.count
            if body[at...].starts(with: Array("--".utf8)) { break }   // the closing delimiter
            guard body[at...].starts(with: [13, 10]) else { throw bad("a boundary line is not followed by CRLF") }
            at += 2
            guard let headersEnd = find([13, 10, 13, 10], in: body, from: at) else { throw bad("a part has no end of headers") }
            let headers = String(decoding: body[at..<headersEnd], as: UTF8.self)
            let start = headersEnd + 4
            guard let next = find([13, 10] + delimiter, in: body, from: start) else { throw bad("a part is not closed by the boundary") }
            var name: String? = nil, filename: String? = nil
            for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                name = param(String(line), "name")
                filename = param(String(line), "filename")
            }
            guard let name else { throw bad("a part has no Content-Disposition name") }
            parts.append(MultipartPart(name: name, filename: filename, body: Array(body[start..<next])))
            at = next + 2
        }
        return parts
    }

    /// `name="x"` in a Content-Disposition line.
    private static func param(_ line: String, _ key: String) -> String? {
        for p in line.split(separator: ";").dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == key { return kv[1].hasPrefix("\"") && kv[1].hasSuffix("\"") && kv[1].count >= 2 ? String(kv[1].dropFirst().dropLast()) : kv[1] }
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard needle.count <= hay.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
