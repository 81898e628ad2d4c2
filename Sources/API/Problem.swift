import HTTPServer
import JSON

/// An error answered as RFC 9457 problem+json. `slug` becomes the type URI.
struct Problem: Error {
    var status: Int
    var slug: String
    var detail: String
    /// Extension members (pointer, line, column, allow...).
    var extra: [(String, JSONValue)] = []
    var headers: [HTTPHeader] = []

    static func badRequest(_ slug: String, _ detail: String, pointer: String? = nil) -> Problem {
        Problem(status: 400, slug: slug, detail: detail, extra: pointer.map { [("pointer", .string($0))] } ?? [])
    }
    static func notFound(_ what: String) -> Problem { Problem(status: 404, slug: "not-found", detail: what) }
    static func unprocessable(_ detail: String, pointer: String) -> Problem {
        Problem(status: 422, slug: "invalid-value", detail: detail, extra: [("pointer", .string(pointer))])
    }
    static func shape(_ e: JSONShapeError) -> Problem {
        let unknown = e.message.hasPrefix("unknown field")
        return Problem(status: 400, slug: unknown ? "unknown-field" : "invalid-field", detail: "\(e.path): \(e.message)",
                       extra: [("pointer", .string(e.path))])
    }
    static func syntax(_ e: JSONSyntaxError) -> Problem {
        Problem(status: 400, slug: "malformed-json",
                detail: "malformed JSON at line \(e.line), column \(e.column): \(e.message)",
                extra: [("line", .int(e.line)), ("column", .int(e.column)), ("offset", .int(e.offset))])
    }
    static func storage(_ detail: String) -> Problem { Problem(status: 500, slug: "storage-error", detail: detail) }

    var response: HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPHeader("content-type", "application/problem+json")] + headers, body: document.bytes)
    }

    /// The problem document (also a line of a streamed answer that failed after its head).
    var document: JSONValue {
        var o = JSONObject()
        o.set("type", "urn:packetstack:problem:\(slug)")
        o.set("title", HTTPStatus.reason(status))
        o.set("status", status)
        o.set("detail", detail)
        for (k, v) in extra { o.set(k, v) }
        return o.value
    }
}

/// Parses a request body as one JSON document, with the position of any syntax error.
func parseJSONBody(_ req: HTTPRequest) throws(Problem) -> JSONValue {
    if let ct = req.header("content-type") {
        let media = req.mediaType
        // curl -d sends application/x-www-form-urlencoded unless told otherwise; take it as JSON.
        guard media == "application/json" || media.hasSuffix("+json") || media == "application/x-www-form-urlencoded" else {
            throw Problem(status: 415, slug: "unsupported-media-type", detail: "expected application/json, got \(ct)")
        }
    }
    guard !req.body.isEmpty else { throw Problem.badRequest("missing-body", "request body is empty; a JSON document is expected") }
    do { return try JSONParser.parse(req.body) } catch { throw Problem.syntax(error) }
}

func jsonResponse(_ status: Int, _ v: JSONValue, headers: [HTTPHeader] = []) -> HTTPResponse {
    var body = v.bytes
    body.append(0x0a)
    return HTTPResponse(status: status, headers: [HTTPHeader("content-type", "application/json")] + headers, body: body)
}

/// Runs a document decoder whose helpers throw either shape errors or problems, and answers a Problem.
func decoding<T>(_ body: () throws -> T) throws(Problem) -> T {
    do {
        return try body()
    } catch let e as JSONShapeError {
        throw Problem.shape(e)
    } catch let p as Problem {
        throw p
    } catch {
        throw Problem.badRequest("invalid-field", "\(error)")
    }
}
