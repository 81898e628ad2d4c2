import Foundation

/// An ASCII letter in lower case, any other byte as it is (header names and media types are ASCII tokens).
@inline(__always) func asciiLowercased(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }

/// A header field; names are lower case in requests.
public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// A request as the application sees it, whichever HTTP version carried it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, still percent-encoded.
    public var path: String
    /// The raw query string after `?`, or "".
    public var query: String
    /// Header names are lower-case; order is kept.
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    /// The body when the server wrote it to a temporary file as it arrived (then `body` is
    /// empty): media types in `ServerConfig.spooledMediaTypes`.
    public var spooled: SpooledBody? = nil
    /// "HTTP/1.1", "HTTP/1.0" or "HTTP/2".
    public var version: String

    public init(method: String, target: String, headers: [HTTPHeader] = [], body: [UInt8] = [], version: String = "HTTP/1.1") {
        self.method = method
        var t = target
        let q = t.withUTF8 { $0.firstIndex(of: UInt8(ascii: "?")) }
        if let q {
            let i = target.utf8.index(target.utf8.startIndex, offsetBy: q)
            path = String(target[..<i]); query = String(target[target.utf8.index(after: i)...])
        } else {
            path = target; query = ""
        }
        self.headers = headers; self.body = body; self.version = version
    }

    public func header(_ name: String) -> String? {
        headers.first(where: { $0.name == name })?.value
    }

    /// The body's media type: Content-Type without parameters, lower case ("" when absent).
    public var mediaType: String { HTTPRequest.mediaType(headers) }

    static func mediaType(_ headers: [HTTPHeader]) -> String {
        guard let v = headers.first(where: { $0.name == "content-type" })?.value else { return "" }
        // Bytes up to the first `;`, without spaces and tabs around them, lower case (a media type
        // is ASCII; anything else is left as it is). Foundation's split/trim/lowercase took a
        // sixth of a one-packet injection.
        // Already bare and lower case (as clients send it): the header's own string, nothing copied.
        if !v.utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 == 0x20 || $0 == 0x09 || (0x41...0x5a).contains($0) }) { return v }
        return v.utf8.withContiguousStorageIfAvailable { mediaType(of: $0) } ?? Array(v.utf8).withUnsafeBufferPointer { mediaType(of: $0) }
    }

    private static func mediaType(of b: UnsafeBufferPointer<UInt8>) -> String {
        var end = b.firstIndex(of: UInt8(ascii: ";")) ?? b.count
        var start = 0
        while start < end, b[start] == 0x20 || b[start] == 0x09 { start += 1 }
        while end > start, b[end - 1] == 0x20 || b[end - 1] == 0x09 { end -= 1 }
        return String(decoding: b[start..<end].map(asciiLowercased), as: UTF8.self)
    }
}

/// A request body written to an unlinked temporary file as it arrived, so an upload of any size
/// costs disk, not memory; read it in pieces. The file goes with the last reference.
public final class SpooledBody: @unchecked Sendable {
    private let fd: Int32
    /// Bytes written so far (the whole body once the request is dispatched).
    public private(set) var count = 0

    /// A new empty file in `directory`; nil (with errno) when none can be made.
    public init?(directory: String) {
        var path = Array("\(directory)/packetstack-body-XXXXXX".utf8CString)
        let fd = path.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        _ = path.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends what arrived; false (with errno) when the disk refused it.
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        count += done
        return true
    }

    /// Up to `max` bytes from `offset` (fewer at the end; none past it).
    public func read(at offset: Int, max: Int) -> [UInt8] {
        let n = Swift.max(0, Swift.min(max, count - offset))
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, n - got, off_t(offset + got)) }
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { break }
            got += r
        }
        return got == n ? out : Array(out[0..<got])
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Extra headers; Date, Content-Length and Connection are the server's.
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    /// A body made piece by piece after the head (then `body` is unused): chunked transfer coding
    /// on HTTP/1.1, DATA frames as they come on HTTP/2.
    public var stream: ResponseStream? = nil
    /// Sent as X-Request-Id after `headers`. Apart from them because it differs in every answer
    /// while the rest are often a shared constant that appending to would copy.
    public var requestID: String? = nil

    public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }
    public init(status: Int, contentType: String, body: String) {
        self.init(status: status, headers: [HTTPHeader("content-type", contentType)], body: Array(body.utf8))
    }

    /// An RFC 9457 problem document built without the application (limits, parse errors).
    public static func problem(_ status: Int, title: String, detail: String) -> HTTPResponse {
        let body = "{\"type\":\"about:blank\",\"title\":\(jsonQuote(title)),\"status\":\(status),\"detail\":\(jsonQuote(detail))}"
        return HTTPResponse(status: status, contentType: "application/problem+json", body: body)
    }

    public static func jsonQuote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += "\\u00" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// The seam between the server and the application: the server knows nothing about packets.
public protocol HTTPHandler: Sendable {
    /// True when the answer is cheap and may be computed on the event-loop thread (e.g. /healthz).
    /// Everything else runs on the worker pool so a long request never stalls other connections.
    func isInline(_ request: HTTPRequest) -> Bool
    /// True for work that may run long (simulations, ruleset loads): at most all workers but one
    /// run such requests at a time, so reads queued behind a flood of them are still answered.
    func isHeavy(_ request: HTTPRequest) -> Bool
    func respond(to request: HTTPRequest) -> HTTPResponse
    /// The answer when the request is inline, else nil (then it goes to a worker): one lookup
    /// where `isInline` then `respond` would make two.
    func respondInline(to request: HTTPRequest) -> HTTPResponse?
}

public extension HTTPHandler {
    func respondInline(to request: HTTPRequest) -> HTTPResponse? { isInline(request) ? respond(to: request) : nil }
    /// Changes are heavy, reads light.
    func isHeavy(_ request: HTTPRequest) -> Bool { request.method != "GET" && request.method != "HEAD" }
}

public enum HTTPStatus {
    public static func reason(_ code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        case 507: "Insufficient Storage"
        default: "Status \(code)"
        }
    }
}

/// A response body produced in pieces by the worker that answered: `next` gives the next piece
/// (nil at the end). The worker waits while the client has not taken what was sent before
/// (at most two pieces ahead), and stops when the client goes away.
public final class ResponseStream: @unchecked Sendable {
    public let next: () -> [UInt8]?
    public init(_ next: @escaping () -> [UInt8]?) { self.next = next }
}

/// The worker's permission to make the next piece of a stream: the loop gives it back once the
/// previous pieces are on their way to the client, or cancels it when the client is gone.
final class StreamCredit: @unchecked Sendable {
    private let cond = NSCondition()
    private var credits = 2
    private var cancelled = false

    /// Waits for a credit; false when the client went away.
    func acquire() -> Bool {
        cond.lock(); defer { cond.unlock() }
        while credits == 0 && !cancelled { cond.wait() }
        if cancelled { return false }
        credits -= 1
        return true
    }
    func release() { cond.lock(); credits += 1; cond.signal(); cond.unlock() }
    func cancel() { cond.lock(); cancelled = true; cond.signal(); cond.unlock() }
}
