import Foundation

/// Incremental HTTP/1.1 request parser (RFC 9112) over a connection's read buffer.
/// It never consumes past one request, so pipelined requests come out one at a time, in order.
public struct HTTP1Parser {
    struct Head {
        var method: String
        var target: String
        var version: String
        var headers: [HTTPHeader]
        var headEnd: Int
        var contentLength: Int
        var chunked: Bool
        var keepAlive: Bool
        var expectContinue: Bool
        var h2cSettings: [UInt8]?
    }

    public enum Result {
        case needMore
        /// The head is complete and the client waits for `100 Continue` before sending the body.
        case wantsContinue
        case request(HTTPRequest, consumed: Int, keepAlive: Bool, h2cSettings: [UInt8]?)
        /// The head of a request whose body goes to a file (a spooled media type): the body is
        /// the `length` bytes after `consumed`, which the caller takes from here on.
        case spool(HTTPRequest, consumed: Int, length: Int, keepAlive: Bool, expectContinue: Bool)
        case error(status: Int, detail: String)
    }

    let maxHeaderBytes: Int
    let maxBodyBytes: Int
    let spooledMediaTypes: Set<String>
    let maxSpooledBodyBytes: Int
    private var head: Head?
    private var scannedTo = 0
    private var continueSent = false
    /// Where the next chunk header starts in the buffer (0: no chunked body under way), and the
    /// chunks decoded before it.
    private var chunkResume = 0
    private var chunkBody: [UInt8] = []

    public init(maxHeaderBytes: Int, maxBodyBytes: Int, spooledMediaTypes: Set<String> = [], maxSpooledBodyBytes: Int = 0) {
        self.maxHeaderBytes = maxHeaderBytes; self.maxBodyBytes = maxBodyBytes
        self.spooledMediaTypes = spooledMediaTypes; self.maxSpooledBodyBytes = maxSpooledBodyBytes
    }

    /// True while part of a request head has arrived (the header timeout runs).
    func inHead(_ buffer: [UInt8], from start: Int) -> Bool { head == nil && buffer.count > start }
    /// The head is in and its body is still arriving.
    var inBody: Bool { head != nil }

    public mutating func next(_ b: [UInt8], from start: Int) -> Result {
        if head == nil {
            // Skip the empty lines RFC 9112 §2.2 allows before a request line.
            var s = start
            while s + 1 < b.count, b[s] == 13, b[s + 1] == 10 { s += 2 }
            guard let end = findHeadEnd(b, from: s) else {
                if b.count - s > maxHeaderBytes {
                    return .error(status: 431, detail: "request line and headers exceed \(maxHeaderBytes) bytes")
                }
                return .needMore
            }
            if end - s > maxHeaderBytes {
                return .error(status: 431, detail: "request line and headers exceed \(maxHeaderBytes) bytes")
            }
            switch parseHead(b, from: s, end: end) {
            case .failure(let e): return .error(status: e.status, detail: e.detail)
            case .success(let h):
                if !h.chunked && spooledMediaTypes.contains(HTTPRequest.mediaType(h.headers)) {
                    if h.contentLength > maxSpooledBodyBytes {
                        return .error(status: 413, detail: "body of \(h.contentLength) bytes exceeds the limit of \(maxSpooledBodyBytes) for \(HTTPRequest.mediaType(h.headers))")
                    }
                    scannedTo = 0
                    let req = HTTPRequest(method: h.method, target: h.target, headers: h.headers, version: h.version)
                    return .spool(req, consumed: h.headEnd, length: h.contentLength, keepAlive: h.keepAlive, expectContinue: h.expectContinue)
                }
                if h.contentLength > maxBodyBytes {
                    return .error(status: 413, detail: "body of \(h.contentLength) bytes exceeds the limit of \(maxBodyBytes)")
                }
                head = h; continueSent = false; chunkResume = 0; chunkBody = []
            }
        }
        guard let h = head else { return .needMore }
        var body: [UInt8]
        var consumed: Int
        if h.chunked {
            switch decodeChunked(b, from: h.headEnd) {
            case .incomplete:
                return continueOnce(h)
            case .tooLarge:
                return .error(status: 413, detail: "chunked body exceeds the limit of \(maxBodyBytes) bytes")
            case .trailersTooLarge:
                return .error(status: 431, detail: "trailer fields exceed \(maxHeaderBytes) bytes")
            case .bad(let why):
                return .error(status: 400, detail: why)
            case .done(let decoded, let end):
                body = decoded; consumed = end
            }
        } else {
            guard b.count - h.headEnd >= h.contentLength else { return continueOnce(h) }
            body = Array(b[h.headEnd..<(h.headEnd + h.contentLength)])
            consumed = h.headEnd + h.contentLength
        }
        head = nil; scannedTo = 0
        let req = HTTPRequest(method: h.method, target: h.target, headers: h.headers, body: body, version: h.version)
        return .request(req, consumed: consumed, keepAlive: h.keepAlive, h2cSettings: h.h2cSettings)
    }

    private mutating func continueOnce(_ h: Head) -> Result {
        if h.expectContinue && !continueSent { continueSent = true; return .wantsContinue }
        return .needMore
    }

    private mutating func findHeadEnd(_ b: [UInt8], from s: Int) -> Int? {
        var i = max(s, scannedTo - 3)
        while i + 3 < b.count {
            if b[i] == 13, b[i + 1] == 10, b[i + 2] == 13, b[i + 3] == 10 { return i + 4 }
            i += 1
        }
        scannedTo = b.count
        return nil
    }

    struct HeadError: Error { var status: Int; var detail: String }

    private func parseHead(_ b: [UInt8], from s: Int, end: Int) -> Swift.Result<Head, HeadError> {
        b.withUnsafeBufferPointer { parseHead($0, from: s, end: end) }
    }

    /// One pass over the head's bytes, each line taken where it lies (no list of lines, no
    /// slices split apart): this was most of a small HTTP/1.1 request's time.
    private func parseHead(_ b: UnsafeBufferPointer<UInt8>, from s: Int, end: Int) -> Swift.Result<Head, HeadError> {
        // Lines end in CRLF; the final empty line is excluded. A lone CR stays inside its line.
        let stop = end - 2
        func lineEnd(from start: Int) -> Int? {
            var i = start
            while i < stop {
                if b[i] == 13, i + 1 < stop, b[i + 1] == 10 { return i }
                i += 1
            }
            return nil
        }
        func text(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self) }
        guard let firstEnd = lineEnd(from: s) else { return .failure(HeadError(status: 400, detail: "empty request line")) }
        // The request line: exactly three parts between two single spaces.
        var sp1 = -1, sp2 = -1, spaces = 0
        for i in s..<firstEnd where b[i] == 0x20 {
            spaces += 1
            if spaces == 1 { sp1 = i } else if spaces == 2 { sp2 = i }
        }
        guard spaces == 2, sp1 > s, sp2 > sp1 + 1, (s..<sp1).allSatisfy({ isTChar(b[$0]) }) else {
            return .failure(HeadError(status: 400, detail: "malformed request line"))
        }
        let method = text(s, sp1)
        var target = text(sp1 + 1, sp2)
        let version = text(sp2 + 1, firstEnd)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            if version.hasPrefix("HTTP/") { return .failure(HeadError(status: 505, detail: "unsupported version \(version)")) }
            return .failure(HeadError(status: 400, detail: "malformed request line"))
        }
        if target.hasPrefix("http://") {
            // absolute-form: keep the path part
            let rest = target.dropFirst(7)
            target = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        guard target.hasPrefix("/") || target == "*" else {
            return .failure(HeadError(status: 400, detail: "request target must be origin-form"))
        }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return .failure(HeadError(status: 400, detail: "request target has invalid characters"))
        }
        var headers: [HTTPHeader] = []
        headers.reserveCapacity(8)
        var contentLength: Int? = nil
        var te: String? = nil
        var connectionTokens: [String] = []
        var upgrade = ""
        var settings: String? = nil
        var expect = false
        var ls = firstEnd + 2
        var nameBuffer: [UInt8] = []
        while let le = lineEnd(from: ls) {
            defer { ls = le + 2 }
            var colon = ls
            while colon < le && b[colon] != 0x3a { colon += 1 }
            guard colon < le, colon > ls else {
                return .failure(HeadError(status: 400, detail: "malformed header line"))
            }
            guard (ls..<colon).allSatisfy({ isTChar(b[$0]) }) else {
                return .failure(HeadError(status: 400, detail: "invalid header name"))
            }
            var vs = colon + 1, ve = le
            while vs < ve, b[vs] == 0x20 || b[vs] == 0x09 { vs += 1 }
            while ve > vs, b[ve - 1] == 0x20 || b[ve - 1] == 0x09 { ve -= 1 }
            guard (vs..<ve).allSatisfy({ b[$0] == 0x09 || (b[$0] >= 0x20 && b[$0] != 0x7f) }) else {
                return .failure(HeadError(status: 400, detail: "invalid header value"))
            }
            // Names are tokens (ASCII): lower case byte by byte.
            nameBuffer.removeAll(keepingCapacity: true)
            for i in ls..<colon { nameBuffer.append(asciiLowercased(b[i])) }
            let name = String(decoding: nameBuffer, as: UTF8.self)
            let value = text(vs, ve)
            headers.append(HTTPHeader(name, value))
            switch name {
            case "content-length":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), value.utf8.count <= 18,
                      let n = Int(value) else {
                    return .failure(HeadError(status: 400, detail: "invalid Content-Length"))
                }
                if let c = contentLength, c != n { return .failure(HeadError(status: 400, detail: "conflicting Content-Length headers")) }
                contentLength = n
            case "transfer-encoding": te = (te.map { $0 + "," } ?? "") + value.lowercased()
            case "connection": connectionTokens += value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case "upgrade": upgrade = value.lowercased()
            case "http2-settings": settings = value
            case "expect": expect = value.lowercased() == "100-continue"
            default: break
            }
        }
        var chunked = false
        if let te {
            if contentLength != nil { return .failure(HeadError(status: 400, detail: "both Transfer-Encoding and Content-Length")) }
            let codings = te.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard codings.last == "chunked" else {
                return .failure(HeadError(status: 501, detail: "unsupported transfer coding \(te)"))
            }
            guard codings.count == 1 else { return .failure(HeadError(status: 501, detail: "only chunked transfer coding is supported")) }
            chunked = true
        }
        let keepAlive = version == "HTTP/1.1" ? !connectionTokens.contains("close") : connectionTokens.contains("keep-alive")
        var h2c: [UInt8]? = nil
        if version == "HTTP/1.1", connectionTokens.contains("upgrade"),
           upgrade.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "h2c" }),
           let settings, let decoded = base64URLDecode(settings) {
            h2c = decoded
        }
        return .success(Head(method: method, target: target, version: version, headers: headers, headEnd: end,
                             contentLength: contentLength ?? 0, chunked: chunked, keepAlive: keepAlive,
                             expectContinue: expect && version == "HTTP/1.1", h2cSettings: h2c))
    }

    enum Chunked { case incomplete, tooLarge, trailersTooLarge, bad(String), done([UInt8], Int) }

    /// Decodes from where the last call stopped (the chunks before it are already in `chunkBody`),
    /// so a large chunked body costs linear time however it trickles in.
    private mutating func decodeChunked(_ b: [UInt8], from start: Int) -> Chunked {
        if chunkResume == 0 { chunkResume = start; chunkBody = [] }
        var i = chunkResume
        while true {
            // chunk-size [; ext] CRLF
            var size = 0
            var digits = 0
            while i < b.count, let d = hexValue(b[i]) {
                size = size * 16 + d; digits += 1; i += 1
                if digits > 8 { return .tooLarge }
            }
            if i >= b.count { return .incomplete }
            if digits == 0 { return .bad("malformed chunk size") }
            // A chunk extension is bounded (it used to be rescanned without end: quadratic time).
            let extStart = i
            while i < b.count, b[i] != 13 {
                if b[i] == 10 { return .bad("bare LF in chunk header") }
                i += 1
                if i - extStart > ChunkLimits.maxExtension { return .bad("chunk extension longer than \(ChunkLimits.maxExtension) bytes") }
            }
            if i + 1 >= b.count { return .incomplete }
            guard b[i + 1] == 10 else { return .bad("malformed chunk header") }
            i += 2
            if size == 0 {
                // trailer fields until an empty line, within the header size limit
                let trailerStart = i
                while true {
                    guard let lineEnd = findCRLF(b, from: i) else {
                        return b.count - trailerStart > maxHeaderBytes ? .trailersTooLarge : .incomplete
                    }
                    if lineEnd - trailerStart > maxHeaderBytes { return .trailersTooLarge }
                    let empty = lineEnd == i
                    i = lineEnd + 2
                    if empty {
                        let body = chunkBody
                        chunkResume = 0; chunkBody = []
                        return .done(body, i)
                    }
                }
            }
            if chunkBody.count + size > maxBodyBytes { return .tooLarge }
            if b.count < i + size + 2 { return .incomplete }
            chunkBody.append(contentsOf: b[i..<(i + size)])
            i += size
            guard b[i] == 13, b[i + 1] == 10 else { return .bad("chunk data not followed by CRLF") }
            i += 2
            chunkResume = i
        }
    }

    private func findCRLF(_ b: [UInt8], from s: Int) -> Int? {
        var i = s
        while i + 1 < b.count { if b[i] == 13 && b[i + 1] == 10 { return i }; i += 1 }
        return nil
    }
}

@inline(__always) private func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 0x30...0x39: Int(c - 0x30)
    case 0x61...0x66: Int(c - 0x61 + 10)
    case 0x41...0x46: Int(c - 0x41 + 10)
    default: nil
    }
}

/// RFC 9110 token characters.
@inline(__always) func isTChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2a, 0x2b, 0x2d, 0x2e, 0x5e, 0x5f, 0x60, 0x7c, 0x7e: true
    default: false
    }
}

/// HTTP2-Settings is base64url without padding (RFC 7540 §3.2.1).
func base64URLDecode(_ s: String) -> [UInt8]? {
    var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while t.count % 4 != 0 { t += "=" }
    return Data(base64Encoded: t).map { Array($0) }
}

/// Bounds of the chunked coding's own syntax.
enum ChunkLimits {
    /// Longest chunk extension (`; name=value`) accepted on a chunk-size line.
    static let maxExtension = 4096
}
