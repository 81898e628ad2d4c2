import Foundation
import HTTPServer

/// Per-request bookkeeping: a request id, one access-log line and the HTTP metrics.
/// Counts only requests that reach the application; the server's own refusals (413, 431,
/// timeouts) are answered before a request exists.
public final class RequestLog: @unchecked Sendable {
    public enum Format: String, Sendable { case off, logfmt, json }

    let format: Format
    private let lock = NSLock()
    private var nextID: UInt64 = 0
    /// Requests by "METHOD template" and status; latency histograms by "METHOD template".
    private var counts: [Key: Int] = [:]
    private var latency: [String: Histogram] = [:]
    private let sink: @Sendable (String) -> Void

    struct Key: Hashable { let route: String; let status: Int }

    /// Seconds; the last bucket is +Inf.
    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var buckets = [Int](repeating: 0, count: RequestLog.bounds.count)
        var count = 0
        var sum = 0.0
        mutating func observe(_ s: Double) {
            count += 1; sum += s
            for (i, b) in RequestLog.bounds.enumerated() where s <= b { buckets[i] += 1 }
        }
    }

    public init(format: Format = .off, sink: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.format = format
        self.sink = sink
        let pid = String(UInt32(truncatingIfNeeded: getpid()), radix: 16)
        idPrefix = String(repeating: "0", count: max(0, 8 - pid.count)) + pid + "-"
    }

    /// "%08x-" of the process id, made once: String(format:) per request was a sixth of a
    /// /healthz request's time.
    private let idPrefix: String

    /// The client's X-Request-Id when it is short and printable, else a new one.
    func requestID(_ req: HTTPRequest) -> String {
        if let given = req.header("x-request-id"), (1...64).contains(given.utf8.count),
           given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return given
        }
        lock.lock(); nextID += 1; let n = nextID; lock.unlock()
        return idPrefix + String(n, radix: 16)
    }

    func record(_ req: HTTPRequest, route: String, response: HTTPResponse, id: String, seconds: Double) {
        lock.lock()
        counts[Key(route: route, status: response.status), default: 0] += 1
        latency[route, default: Histogram()].observe(seconds)
        lock.unlock()
        let ms = (seconds * 1_000_000).rounded() / 1000
        switch format {
        case .off: return
        case .logfmt:
            sink("method=\(req.method) path=\(logfmtQuote(req.path)) status=\(response.status) bytes=\(response.body.count) duration_ms=\(ms) request_id=\(logfmtQuote(id)) version=\(req.version)")
        case .json:
            sink("{\"method\":\(HTTPResponse.jsonQuote(req.method)),\"path\":\(HTTPResponse.jsonQuote(req.path)),\"status\":\(response.status),\"bytes\":\(response.body.count),\"duration_ms\":\(ms),\"request_id\":\(HTTPResponse.jsonQuote(id)),\"version\":\(HTTPResponse.jsonQuote(req.version))}")
        }
    }

    private func logfmtQuote(_ s: String) -> String {
        s.utf8.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") && $0 < 0x7f }) ? s : HTTPResponse.jsonQuote(s)
    }

    /// Prometheus text for the HTTP families.
    func exposition() -> String {
        lock.lock(); let c = counts; let l = latency; lock.unlock()
        var out = "# HELP packetstack_http_requests_total Requests answered by the application, by route and status.\n# TYPE packetstack_http_requests_total counter\n"
        for k in c.keys.sorted(by: { ($0.route, $0.status) < ($1.route, $1.status) }) {
            out += "packetstack_http_requests_total{route=\"\(k.route)\",status=\"\(k.status)\"} \(c[k]!)\n"
        }
        out += "# HELP packetstack_http_request_duration_seconds Time from routing to answer, by route.\n# TYPE packetstack_http_request_duration_seconds histogram\n"
        for r in l.keys.sorted() {
            let h = l[r]!
            for (i, b) in Self.bounds.enumerated() {
                out += "packetstack_http_request_duration_seconds_bucket{route=\"\(r)\",le=\"\(b)\"} \(h.buckets[i])\n"
            }
            out += "packetstack_http_request_duration_seconds_bucket{route=\"\(r)\",le=\"+Inf\"} \(h.count)\n"
            out += "packetstack_http_request_duration_seconds_sum{route=\"\(r)\"} \(h.sum)\n"
            out += "packetstack_http_request_duration_seconds_count{route=\"\(r)\"} \(h.count)\n"
        }
        return out
    }
}
