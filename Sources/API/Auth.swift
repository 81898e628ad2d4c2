import HTTPServer

/// Who may do what: with a token set, requests that change something (and, with `protectReads`,
/// reads too) need `Authorization: Bearer <token>`; `/healthz` stays open for probes.
public struct Auth: Sendable {
    let token: [UInt8]?
    let protectReads: Bool

    public init(token: String? = nil, protectReads: Bool = false) {
        self.token = token.map { Array($0.utf8) }
        self.protectReads = protectReads
    }

    /// Nil when the request may go on; otherwise the problem to answer (401 without a token,
    /// 403 with a wrong one). The token is never echoed.
    func check(_ req: HTTPRequest) -> Problem? {
        guard let token, req.path != "/healthz" else { return nil }
        let reads = req.method == "GET" || req.method == "HEAD"
        if reads && !protectReads { return nil }
        guard let header = req.header("authorization"), header.hasPrefix("Bearer ") else {
            var p = Problem(status: 401, slug: "unauthorized", detail: "this server needs an API token: send Authorization: Bearer <token>")
            p.headers = [HTTPHeader("www-authenticate", "Bearer")]
            return p
        }
        guard Auth.equal(Array(header.utf8.dropFirst("Bearer ".count)), token) else {
            return Problem(status: 403, slug: "forbidden", detail: "the API token is not this server's")
        }
        return nil
    }

    /// Compares in time that depends only on the lengths, not on where the bytes differ.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for k in 0..<max(a.count, b.count) { diff |= (k < a.count ? a[k] : 0) ^ (k < b.count ? b[k] : 0) }
        return diff == 0
    }
}
