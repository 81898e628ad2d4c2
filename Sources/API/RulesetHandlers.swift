import Foundation
import HTTPServer
import IPTables
import JSON
import Kernel
import NFTables
import Store

// GET/PUT /v1/stacks/{stack}/ruleset, rules by handle, nft commands, counters, versions, conntrack.
extension App {
    func registerRulesetRoutes() {
        router.add("GET", "/v1/stacks/{stack}/ruleset") { [unowned self] req, p throws(Problem) in try getRuleset(req, p["stack"]!) }
        router.add("PUT", "/v1/stacks/{stack}/ruleset") { [unowned self] req, p throws(Problem) in try putRuleset(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/ruleset/commands") { [unowned self] req, p throws(Problem) in try runCommands(req, p["stack"]!) }
        router.add("POST", "/v1/stacks/{stack}/ruleset/rules") { [unowned self] req, p throws(Problem) in try addRule(req, p["stack"]!) }
        router.add("DELETE", "/v1/stacks/{stack}/ruleset/rules/{handle}") { [unowned self] req, p throws(Problem) in
            try deleteRule(req, p["stack"]!, p["handle"]!)
        }
        router.add("POST", "/v1/stacks/{stack}/ruleset/counters/reset") { [unowned self] req, p throws(Problem) in try resetCounters(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/ruleset/versions") { [unowned self] req, p throws(Problem) in try listVersions(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/ruleset/versions/{version}") { [unowned self] req, p throws(Problem) in
            try getVersion(req, p["stack"]!, p["version"]!)
        }
        router.add("POST", "/v1/stacks/{stack}/ruleset/versions/{version}/rollback") { [unowned self] req, p throws(Problem) in
            try rollback(req, p["stack"]!, p["version"]!)
        }
        router.add("GET", "/v1/stacks/{stack}/conntrack") { [unowned self] req, p throws(Problem) in try conntrack(req, p["stack"]!) }
        router.add("GET", "/v1/stacks/{stack}/conntrack/events") { [unowned self] req, p throws(Problem) in try conntrackEvents(req, p["stack"]!) }
    }

    func text(_ status: Int, _ s: String) -> HTTPResponse { HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: s) }

    private func isJSON(_ req: HTTPRequest) -> Bool {
        req.header("content-type")?.lowercased().hasPrefix("application/json") ?? false
    }

    /// What a ruleset body is written in, read once.
    enum RulesetBody {
        case json
        /// nft text and the files its `include` lines may name.
        case nft(String, files: [String: String])
        /// iptables-save text, translated as iptables-nft-restore loads it.
        case iptables(String)
    }

    /// The body as JSON (by its content type), iptables-save (`?format=iptables-save`, or with no
    /// format a plain body whose first statement is `*table`, where `iptables` allows it) or nft text.
    func rulesetBody(_ req: HTTPRequest, format: String?, iptables: Bool) throws(Problem) -> RulesetBody {
        if isJSON(req), format == nil { return .json }
        let (text, files) = try rulesetText(req)
        switch format {
        case nil: return iptables && IPTablesRestore.looksLikeSave(text) ? .iptables(text) : .nft(text, files: files)
        case "nft": return .nft(text, files: files)
        case "iptables-save" where iptables: return .iptables(text)
        case let f?: throw Problem.badRequest("bad-query", "format '\(f)': expected nft\(iptables ? " or iptables-save" : "")")
        }
    }

    /// The ruleset a body makes, applied to `base` (nft commands) or alone.
    /// `ipsets`: the stack's ipsets, which iptables' `-m set` may name.
    /// `interfaces`: the stack's devices, which an interface index (`iif "eth0"`) must name.
    func parseRuleset(_ body: RulesetBody, _ req: HTTPRequest, onto base: NFRuleset = NFRuleset(), ipsets: Set<String> = [],
                      interfaces: [String]) throws(Problem) -> NFRuleset {
        switch body {
        case .iptables(let text):
            do throws(IPTablesError) { return try IPTablesRestore.translate(text, ipsets: ipsets) } catch { throw Self.iptablesProblem(error) }
        case .json:
            let doc = try parseJSONBody(req)
            do throws(NFJSONError) { return try NFJSON.decode(doc, onto: base, interfaces: interfaces) } catch {
                let (status, slug) = switch error.kind {
                case .syntax: (400, "ruleset-json")
                case .refused: (400, "ruleset-refused")
                case .unsupported: (422, "not-supported")
                }
                throw Problem(status: status, slug: slug, detail: "\(error.path): \(error.message)", extra: [("pointer", .string(error.path))])
            }
        case .nft(let text, let files):
            do throws(NFSyntaxError) { return try NFParser.parse(text, onto: base, files: files, interfaces: interfaces) } catch {
                throw Self.syntaxProblem(error, source: error.file.flatMap { files[$0] } ?? text)
            }
        }
    }

    /// The ruleset's text and the other files of the request: with multipart/form-data (`curl -F
    /// ruleset=@nftables.conf -F file=@nftables.d/lan.nft`) the part named `ruleset` (else the
    /// first) is the ruleset, and every other part a file its includes may name, by file name.
    private func rulesetText(_ req: HTTPRequest) throws(Problem) -> (String, [String: String]) {
        guard let boundary = Multipart.boundary(req.header("content-type")) else { return (try bodyText(req), [:]) }
        let parts = try Multipart.parse(req.body, boundary: boundary)
        guard let main = parts.firstIndex(where: { $0.name == "ruleset" }) ?? (parts.isEmpty ? nil : 0) else {
            throw Problem.badRequest("empty-ruleset", "the multipart body has no parts")
        }
        var files: [String: String] = [:]
        var text = ""
        for (k, p) in parts.enumerated() {
            guard let s = String(validating: p.body, as: UTF8.self) else { throw Problem.badRequest("invalid-encoding", "part '\(p.name)' is not UTF-8") }
            if k == main { text = s } else { files[p.filename ?? p.name] = s }
        }
        return (text, files)
    }

    /// Refused iptables-save text, with the message as iptables-nft-restore prints it.
    static func iptablesProblem(_ e: IPTablesError) -> Problem {
        let (status, slug) = e.kind == .unsupported ? (422, "not-supported") : (400, "iptables-restore")
        return Problem(status: status, slug: slug, detail: "iptables-restore input refused at line \(e.line), column \(e.column): \(e.message)",
                       extra: [("line", .int(e.line)), ("column", .int(e.column)),
                               ("iptables", .string("iptables-nft-restore v1.8.9 (nf_tables): \(e.message)\nError occurred at line: \(e.line)"))])
    }

    private func bodyText(_ req: HTTPRequest) throws(Problem) -> String {
        guard let s = String(validating: req.body, as: UTF8.self) else { throw Problem.badRequest("invalid-encoding", "the ruleset is not UTF-8") }
        return s
    }

    /// A refused ruleset: where and why, and (`nft`) the error as `nft -f` prints it, with the
    /// offending line and carets under the token.
    static func syntaxProblem(_ e: NFSyntaxError, source: String) -> Problem {
        let (status, slug, what) = switch e.kind {
        case .syntax: (400, "ruleset-syntax", "nft syntax error")
        case .refused: (400, "ruleset-refused", "refused (as nft refuses it)")
        case .unsupported: (422, "not-supported", "not modelled")
        }
        return Problem(status: status, slug: slug, detail: "\(what) at \(e.file.map { "\($0) " } ?? "")line \(e.line), column \(e.column): \(e.message)",
                       extra: [("line", .int(e.line)), ("column", .int(e.column))] + (e.file.map { [("file", JSONValue.string($0))] } ?? [])
                        + [("nft", .string(e.nftText(source: source, file: e.file ?? "ruleset")))])
    }

    /// Applies a new ruleset under the stack's lock, storing it as a new version first: a rejected
    /// change leaves both the running ruleset and the stored versions as they were.
    /// `command`: a change to the running ruleset, whose untouched rules keep their state (counters,
    /// quotas, limits); otherwise a whole new ruleset, all state fresh.
    /// `source`: the commands' text, for the caret line of a refusal only the running sets can
    /// tell (an element to delete that rules did not add either).
    private func apply(_ e: StackEntry, summary: String, command: Bool = true, source: String = "",
                       _ make: (NFRuleset) throws(Problem) -> NFRuleset) throws(Problem) -> JSONValue {
        try e.withStack { (s: Stack) throws(Problem) -> JSONValue in
            let next = try make(s.ruleset)
            // (A whole new ruleset starts from empty sets: no element rules added is there to delete.)
            if let refusal = command ? s.missingElement(next) : Stack.anyDeleteRefusal(next) { throw Self.syntaxProblem(refusal, source: source) }
            // Only `list` commands: nothing changes and nothing is stored; the answer is what nft prints.
            if !next.lists.isEmpty, next.resets.isEmpty, next.tables == s.ruleset.tables {
                return .object([("output", .string(next.lists.map { s.list($0) }.joined()))])
            }
            try checkSize(next)
            // `list` commands print nft's cache: what was there before the batch, as evaluating
            // the whole batch left it (NFCacheOp), before anything of it is committed.
            let listed = next.lists.isEmpty ? "" : next.lists.map { s.list($0, in: NFCacheOp.view(s.liveRuleset, next.cacheOps)) }.joined()
            // xt_set holds its set: one gone since (a rollback, a destroy in between) refuses the ruleset.
            if let missing = s.missingIPSet(next) { throw Problem.badRequest("ipset-missing", "Set \(missing) doesn't exist.") }
            // With `# handle N` comments, so handles survive a reload even after deletions.
            let textForm = NFPrinter.ruleset(next, handles: true, origins: true)
            let v: RulesetVersion
            do { v = try store.addRulesetVersion(stackID: e.record.id, summary: summary, ruleset: textForm) } catch {
                throw Problem.storage("ruleset not stored: \(error)")
            }
            s.loadRuleset(next, keepingRuleState: command)
            var o = versionJSON(v, withText: false)
            if !next.lists.isEmpty, case .object(var kv) = o { kv.append(("output", .string(listed))); o = .object(kv) }
            return o
        }
    }

    /// Rules and set elements a stack's ruleset may hold (--max-rules, --max-set-elements).
    func checkSize(_ rs: NFRuleset) throws(Problem) {
        let rules = rs.tables.reduce(0) { $0 + $1.chains.reduce(0) { $0 + $1.rules.count } }
        guard rules <= limits.maxRules else {
            throw Problem.unprocessable("the ruleset has \(rules) rules; at most \(limits.maxRules) (--max-rules)", pointer: "")
        }
        // Named sets' elements, and the anonymous sets' inside rules.
        func count(_ v: NFValue) -> Int { if case .set(let vs) = v { vs.count } else { 0 } }
        let named = rs.tables.reduce(0) { $0 + $1.sets.reduce(0) { $0 + $1.elements.count } }
        let anonymous = rs.tables.flatMap(\.chains).flatMap(\.rules).flatMap(\.statements).reduce(0) { n, s in
            switch s {
            case .match(_, _, _, let v), .concatMatch(_, _, let v): n + count(v)
            case .vmap(_, let e), .concatVmap(_, let e), .generatorVmap(_, let e): n + e.count
            default: n
            }
        }
        guard named + anonymous <= limits.maxSetElements else {
            throw Problem.unprocessable("the ruleset has \(named + anonymous) set elements; at most \(limits.maxSetElements) (--max-set-elements)", pointer: "")
        }
    }

    /// `nft -c`: the ruleset would load; nothing was applied or stored.
    static func checked(_ rs: NFRuleset) -> HTTPResponse {
        var o = JSONObject()
        o.set("check", "ok")
        o.set("tables", rs.tables.count)
        o.set("rules", rs.tables.reduce(0) { $0 + $1.chains.reduce(0) { $0 + $1.rules.count } })
        return jsonResponse(200, o.value)
    }

    func versionJSON(_ v: RulesetVersion, withText: Bool) -> JSONValue {
        var o = JSONObject()
        o.set("version", v.version)
        o.set("created_at", v.createdAt)
        o.set("summary", v.summary)
        if withText { o.set("ruleset", v.ruleset) }
        return o.value
    }

    func getRuleset(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let handles = try q.bool("handles")
        let format = q.string("format") ?? "nft"
        try q.finish()
        let e = try entry(name)
        if format == "iptables-save" {
            // iptables-nft-save: the ip tables filter, mangle, raw and nat with chain policy counters.
            return text(200, e.withStack { s in IPTablesSave.text(s.liveRuleset, policies: s.policyCounters, header: "packetstack (iptables-nft-save format) for stack \(name)") })
        }
        guard format == "nft" else { throw Problem.badRequest("bad-query", "format '\(format)': expected nft or iptables-save") }
        let wantsJSON = (req.header("accept") ?? "").contains("application/json")
        if wantsJSON {
            // libnftables JSON, as `nft -j list ruleset` prints it.
            let doc: JSONValue = e.withStack { s in NFJSON.encode(s.liveRuleset, counters: s.countersByTable) }
            return jsonResponse(200, doc)
        }
        return text(200, e.withStack { $0.listRuleset(handles: handles) })
    }

    func putRuleset(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let check = try q.bool("check")
        let format = q.string("format")
        try q.finish()
        if let format, format != "nft", format != "iptables-save" { throw Problem.badRequest("bad-query", "format '\(format)': expected nft or iptables-save") }
        let e = try entry(name)
        // An empty body is a mistake, not a flush: removing every rule stays explicit.
        guard req.body.contains(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) else {
            throw Problem.badRequest("empty-ruleset", "the ruleset is empty; to remove every table send 'flush ruleset'")
        }
        let body = try rulesetBody(req, format: format, iptables: true)
        let iptables = if case .iptables = body { true } else { false }
        let parsed = try parseRuleset(body, req, ipsets: e.withStack { $0.ipsets.names }, interfaces: e.withStack(\.interfaceOrder))
        if check { try checkSize(parsed); return Self.checked(parsed) }
        let summary = "replace ruleset (\(parsed.tables.count) tables" + (iptables ? ", from iptables-save)" : ")")
        return jsonResponse(200, try apply(e, summary: summary, command: false) { _ throws(Problem) in parsed })
    }

    /// nft commands (`add table`, `add chain`, `add rule`, `add element`, `delete table`, `flush ruleset`) on the running ruleset.
    func runCommands(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let check = try q.bool("check")
        try q.finish()
        let e = try entry(name)
        let body = try rulesetBody(req, format: nil, iptables: false)
        let source = if case .nft(let text, _) = body { text } else { "" }
        if check {
            let current = e.withStack { $0.ruleset }
            let next = try parseRuleset(body, req, onto: current, interfaces: e.withStack(\.interfaceOrder))
            if let refusal = e.withStack({ $0.missingElement(next) }) { throw Self.syntaxProblem(refusal, source: source) }
            try checkSize(next)
            return Self.checked(next)
        }
        let first = if case .nft(let text, _) = body { text.split(separator: "\n").first.map(String.init) ?? "" } else { "nft -j commands" }
        let interfaces = e.withStack(\.interfaceOrder)
        return jsonResponse(200, try apply(e, summary: first.count > 80 ? String(first.prefix(77)) + "..." : first, source: source) { (cur: NFRuleset) throws(Problem) -> NFRuleset in
            try parseRuleset(body, req, onto: cur, interfaces: interfaces)
        })
    }

    /// `nft add rule` / `nft insert rule [position H]` from JSON {family, table, chain, rule, insert?, position?}.
    func addRule(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let doc = try parseJSONBody(req)
        var family = "ip", table = "", chain = "", rule = "", insert = false
        var position: Int? = nil
        try decoding {
            var r = try FieldReader(doc)
            family = try r.string("family") ?? "inet"
            table = try r.requiredString("table")
            chain = try r.requiredString("chain")
            rule = try r.requiredString("rule")
            insert = try r.bool("insert") ?? false
            position = try r.int("position", in: 1...Int(Int32.max))
            try r.finish()
        }
        let command = "add rule \(family) \(table) \(chain) \(rule)"
        var handle = 0
        let interfaces = e.withStack(\.interfaceOrder)
        let v = try apply(e, summary: (insert ? "insert" : "add") + " rule \(family) \(table) \(chain) \(rule)") { (cur: NFRuleset) throws(Problem) -> NFRuleset in
            var next: NFRuleset
            do throws(NFSyntaxError) { next = try NFParser.parse(command, onto: cur, interfaces: interfaces) } catch {
                // Point into the rule text the client sent.
                let offset = "add rule \(family) \(table) \(chain) ".count
                throw Self.syntaxProblem(NFSyntaxError(line: error.line, column: max(1, error.column - offset), message: error.message, kind: error.kind,
                                                       length: error.length), source: rule)
            }
            guard let ti = next.tables.firstIndex(where: { $0.family.rawValue == family && $0.name == table }),
                  let ci = next.tables[ti].chains.firstIndex(where: { $0.name == chain }) else { return next }
            var rules = next.tables[ti].chains[ci].rules
            guard let added = rules.popLast() else { return next }
            handle = added.handle
            var at = insert ? 0 : rules.count
            if let position {
                guard let k = rules.firstIndex(where: { $0.handle == position }) else {
                    throw Problem.unprocessable("no rule with handle \(position) in \(family) \(table) \(chain)", pointer: "/position")
                }
                at = insert ? k : k + 1
            }
            rules.insert(added, at: at)
            next.tables[ti].chains[ci].rules = rules
            return next
        }
        guard case .object(var f) = v else { return jsonResponse(201, v) }
        f.append(("handle", .int(handle)))
        return jsonResponse(201, .object(f))
    }

    func deleteRule(_ req: HTTPRequest, _ name: String, _ handleText: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let family = q.string("family") ?? "inet"
        guard let table = q.string("table") else { throw Problem.badRequest("invalid-query", "table is required, e.g. ?family=inet&table=filter") }
        try q.finish()
        guard let handle = Int(handleText) else { throw Problem.notFound("no rule \(handleText)") }
        let e = try entry(name)
        let v = try apply(e, summary: "delete rule \(family) \(table) handle \(handle)") { (cur: NFRuleset) throws(Problem) -> NFRuleset in
            var next = cur
            guard let ti = next.tables.firstIndex(where: { $0.family.rawValue == family && $0.name == table }) else {
                throw Problem.notFound("no table \(family) \(table)")
            }
            for ci in next.tables[ti].chains.indices {
                if let k = next.tables[ti].chains[ci].rules.firstIndex(where: { $0.handle == handle }) {
                    next.tables[ti].chains[ci].rules.remove(at: k)
                    return next
                }
            }
            throw Problem.notFound("no rule with handle \(handle) in table \(family) \(table)")
        }
        return jsonResponse(200, v)
    }

    func resetCounters(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        try entry(name).withStack { $0.resetCounters() }
        return HTTPResponse(status: 204)
    }

    func listVersions(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let limit = try q.int("limit", in: 1...1000, default: 100)
        let after = try q.cursor()
        try q.finish()
        let e = try entry(name)
        let rows: [RulesetVersion]
        do { rows = try store.rulesetVersions(stackID: e.record.id, after: Int(after), limit: limit + 1) } catch { throw Problem.storage("\(error)") }
        let page = rows.prefix(limit)
        return jsonResponse(200, .object([("items", .array(page.map { versionJSON($0, withText: false) })),
                                          ("next_cursor", rows.count > limit ? .string(encodeCursor(Int64(page.last!.version))) : .null)]))
    }

    private func version(_ e: StackEntry, _ text: String) throws(Problem) -> RulesetVersion {
        guard let n = Int(text), n > 0 else { throw Problem.notFound("no version \(text)") }
        let v: RulesetVersion?
        do { v = try store.rulesetVersion(stackID: e.record.id, version: n) } catch { throw Problem.storage("\(error)") }
        guard let v else { throw Problem.notFound("no version \(n) of the ruleset of \(e.record.name)") }
        return v
    }

    func getVersion(_ req: HTTPRequest, _ name: String, _ v: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let ver = try version(e, v)
        if (req.header("accept") ?? "").contains("application/json") { return jsonResponse(200, versionJSON(ver, withText: true)) }
        return text(200, ver.ruleset)
    }

    /// Rolling back stores the old text as a new version: history is never rewritten.
    func rollback(_ req: HTTPRequest, _ name: String, _ v: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let e = try entry(name)
        let old = try version(e, v)
        let parsed: NFRuleset
        do throws(NFSyntaxError) { parsed = try NFParser.stored(old.ruleset) } catch { throw Self.syntaxProblem(error, source: old.ruleset) }
        return jsonResponse(200, try apply(e, summary: "rollback to version \(old.version)", command: false) { _ throws(Problem) in parsed })
    }

    /// `conntrack -E` text (the events the stack delivered, the last 4096, after `after`), or
    /// the same as JSON with Accept: application/json.
    func conntrackEvents(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let after = try q.int("after", in: 0...Int.max, default: 0)
        try q.finish()
        let events = try entry(name).withStack { $0.conntrackEvents(after: UInt64(after)) }
        guard (req.header("accept") ?? "").contains("application/json") else {
            return text(200, events.map { $0.line + "\n" }.joined())
        }
        return jsonResponse(200, .object([("items", .array(events.map { e in
            var o = JSONObject()
            o.set("seq", Int(e.seq)); o.set("type", e.type); o.set("events", .array(e.events.map { .string($0) }))
            o.set("line", e.line)
            return o.value
        }))]))
    }

    /// `conntrack -L` text, or the same entries as JSON with Accept: application/json.
    func conntrack(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        let entries = try entry(name).withStack { $0.conntrackEntries }
        guard (req.header("accept") ?? "").contains("application/json") else {
            return text(200, entries.map { $0.line + "\n" }.joined())
        }
        func tuple(_ t: ConntrackEntry.Tuple) -> JSONValue {
            var o = JSONObject()
            o.set("src", t.src); o.set("dst", t.dst)
            if let p = t.sport { o.set("sport", p) }
            if let p = t.dport { o.set("dport", p) }
            if let v = t.type { o.set("type", v) }
            if let v = t.code { o.set("code", v) }
            if let v = t.id { o.set("id", v) }
            if let n = t.packets, let b = t.bytes { o.set("packets", Int(clamping: n)); o.set("bytes", Int(clamping: b)) }
            return o.value
        }
        return jsonResponse(200, .object([("items", .array(entries.map { e in
            var o = JSONObject()
            o.set("protocol", e.protocol); o.set("protonum", e.protonum); o.set("timeout", e.timeout)
            o.set("state", e.state.map { .string($0) } ?? .null)
            o.set("original", tuple(e.original)); o.set("reply", tuple(e.reply))
            o.set("unreplied", e.unreplied); o.set("assured", e.assured); o.set("mark", e.mark); o.set("use", e.use)
            switch e.zone {
            case .both(let z)?: o.set("zone", z)
            case .original(let z)?: o.set("zone_orig", z)
            case .reply(let z)?: o.set("zone_reply", z)
            case nil: break
            }
            if let h = e.helper { o.set("helper", h) }
            o.set("id", Int(e.id))
            return o.value
        }))]))
    }
}

extension NFParser {
    /// A ruleset the model listed itself (a checkpoint, a stored version), read back with the
    /// expressions the kernel holds for the rules iptables-nft loaded (from their iptables lines).
    static func stored(_ text: String) throws(NFSyntaxError) -> NFRuleset {
        var rs = try NFParser.parse(text, checkpoint: true)
        IPTablesRestore.relist(&rs)
        return rs
    }
}
