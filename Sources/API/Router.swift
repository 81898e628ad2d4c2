import Foundation
import HTTPServer

/// Method + path template routing; `{name}` segments capture one path segment.
/// Templates without parameters are found with one dictionary lookup (the hot path: /healthz).
struct Router: Sendable {
    typealias Handler = @Sendable (HTTPRequest, [String: String]) throws(Problem) -> HTTPResponse

    struct Route: Sendable {
        var method: String
        var template: String
        var segments: [String]
        var inline: Bool
        var handler: Handler
        /// Its place in `routes`.
        var index: Int
    }

    private(set) var routes: [Route] = []
    /// Templates without parameters by their length in bytes, each with its (method, route
    /// index) pairs: a request compares its path with the few of its length, no hashing.
    private var exact: [[(path: String, methods: [(method: String, index: Int)])]] = []

    mutating func add(_ method: String, _ template: String, inline: Bool = false, _ handler: @escaping Handler) {
        let segments = template.split(separator: "/").map(String.init)
        routes.append(Route(method: method, template: template, segments: segments, inline: inline, handler: handler, index: routes.count))
        if !template.contains("{") {
            let n = template.utf8.count
            while exact.count <= n { exact.append([]) }
            if let i = exact[n].firstIndex(where: { $0.path == template }) {
                exact[n][i].methods.append((method, routes.count - 1))
            } else {
                exact[n].append((template, [(method, routes.count - 1)]))
            }
        }
    }

    /// A route by its index in `routes` (a Route copied out would retain each of its fields).
    enum Match { case found(Int, [String: String]), wrongMethod(allowed: [String]), none }

    func match(method: String, path: String) -> Match {
        let n = path.utf8.count
        if n < exact.count, let byMethod = exact[n].first(where: { $0.path == path })?.methods {
            if let m = byMethod.first(where: { $0.method == method }) ?? (method == "HEAD" ? byMethod.first(where: { $0.method == "GET" }) : nil) {
                return .found(m.index, [:])
            }
            return .wrongMethod(allowed: allowedList(byMethod.map(\.method)))
        }
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        var allowed: [String] = []
        for r in routes where r.segments.count == parts.count && r.template.contains("{") {
            var params: [String: String] = [:]
            var ok = true
            for (t, p) in zip(r.segments, parts) {
                if t.hasPrefix("{") {
                    guard !p.isEmpty, let decoded = String(decoding: p, as: UTF8.self).removingPercentEncoding else { ok = false; break }
                    params[String(t.dropFirst().dropLast())] = decoded
                } else if !t.utf8.elementsEqual(p) { ok = false; break }
            }
            guard ok else { continue }
            if r.method == method || (method == "HEAD" && r.method == "GET") { return .found(r.index, params) }
            allowed.append(r.method)
        }
        return allowed.isEmpty ? .none : .wrongMethod(allowed: allowedList(allowed))
    }

    private func allowedList(_ methods: [String]) -> [String] {
        let order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        var m = Set(methods)
        if m.contains("GET") { m.insert("HEAD") }
        return order.filter { m.contains($0) }
    }
}
