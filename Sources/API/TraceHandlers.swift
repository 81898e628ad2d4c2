import HTTPServer
import JSON
import Store
import Wire

// Stored traces over the API: the list and its views, the aggregate, one trace, a device's wire
// and deletes, all reading the same filters (TraceFilters).
extension App {
    func listTraces(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let explicitLimit = q.has("limit")
        let limit = try q.int("limit", in: 1...1000, default: 100)
        let after = try q.cursor()
        var filter = try TraceFilters.read(&q)
        let format = q.string("format") ?? "json"
        let order = q.string("order") ?? "oldest"
        let traced = try q.bool("traced")
        try q.finish()
        guard ["json", "ndjson", "pcapng", "nft", "pwru", "retis"].contains(format) else {
            throw Problem.badRequest("invalid-query", "format must be json, ndjson, pcapng, nft, pwru or retis")
        }
        guard order == "oldest" || order == "newest" else { throw Problem.badRequest("invalid-query", "order must be oldest or newest") }
        if let stack = filter.stack { _ = try entry(stack) }   // an unknown stack is a 404, not an empty page
        filter.afterID = after
        filter.newestFirst = order == "newest"
        if format == "ndjson" { return ndjson(filter, limit: explicitLimit ? limit : nil) }
        filter.limit = limit + 1
        let rows: [TraceRecord]
        // The list form shows columns only: events and frames are read for the other formats.
        do { rows = try store.traces(filter, parts: format != "json") } catch {
            throw Problem.storage("\(error)")
        }
        let page = rows.prefix(limit)
        if format == "pcapng" {
            var headers: [HTTPHeader] = [HTTPHeader("content-disposition", "attachment; filename=\"traces.pcapng\"")]
            if rows.count > limit { headers.append(HTTPHeader("x-next-cursor", encodeCursor(page.last!.id))) }
            return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/x-pcapng")] + headers, body: TraceDocument.pcapng(page.map(TraceStorage.document)))
        }
        if let text = Self.textView(format, Array(page), traced: traced) {
            let next: [HTTPHeader] = rows.count > limit ? [HTTPHeader("x-next-cursor", encodeCursor(page.last!.id))] : []
            return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "text/plain; charset=utf-8")] + next, body: Array(text.utf8))
        }
        var o = JSONObject()
        o.set("items", .array(page.map(TraceDocument.summary)))
        o.set("next_cursor", rows.count > limit ? .string(encodeCursor(page.last!.id)) : .null)
        return jsonResponse(200, o.value)
    }

    /// `format=ndjson`: every trace the filters select (or the first `limit`), one whole trace per
    /// line, streamed as the store pages them (chunked on HTTP/1.1): memory stays one page, however
    /// many match. Traces stored while it runs are left out (it stops at the last id handed out).
    func ndjson(_ filter: TraceFilter, limit: Int?) -> HTTPResponse {
        let store = self.store
        var f = filter
        f.maxID = store.lastAllocatedTraceID
        var left = limit ?? Int.max
        var done = false
        var r = HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/x-ndjson")])
        r.stream = ResponseStream {
            guard !done, left > 0 else { return nil }
            f.limit = min(500, left)
            let page: [TraceRecord]
            do { page = try store.traces(f) } catch {
                // The head is out: the error ends the stream as a line of its own.
                done = true
                return Array((JSONValue.object([("error", .string("\(error)"))]).rendered() + "\n").utf8)
            }
            guard let last = page.last else { return nil }
            if page.count < f.limit { done = true }
            left -= page.count
            f.afterID = last.id
            var out: [UInt8] = []
            for t in page { out.append(contentsOf: TraceStorage.document(t).utf8); out.append(0x0a) }
            return out
        }
        return r
    }

    /// GET /v1/stacks/{stack}/devices/{device}/wire: the device's wire in both directions as
    /// pcapng, from the stored traces the filters select (oldest first, at most `limit` traces):
    /// frames that arrived on it (inbound) and frames the stack sent on it (outbound), in time order.
    func deviceWire(_ req: HTTPRequest, _ name: String, _ device: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let limit = try q.int("limit", in: 1...100_000, default: 10_000)
        var f = try TraceFilters.read(&q)
        try q.finish()
        guard f.stack == nil || f.stack == name else { throw Problem.badRequest("invalid-query", "stack is the path's stack here") }
        let e = try entry(name)
        guard e.stack.device(named: device) != nil else { throw Problem.notFound("stack \(name) has no device \(device)") }
        f.stack = name
        f.maxID = store.lastAllocatedTraceID
        var bodies: [String] = []
        while bodies.count < limit {
            f.limit = min(1000, limit - bodies.count)
            let page: [TraceRecord]
            do { page = try store.traces(f) } catch { throw Problem.storage("\(error)") }
            bodies += page.map(TraceStorage.document)
            guard page.count == f.limit, let last = page.last else { break }
            f.afterID = last.id
        }
        return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/x-pcapng"),
                                                   HTTPHeader("content-disposition", "attachment; filename=\"\(name)-\(device).pcapng\"")],
                            body: TraceDocument.pcapng(bodies, wire: (name, device)))
    }

    /// GET /v1/traces/aggregate?by=...: the stored traces the filters select, counted by one
    /// field, most first ("where do my packets die"). By rule or hook, each rule event counts.
    func aggregateTraces(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let byText = q.string("by") ?? "drop_reason"
        let filter = try TraceFilters.read(&q)
        try q.finish()
        guard let by = TraceAggregate(rawValue: byText) else {
            throw Problem.badRequest("invalid-query", "by must be one of \(TraceAggregate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let stack = filter.stack { _ = try entry(stack) }   // an unknown stack is a 404, not an empty count
        let groups: [(value: TraceValue, count: Int)]
        do { groups = try store.aggregateTraces(by: by, filter) } catch {
            throw Problem.storage("\(error)")
        }
        let values = groups.map { g -> (JSONValue, Int) in
            switch g.value {
            case .null: (.null, g.count)
            case .int(let n): (.int(Int(n)), g.count)
            case .text(let t): (.string(t), g.count)
            case .blob(let b): (FlowTuple.address(bytes: b).map { .string(FlowTuple.text($0)) } ?? .null, g.count)
            }
        }
        // Most first; ties in value order (numbers as numbers).
        let sorted = values.sorted { a, b in
            if a.1 != b.1 { return a.1 > b.1 }
            if case .int(let x) = a.0, case .int(let y) = b.0 { return x < y }
            return a.0.rendered() < b.0.rendered()
        }
        var o = JSONObject()
        o.set("by", by.rawValue)
        o.set("total", groups.reduce(0) { $0 + $1.count })
        o.set("groups", .array(sorted.map { .object([("value", $0.0), ("count", .int($0.1))]) }))
        return jsonResponse(200, o.value)
    }

    /// A text view of traces (nft monitor trace, pwru, retis); nil for json.
    static func textView(_ format: String, _ rows: [TraceRecord], traced: Bool) -> String? {
        let docs = { rows.map { (try? JSONParser.parse(TraceStorage.document($0))) ?? .null } }
        switch format {
        case "nft": return docs().map { TraceDocument.nftMonitorText($0, tracedOnly: traced) }.joined()
        case "pwru": return TraceViews.pwru(docs())
        case "retis": return TraceViews.retis(docs())
        default: return nil
        }
    }

    func getTrace(_ req: HTTPRequest, _ idText: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let format = q.string("format") ?? "json"
        let traced = try q.bool("traced")
        try q.finish()
        guard ["json", "nft", "pwru", "retis"].contains(format) else { throw Problem.badRequest("invalid-query", "format must be json, nft, pwru or retis") }
        guard let id = Int64(idText), id > 0 else { throw Problem.notFound("no trace \(idText)") }
        let rec: TraceRecord?
        do { rec = try store.trace(id: id) } catch { throw Problem.storage("\(error)") }
        guard let rec else { throw Problem.notFound("no trace \(idText)") }
        if let text = Self.textView(format, [rec], traced: traced) {
            return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: text)
        }
        var body = Array(TraceStorage.document(rec).utf8)
        body.append(0x0a)
        return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/json")], body: body)
    }

    /// DELETE /v1/stacks/{stack}/traces: every trace of the stack, or those the filters select.
    func deleteTraces(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        var f = try TraceFilters.read(&q)
        try q.finish()
        guard f.stack == nil || f.stack == name else { throw Problem.badRequest("invalid-query", "stack is the path's stack here") }
        let e = try entry(name)
        if !f.hasConditions {
            // Traces up to the last id handed out go; injections meanwhile keep theirs (and their
            // share of the quota), so the stack is not held while the rows are deleted.
            let n: Int
            do { n = try store.deleteTraces(stackID: e.record.id, upTo: store.lastAllocatedTraceID) } catch {
                throw Problem.storage("traces not deleted: \(error)")
            }
            e.withStack { _ in e.storedTraces = max(0, e.storedTraces - n) }
            return jsonResponse(200, .object([("deleted", .int(n))]))
        }
        f.stack = name
        return try deleteTraces(f)
    }

    /// DELETE /v1/traces?filters: the traces the filters select, across stacks (one filter at least).
    func deleteTracesByFilter(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let f = try TraceFilters.read(&q)
        try q.finish()
        guard f.hasConditions else {
            throw Problem.badRequest("invalid-query", "give at least one filter (DELETE /v1/stacks/{stack}/traces deletes all of a stack's traces)")
        }
        if let stack = f.stack { _ = try entry(stack) }
        return try deleteTraces(f)
    }

    /// Deletes what `f` selects up to the last id handed out, giving each stack its quota back.
    private func deleteTraces(_ f: TraceFilter) throws(Problem) -> HTTPResponse {
        var f = f
        f.maxID = store.lastAllocatedTraceID
        let perStack: [Int64: Int]
        do { perStack = try store.deleteTraces(f) } catch { throw Problem.storage("traces not deleted: \(error)") }
        for e in registry.all() {
            guard let n = perStack[e.record.id] else { continue }
            e.withStack { _ in e.storedTraces = max(0, e.storedTraces - n) }
        }
        return jsonResponse(200, .object([("deleted", .int(perStack.values.reduce(0, +)))]))
    }
}
