import Foundation
import HTTPServer
import Synchronization

/// Per-request bookkeeping: a request id, one access-log line and the HTTP metrics.
/// Counts only requests that reach the application; the server's own refusals (413, 431,
/// timeouts) are answered before a request exists.
public final class RequestLog: @unchecked Sendable {
    public enum Format: String, Sendable { case off, logfmt, json }

    let format: Format
    private let lock = NSLock()
    private let nextID = Atomic<UInt64>(0)
    /// One per "METHOD template" (its slot): requests by status, and the latency histogram.
    private var routes: [RouteStats] = []
    private var slots: [String: Int] = [:]
    private let sink: @Sendable (String) -> Void

    struct RouteStats {
        let route: String
        /// (status, requests), in the order statuses were first seen: a route answers few.
        var statuses: [(status: Int, count: Int)] = []
        var latency = Histogram()

        /// One answer (a single access to the table: each one is an exclusivity check).
        mutating func observe(status: Int, seconds: Double) {
            if let i = statuses.firstIndex(where: { $0.status == status }) {
                statuses[i].count += 1
            } else {
                statuses.append((status, 1))
            }
            latency.observe(seconds)
        }
    }

    /// Seconds; the last bucket is +Inf.
    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        /// Observations by the first bound they are under (the exposition sums them up).
        private var under = [Int](repeating: 0, count: RequestLog.bounds.count)
        var count = 0
        var sum = 0.0
        mutating func observe(_ s: Double) {
            count += 1; sum += s
            if let i = RequestLog.bounds.firstIndex(where: { s <= $0 }) { under[i] += 1 }
        }
        /// Cumulative, as Prometheus buckets are: observations at or under each bound.
        var buckets: [Int] {
            var total = 0
            return under.map { total += $0; return total }
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
        let n = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        // The prefix and the hex digits written in place: String(n, radix:) and a concatenation
        // were a fifth of a /healthz answer's time in the application.
        var digits = 1
        while digits < 16 && n >> (4 * UInt64(digits)) != 0 { digits += 1 }
        var prefix = idPrefix
        return prefix.withUTF8 { p in
            String(unsafeUninitializedCapacity: p.count + digits) { out in
                _ = out.initialize(from: p)
                for k in 0..<digits {
                    let d = UInt8((n >> (4 * UInt64(digits - 1 - k))) & 0xf)
                    out[p.count + k] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10
                }
                return p.count + digits
            }
        }
    }

    /// The slot that counts requests of `route` ("METHOD template"), made once per route.
    func slot(for route: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        if let s = slots[route] { return s }
        routes.append(RouteStats(route: route))
        slots[route] = routes.count - 1
        return routes.count - 1
    }

    func record(_ req: HTTPRequest, slot: Int, response: HTTPResponse, id: String, seconds: Double) {
        lock.lock()
        routes[slot].observe(status: response.status, seconds: seconds)
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
        lock.lock(); let used = routes.filter { $0.latency.count > 0 }.sorted { $0.route < $1.route }; lock.unlock()
        var out = "# HELP packetstack_http_requests_total Requests answered by the application, by route and status.\n# TYPE packetstack_http_requests_total counter\n"
        for r in used {
            for s in r.statuses.sorted(by: { $0.status < $1.status }) {
                out += "packetstack_http_requests_total{route=\"\(r.route)\",status=\"\(s.status)\"} \(s.count)\n"
            }
        }
        out += "# HELP packetstack_http_request_duration_seconds Time from routing to answer, by route.\n# TYPE packetstack_http_request_duration_seconds histogram\n"
        for route in used {
            let r = route.route, h = route.latency, buckets = h.buckets
            for (i, b) in Self.bounds.enumerated() {
                out += "packetstack_http_request_duration_seconds_bucket{route=\"\(r)\",le=\"\(b)\"} \(buckets[i])\n"
            }
            out += "packetstack_http_request_duration_seconds_bucket{route=\"\(r)\",le=\"+Inf\"} \(h.count)\n"
            out += "packetstack_http_request_duration_seconds_sum{route=\"\(r)\"} \(h.sum)\n"
            out += "packetstack_http_request_duration_seconds_count{route=\"\(r)\"} \(h.count)\n"
        }
        return out
    }
}
