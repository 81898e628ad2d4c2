import Foundation
import HTTPServer

/// Method + path template routing; `{name}` segments capture one path segment.
struct Router: Sendable {
    typealias Handler = @Sendable (HTTPRequest, [String: String]) throws(Problem) -> HTTPResponse

    struct Route: Sendable {
        var method: String
        var template: String
        var segments: [String]
        var inline: Bool
        var handler: Handler
    }

    private(set) var routes: [Route] = []

    mutating func add(_ method: String, _ template: String, inline: Bool = false, _ handler: @escaping Handler) {
        routes.append(Route(method: method, template: template,
                            segments: template.split(separator: "/").map(String.init), inline: inline, handler: handler))
    }

    enum Match { case found(Route, [String: String]), wrongMethod(allowed: [String]), none }

    func match(method: String, path: String) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        var allowed: [String] = []
        for r in routes where r.segments.count == parts.count {
            var params: [String: String] = [:]
            var ok = true
            for (t, p) in zip(r.segments, parts) {
                if t.hasPrefix("{") {
                    guard !p.isEmpty, let decoded = p.removingPercentEncoding else { ok = false; break }
                    params[String(t.dropFirst().dropLast())] = decoded
                } else if t != p { ok = false; break }
            }
            guard ok else { continue }
            if r.method == method || (method == "HEAD" && r.method == "GET") { return .found(r, params) }
            allowed.append(r.method)
        }
        if !allowed.isEmpty {
            if allowed.contains("GET") { allowed.append("HEAD") }
            return .wrongMethod(allowed: allowed)
        }
        return .none
    }
}
