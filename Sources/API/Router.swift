import Foundation
import HTTPServer

/// Method + path template routing; `{name}` segments capture one path segment.
/// Templates without parameters are found among the few of the path's length (the hot path:
/// /healthz); templated ones are compiled into literal and parameter segments when added.
struct Router: Sendable {
    typealias Handler = @Sendable (HTTPRequest, Params) throws(Problem) -> HTTPResponse
    /// Answers on the loop thread when that cannot make it wait, else nil (then `handler` runs on a worker).
    typealias TryHandler = @Sendable (HTTPRequest, Params) throws(Problem) -> HTTPResponse?

    /// A template's segment, compiled when the route is added.
    enum Segment: Sendable { case literal([UInt8]), param }

    struct Route: Sendable {
        var method: String
        var template: String
        var segments: [Segment]
        /// The `{name}`s in template order.
        var names: [String]
        var inline: Bool
        var handler: Handler
        /// For a route that is cheap when uncontended (a small injection): tried on the loop thread first.
        var tryInline: TryHandler? = nil
        /// The same answer to every request (/healthz, the OpenAPI document): no handler call.
        var constant: HTTPResponse? = nil
    }

    /// A matched route's captures (`p["stack"]`): a route has one to three, so a look-up walks
    /// them; a dictionary per request hashed every name and value.
    struct Params: Sendable, ExpressibleByDictionaryLiteral {
        private var names: [String] = [], values: [String] = []
        init(names: [String], values: [String]) { self.names = names; self.values = values }
        init(dictionaryLiteral elements: (String, String)...) { names = elements.map(\.0); values = elements.map(\.1) }
        subscript(_ name: String) -> String? { names.firstIndex(of: name).map { values[$0] } }
    }

    private(set) var routes: [Route] = []
    /// Indices of the routes with `{name}` segments, in the order they were added.
    private var templated: [Int] = []
    /// Templates without parameters by their length in bytes, each with its (method, route
    /// index) pairs: a request compares its path with the few of its length, no hashing.
    private var exact: [[(path: String, methods: [(method: String, index: Int)])]] = []

    /// A route that always answers `response`, on the loop thread.
    mutating func add(_ method: String, _ template: String, constant response: HTTPResponse) {
        add(method, template, inline: true) { _, _ in response }
        routes[routes.count - 1].constant = response
    }

    /// A route tried on the loop thread first (`tryInline`), run on a worker when that answers nil.
    mutating func add(_ method: String, _ template: String, tryInline: @escaping TryHandler, _ handler: @escaping Handler) {
        add(method, template, handler)
        routes[routes.count - 1].tryInline = tryInline
    }

    mutating func add(_ method: String, _ template: String, inline: Bool = false, _ handler: @escaping Handler) {
        let words = template.split(separator: "/").map(String.init)
        let segments: [Segment] = words.map { $0.hasPrefix("{") ? .param : .literal(Array($0.utf8)) }
        let names = words.filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
        routes.append(Route(method: method, template: template, segments: segments, names: names, inline: inline, handler: handler))
        if template.contains("{") {
            templated.append(routes.count - 1)
        } else {
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
    enum Match { case found(Int, Params), wrongMethod(allowed: [String]), none }

    func match(method: String, path: String) -> Match {
        let n = path.utf8.count
        if n < exact.count, let byMethod = exact[n].first(where: { $0.path == path })?.methods {
            if let m = byMethod.first(where: { $0.method == method }) ?? (method == "HEAD" ? byMethod.first(where: { $0.method == "GET" }) : nil) {
                return .found(m.index, [:])
            }
            return .wrongMethod(allowed: allowedList(byMethod.map(\.method)))
        }
        let parts = Array(path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst())
        var allowed: [String] = []
        for i in templated where routes[i].segments.count == parts.count {
            let segments = routes[i].segments
            // Literal segments first: a route that does not fit costs no decoding.
            guard zip(segments, parts).allSatisfy({ t, p in
                switch t { case .param: !p.isEmpty; case .literal(let l): l.elementsEqual(p) }
            }) else { continue }
            var values: [String] = []
            var ok = true
            for (t, p) in zip(segments, parts) {
                guard case .param = t else { continue }
                let text = String(decoding: p, as: UTF8.self)
                guard let decoded = p.contains(UInt8(ascii: "%")) ? text.removingPercentEncoding : text else { ok = false; break }
                values.append(decoded)
            }
            guard ok else { continue }
            let m = routes[i].method
            if m == method || (method == "HEAD" && m == "GET") { return .found(i, Params(names: routes[i].names, values: values)) }
            allowed.append(m)
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
