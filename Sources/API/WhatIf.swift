import HTTPServer
import JSON
import Kernel
import NFTables
import Store
import Wire

/// What-if: the packets of a trace query run again through a copy of the stack (its document as
/// it is now) with the ruleset as it is now, a stored version (`?version=N`) or a candidate (the
/// body, nft or iptables-save text, or nft JSON), leaving the live stack untouched; the answer
/// names the packets whose outcome or rule path changed and counts the changes.
///
/// By default the copy starts from empty runtime state (no conntrack entries, counters): the
/// replayed packets build it up again in their order, as they did when they first ran. With
/// `state=live` it starts where the live stack is, as a fork does (clock, ruleset state,
/// conntrack). Only traces that kept their frame (full, drops, sample, nftrace modes) of packets
/// that arrived on a device are replayed; sends and summary rows are counted as skipped.
extension App {
    static let whatIfItems = 1_000

    func whatIf(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        var f = try TraceFilters.read(&q)
        let limit = try q.int("limit", in: 1...limits.maxPacketsPerRequest, default: limits.maxPacketsPerRequest)
        let version = try q.int("version", in: 1...Int(Int32.max), default: 0)
        let format = q.string("format")
        let stateMode = q.string("state") ?? "empty"
        try q.finish()
        guard stateMode == "empty" || stateMode == "live" else { throw Problem.badRequest("invalid-query", "state must be empty or live") }
        guard f.stack == nil || f.stack == name else { throw Problem.badRequest("invalid-query", "stack is the path's stack here") }
        let e = try entry(name)
        try enterRunning()
        defer { running.leave() }

        // The ruleset to try.
        let hasBody = req.body.contains { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }
        let candidate: NFRuleset?, what: String
        if version > 0 {
            guard !hasBody else { throw Problem.badRequest("invalid-query", "give a version or a ruleset body, not both") }
            let v: RulesetVersion?
            do { v = try store.rulesetVersion(stackID: e.record.id, version: version) } catch { throw Problem.storage("\(error)") }
            guard let v else { throw Problem.notFound("stack \(name) has no ruleset version \(version)") }
            do throws(NFSyntaxError) { candidate = try NFParser.stored(v.ruleset) } catch { throw Self.syntaxProblem(error, source: v.ruleset) }
            what = "version \(version)"
        } else if hasBody {
            candidate = try parseRuleset(try rulesetBody(req, format: format, iptables: true), req, ipsets: e.withStack { $0.ipsets.names },
                                         interfaces: e.withStack(\.interfaceOrder))
            what = "candidate"
        } else {
            candidate = nil
            what = "current"
        }

        // The traffic: the query's traces, oldest first, up to the last id handed out.
        f.stack = name
        f.limit = limit + 1
        f.maxID = store.lastAllocatedTraceID
        let rows: [TraceRecord]
        do { rows = try store.traces(f) } catch { throw Problem.storage("\(error)") }
        let truncated = rows.count > limit

        // The copy: the document and ruleset as they are now (under the lock, briefly).
        // With state=live, also its clock, its ruleset's state and its conntrack, as a fork takes them.
        let (config, live, clock, liveText, conns) = e.withStack { s in
            (e.config, s.ruleset, s.clockNs, stateMode == "live" ? s.checkpointRuleset() : "", stateMode == "live" ? s.conntrackCheckpoint() : nil)
        }
        let copy: Stack
        do { copy = try Stack(config: config) } catch { throw Problem.unprocessable("the stack's document no longer builds: \(error.message)", pointer: "") }
        var ruleset = candidate ?? live
        if stateMode == "live" {
            _ = copy.advance(toNs: clock)
            if candidate == nil, let withState = try? NFParser.stored(liveText) { ruleset = withState }
        }
        copy.loadRuleset(ruleset)
        if let conns { _ = copy.restoreConntrack(checkpoint: conns) }

        struct Old { var id: Int64; var outcome: String; var reason: String?; var rules: [JSONValue] }
        var olds: [Old] = [], batch: [Injection] = [], skipped = 0, t0: Int? = nil
        for r in rows.prefix(limit) {
            // An arrival: a full trace that starts at the NIC (a send's starts at the socket).
            guard let doc = try? JSONParser.parse(TraceStorage.document(r)), case .array(let stages) = doc["stages"] ?? .null,
                  TraceViews.string(stages.first?["function"]) == "nic_receive",
                  case .string(let hex) = doc["frame_hex"] ?? .null, let frame = try? Hex.decode(hex),
                  case .string(let dev) = doc["device"] ?? .null, let d = copy.device(named: dev) else { skipped += 1; continue }
            let start = TraceViews.int(doc["start_ns"]) ?? 0
            let base = t0 ?? start
            t0 = base
            batch.append(Injection(device: d.index, frame: frame, atNs: copy.clockNs + UInt64(max(0, start - base))))
            olds.append(Old(id: r.id, outcome: r.outcome, reason: r.dropReason, rules: Self.rulePath(doc)))
        }
        let results = copy.inject(batch)

        var items: [JSONValue] = [], changed = 0, pathOnly = 0
        var counts: [String: Int] = [:]
        for (k, r) in results.enumerated() {
            let old = olds[k]
            let newRules = r.nfEvents.filter { !$0.generated && ($0.kind == .rule || $0.kind == .policy) }.map(Self.ruleStep)
            let sameOutcome = old.outcome == r.outcome.rawValue && old.reason == r.dropReason?.rawValue
            let samePath = old.rules.map(Self.pathKey) == newRules.map(Self.pathKey)
            if sameOutcome && samePath { continue }
            changed += 1
            if sameOutcome { pathOnly += 1 }
            let from = old.outcome + (old.reason.map { " (\($0))" } ?? "")
            let to = r.outcome.rawValue + (r.dropReason.map { " (\($0.rawValue))" } ?? "")
            counts[sameOutcome ? "\(from): rule path changed" : "\(from) -> \(to)", default: 0] += 1
            if items.count < Self.whatIfItems {
                items.append(.object([
                    ("trace_id", .int(Int(old.id))),
                    ("old", .object([("outcome", .string(old.outcome)), ("drop_reason", old.reason.map { .string($0) } ?? .null), ("rules", .array(old.rules))])),
                    ("new", .object([("outcome", .string(r.outcome.rawValue)), ("drop_reason", r.dropReason.map { .string($0.rawValue) } ?? .null),
                                     ("rules", .array(newRules))])),
                ]))
            }
        }
        var o = JSONObject()
        o.set("stack", name)
        o.set("ruleset", what)
        o.set("state", stateMode)
        o.set("selected", min(rows.count, limit))
        o.set("truncated", truncated)
        o.set("replayed", batch.count)
        o.set("skipped", skipped)
        o.set("changed", changed)
        o.set("rule_path_only", pathOnly)
        o.set("changes", .array(counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
            .object([("change", .string($0.key)), ("count", .int($0.value))])
        }))
        o.set("items", .array(items))
        return jsonResponse(200, o.value)
    }

    /// The rules and policies that decided, as a stored trace lists them (packets it made left out).
    static func rulePath(_ doc: JSONValue) -> [JSONValue] {
        guard case .array(let events) = doc["netfilter"] ?? .null else { return [] }
        return events.compactMap { e in
            guard let type = TraceViews.string(e["type"]), type == "rule" || type == "policy", e["generated"] != .bool(true) else { return nil }
            return .object([("hook", e["hook"] ?? .null), ("table", e["table"] ?? .null), ("chain", e["chain"] ?? .null),
                            ("handle", e["handle"] ?? .null), ("rule", e["rule"] ?? .null), ("verdict", e["verdict"] ?? .null)])
        }
    }

    static func ruleStep(_ e: NFEvent) -> JSONValue {
        .object([("hook", .string(e.hook.rawValue)), ("table", .string(e.table)), ("chain", .string(e.chain)),
                 ("handle", e.handle.map { .int($0) } ?? .null), ("rule", e.rule.map { .string($0) } ?? .null), ("verdict", .string(e.verdict))])
    }

    /// A step compared by what the rule says, not its handle (a candidate's rules are numbered afresh).
    static func pathKey(_ step: JSONValue) -> String {
        [step["hook"], step["table"], step["chain"], step["rule"], step["verdict"]].map { $0?.rendered() ?? "null" }.joined(separator: "|")
    }
}
