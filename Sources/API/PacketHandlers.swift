import HTTPServer
import JSON
import Kernel
import Store
import Wire

// POST /v1/stacks/{stack}/packets
/// Which kept traces an injection's answer carries (`?results=`): every one (the default), the
/// dropped packets' only, or none (the counts and the kept traces' ids): a large batch's answer
/// need not repeat what the store holds.
enum ResultsAnswer: String {
    case all, dropped, none

    /// Whether the answer carries this packet's trace (when the mode kept one).
    func shows(_ r: PacketResult) -> Bool { self == .all || self == .dropped && r.outcome == .dropped }
}

extension App {
    func injectPackets(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse { try injectPackets(req, name, held: nil) }

    /// `held`: the stack, its lock held by the loop thread for the whole request (an inline
    /// injection): the registry is not asked again, nor for links (it had none), since a thread
    /// that holds the registry's lock may be waiting for this stack's (a delete).
    private func injectPackets(_ req: HTTPRequest, _ name: String, held: StackEntry?) throws(Problem) -> HTTPResponse {
        var q = try Query(req.query)
        let sync = try q.bool("sync")
        let pcapDevice = q.string("device")
        let pcapStart = try q.int("start_ns", in: 0...Int(Stack.clockLimitNs), default: -1)
        let rateParam = try q.int("rate_pps", in: 1...1_000_000_000, default: -1)
        let traceParam = q.string("trace")
        // `?progress=N`: a capture of any size, run N packets at a time, answered with NDJSON progress lines.
        let progress = try q.int("progress", in: 1...1_000_000, default: -1)
        // `?xdp=insns`: XDP runs record every instruction (the verifier log's view, at run time).
        let xdpInsns = q.string("xdp")
        guard xdpInsns == nil || xdpInsns == "insns" else { throw Problem.badRequest("invalid-query", "xdp takes insns (an instruction trace of XDP runs)") }
        let resultsParam = q.string("results")
        guard let answer = ResultsAnswer(rawValue: resultsParam ?? "all") else {
            throw Problem.badRequest("invalid-query", "results takes all, dropped or none (which kept traces the answer carries)")
        }
        try q.finish()
        let e: StackEntry
        if let held { e = held } else { e = try entry(name) }
        let mode = try traceMode(traceParam, of: e)
        try enterRunning()
        // A streamed capture import hands its slot to the run, which gives it back at its end.
        var handedOff = false
        defer { if !handedOff { running.leave() } }
        // Decode every packet before running any, so a bad one changes nothing.
        var rate: Int? = nil
        var startNs: Int? = nil
        // A capture's packets keep their spacing: offsets from its first packet, in virtual ns.
        var offsets: [UInt64]? = nil
        let specs: [PacketSpec]
        guard progress < 0 || Self.isCapture(req) else { throw Problem.badRequest("invalid-query", "progress is for capture bodies (pcap, pcapng)") }
        guard progress < 0 || resultsParam == nil else { throw Problem.badRequest("invalid-query", "results is for answers in one piece (progress lines carry counts only)") }
        if Self.isCapture(req) {
            guard rateParam < 0 else { throw Problem.badRequest("invalid-query", "rate_pps is for NDJSON bodies: a capture's packets keep their own spacing") }
            startNs = pcapStart >= 0 ? pcapStart : nil
            if progress > 0 {
                let r = try importCapture(req, e, device: try captureDevice(pcapDevice, stack: e.stack), startNs: startNs, mode: mode, sync: sync,
                                          every: progress, xdpInsns: xdpInsns != nil)
                handedOff = true
                return r
            }
            (specs, offsets) = try captureSpecs(req, device: pcapDevice, stack: e.stack)
        } else if Self.isNDJSON(req) {
            guard pcapDevice == nil else { throw Problem.badRequest("invalid-query", "device in the query is for capture bodies; NDJSON lines name their own") }
            specs = try ndjsonSpecs(req, stack: e.stack)
            startNs = pcapStart >= 0 ? pcapStart : nil
            rate = rateParam > 0 ? rateParam : nil
        } else {
            guard pcapDevice == nil, pcapStart < 0, rateParam < 0 else {
                throw Problem.badRequest("invalid-query", "device, start_ns and rate_pps in the query are for capture and NDJSON bodies; a JSON body names its own")
            }
            let doc = try parseJSONBody(req)
            specs = try decoding {
            var r = try FieldReader(doc)
            guard let packets = try r.array("packets") else { throw JSONShapeError(path: "/packets", message: "is required") }
            rate = try r.int("rate_pps", in: 1...1_000_000_000)
            startNs = try r.int("start_ns", in: 0...Int(Stack.clockLimitNs))
            try r.finish()
            guard !packets.isEmpty else { throw Problem.unprocessable("packets must not be empty", pointer: "/packets") }
            guard packets.count <= limits.maxPacketsPerRequest else {
                throw Problem.unprocessable("at most \(limits.maxPacketsPerRequest) packets per request", pointer: "/packets")
            }
            return try packets.enumerated().map { i, p in try PacketSpec.decode(p, path: "/packets/\(i)", stack: e.stack) }
            }
        }
        let results = try runTraced(e, mode: mode, packets: specs.count, check: { (s: Stack) throws(Problem) in try Self.checkClock(s, startNs: startNs) }) { s in
            // With a rate, packet i arrives at start + i/rate unless it names its own at_ns.
            let base = startNs.map { UInt64($0) } ?? s.clockNs
            s.xdpInstructionTrace = xdpInsns != nil
            defer { s.xdpInstructionTrace = false }
            return s.inject(specs.enumerated().map { i, p in
                Injection(device: p.device.index, frame: p.frame,
                          atNs: p.atNs ?? offsets.map { base + $0[i] } ?? rate.map { base + UInt64(i) * 1_000_000_000 / UInt64($0) } ?? startNs.map { UInt64($0) })
            })
        }
        let hops = held == nil ? followLinks(results, from: name) : [[Hop]](repeating: [], count: results.count)
        return try storeTraces(results, hops: hops, mode: mode, entry: e, sync: sync, answer: answer)
    }

    /// A small injection answered on the loop thread, when nothing in it could wait: the stack's
    /// lock is free and held throughout, the registry's too (and not taken again while the stack's
    /// is held: a delete takes them in the other order), no link leads to another stack's lock,
    /// the trace writer has room, and `sync` (a wait for the disk) is not asked. Otherwise nil: a
    /// worker runs it as any other. The same answer either way.
    func injectPacketsInline(_ req: HTTPRequest, _ name: String) throws(Problem) -> HTTPResponse? {
        // Any mention of sync (or an escape that could spell it) goes to a worker.
        guard req.spooled == nil, req.body.count <= Self.inlineBodyLimit, !Self.isCapture(req), !req.query.utf8.contains(UInt8(ascii: "%")),
              !Self.mentions(req.query, "sync") else { return nil }
        guard let e = registry.getUnlinkedWithoutWaiting(name), store.traceQueueHasRoom else { return nil }
        return try e.tryHolding { () throws(Problem) -> HTTPResponse in try injectPackets(req, name, held: e) }
    }

    /// `word` appears in `text` (a plain walk: the standard library's generic search was a seventh
    /// of a one-packet injection).
    static func mentions(_ text: String, _ word: StaticString) -> Bool {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        var text = text
        return text.withUTF8 { t in
            guard t.count >= w.count else { return false }
            for i in 0...(t.count - w.count) where t[i] == w[0] {
                if (1..<w.count).allSatisfy({ t[i + $0] == w[$0] }) { return true }
            }
            return false
        }
    }

    /// A body this small is a few packets: microseconds of work, less than a worker's hand-off.
    static let inlineBodyLimit = 1024

    /// The trace mode a request asks for (`?trace=`), or its stack's.
    func traceMode(_ param: String?, of e: StackEntry) throws(Problem) -> TraceMode {
        guard let param else { return TraceMode(e.stack.config.traceMode) ?? .full }   // the config is immutable: no lock
        guard let m = TraceMode(param) else { throw Problem.badRequest("invalid-query", TraceMode.help) }
        return m
    }

    /// Each injection or send holds a worker while it runs: a bound keeps a flood from taking them all.
    func enterRunning() throws(Problem) {
        guard running.enter(max: limits.maxConcurrentInjections) else {
            var p = Problem(status: 429, slug: "too-many-injections", detail: "\(limits.maxConcurrentInjections) injections are running (--max-injections); try again")
            p.headers = [HTTPHeader("retry-after", "1")]
            throw p
        }
    }

    /// The stack and the `?trace=` and `?sync=` of a request that runs packets and takes no other query.
    func runOptions(_ req: HTTPRequest, _ name: String) throws(Problem) -> (e: StackEntry, mode: TraceMode, sync: Bool) {
        var q = try Query(req.query)
        let sync = try q.bool("sync")
        let traceParam = q.string("trace")
        try q.finish()
        let e = try entry(name)
        return (e, try traceMode(traceParam, of: e), sync)
    }

    /// Runs `body` under the stack's lock as `mode` traces: the trace quota taken first (what the
    /// mode then did not keep given back), recording off for `none` (the path runs without
    /// stages or rule events), every packet counted in the stack's outcomes. `from` is the first
    /// packet's index in its injection (a capture runs in pieces; `sample:N` counts across them).
    func runTraced(_ e: StackEntry, mode: TraceMode, packets: Int, from first: Int = 0, check: (Stack) throws(Problem) -> Void = { _ in },
                   _ body: (Stack) -> [PacketResult]) throws(Problem) -> [PacketResult] {
        try e.withStack { (s: Stack) throws(Problem) -> [PacketResult] in
            try check(s)
            let most = try takeTraceQuota(e, packets: packets, from: first, mode: mode)
            let tracing = s.tracing
            if mode == .none { s.tracing = false }
            defer { s.tracing = tracing }
            let results = body(s)
            for (key, n) in Self.outcomeRuns(results) { e.outcomes[key, default: 0] += n }
            let kept = results.enumerated().reduce(0) { $0 + (mode.keep(first + $1.offset, $1.element) == nil ? 0 : 1) }
            e.storedTraces -= most - kept
            return results
        }
    }

    /// Takes the trace quota (under the stack's lock) before anything runs, as many traces as the
    /// mode may keep of `packets`, so a refused request changes nothing; answers how many, for
    /// giving back what the mode did not keep.
    func takeTraceQuota(_ e: StackEntry, packets: Int, from first: Int = 0, mode: TraceMode) throws(Problem) -> Int {
        let most = switch mode {
        case .none: 0
        // Indices first..<first+packets that are multiples of n.
        case .sample(let n): (first + packets + n - 1) / n - (first + n - 1) / n
        default: packets
        }
        guard e.storedTraces + most <= limits.maxTracesPerStack else {
            throw Problem(status: 422, slug: "trace-quota",
                          detail: "stack \(e.record.name) holds \(e.storedTraces) traces and this request adds up to \(most); at most \(limits.maxTracesPerStack) per stack (--max-traces): DELETE /v1/stacks/\(e.record.name)/traces first")
        }
        e.storedTraces += most
        return most
    }

    /// Keeps the traces the mode wants (in the store and the answer) and answers every packet's
    /// outcome: the tail of an injection and of a socket send.
    func storeTraces(_ results: [PacketResult], hops: [[Hop]], mode: TraceMode, entry e: StackEntry, sync: Bool,
                     extra: [(String, JSONValue)] = [], answer: ResultsAnswer = .all) throws(Problem) -> HTTPResponse {
        let stored = try storeRows(results, hops: hops, mode: mode, entry: e, sync: sync, answer: answer)
        let texts = stored.texts
        var body: [UInt8] = []
        body.reserveCapacity(answer == .none ? 256 : texts.reduce(32) { $0 + $1.utf8.count + 1 })
        body.append(contentsOf: #"{"results":["#.utf8)
        var first = true
        for (k, t) in texts.enumerated() where answer.shows(results[stored.origins[k]]) {
            if !first { body.append(0x2c) }
            first = false
            body.append(contentsOf: t.utf8)
        }
        // Every packet counts, kept or not.
        var outcomes: [String: Int] = [:]
        for (key, n) in Self.outcomeRuns(results) { outcomes[key.outcome.rawValue, default: 0] += n }
        let counts = JSONValue.object(outcomes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }).rendered()
        body.append(contentsOf: #"],"trace":"\#(mode.text)","packets":\#(results.count),"outcomes":\#(counts),"durable":\#(stored.durable)"#.utf8)
        // The last `dropped` traces of the answer were not stored: the writer's queue was full.
        if stored.dropped > 0 { body.append(contentsOf: #","traces_dropped":\#(stored.dropped)"#.utf8) }
        // Without every trace in the answer, the ids it kept (consecutive), to query them by.
        if answer != .all && !stored.ids.isEmpty {
            body.append(contentsOf: #","trace_ids":{"first":\#(stored.ids.lowerBound),"last":\#(stored.ids.upperBound - 1)}"#.utf8)
        }
        for (k, v) in extra { body.append(contentsOf: ",\(JSONValue.string(k).rendered()):\(v.rendered())".utf8) }
        body.append(0x7d)
        body.append(0x0a)
        return HTTPResponse(status: 200, headers: [HTTPHeader("content-type", "application/json")], body: body)
    }

    /// The traces `mode` keeps of `results` (packet `from + k` of its injection), rendered once
    /// for the store and the answer, handed to the writer a piece at a time as they are rendered
    /// (so the writer commits while the rest render): their texts (empty where neither the store
    /// nor `answer` needs one: a summary row stored as its columns alone), their ids, how many the
    /// writer's full queue dropped (the last ones), and whether `sync` saw them committed.
    func storeRows(_ results: [PacketResult], hops: [[Hop]], mode: TraceMode, entry e: StackEntry, sync: Bool,
                   from firstPacket: Int = 0, answer: ResultsAnswer = .all) throws(Problem) -> (texts: [String], origins: [Int], ids: Range<Int64>, dropped: Int, durable: Bool) {
        let name = e.record.name
        // Indices, not copies: a result copied retains each of its arrays.
        var keptIndexed: [(origin: Int, how: TraceMode.Kept)] = []
        keptIndexed.reserveCapacity(results.count)
        for k in results.indices { if let how = mode.keep(firstPacket + k, results[k]) { keptIndexed.append((k, how)) } }
        let first = store.allocateTraceIDs(keptIndexed.count)
        let now = keptIndexed.isEmpty ? "" : Timestamp.now()
        var texts: [String] = []
        var rows: [TraceRecord] = []
        texts.reserveCapacity(keptIndexed.count); rows.reserveCapacity(Self.storePiece)
        var dropped = 0
        for (k, (origin, how)) in keptIndexed.enumerated() {
            let id = first + Int64(k), r = results[origin]
            let h = origin < hops.count ? hops[origin] : []
            let text: String, body: String
            var split: (text: String, body: String, parts: TraceParts)? = nil
            if how == .full {
                // A full trace's stages, netfilter events and frames go to rows of their own.
                let doc = TraceDocument.encode(id: id, stack: name, createdAt: now, r, hops: h)
                split = TraceStorage.split(doc, frame: r.frame, emitted: r.emitted.map {
                    TraceFrame(direction: .out, device: $0.device, timeNs: Int64(clamping: $0.timeNs), bytes: $0.frame)
                })
                text = split?.text ?? doc.rendered()
                body = split?.body ?? text
            } else {
                let columns = TraceDocument.summaryFromColumns(r, hops: h)
                text = columns && !answer.shows(r) ? "" : TraceDocument.summaryText(id: id, stack: name, createdAt: now, r, hops: h)
                body = columns ? "" : text
            }
            texts.append(text)
            rows.append(TraceRecord(id: id, stackID: e.record.id, stackName: name, device: r.device, outcome: r.outcome.rawValue,
                                    dropReason: r.dropReason?.rawValue, createdAt: now, body: body, index: TraceIndexing.index(r),
                                    parts: split?.parts))
            if rows.count == Self.storePiece || k == keptIndexed.count - 1 {
                dropped += try enqueueRows(rows, entry: e, dropAll: dropped > 0)
                rows.removeAll(keepingCapacity: true)
            }
        }
        // Nothing kept: still a conflict when the stack was deleted meanwhile, as with rows.
        if keptIndexed.isEmpty { _ = try enqueueRows([], entry: e, dropAll: false) }
        let ids = first..<(first + Int64(keptIndexed.count))
        return (texts, keptIndexed.map(\.origin), ids, dropped, sync && store.flush(ids: ids))
    }

    /// Traces handed to the writer at a time by `storeRows`: small enough that the writer starts
    /// early, large enough that the stack's lock is taken rarely.
    static let storePiece = 256

    /// Enqueued under the stack's lock: a delete that follows waits for these rows to commit; a
    /// delete that came first means there is nothing to store them under. Rows the writer's full
    /// queue dropped (--trace-overflow drop; all of them with `dropAll`) give their quota back.
    private func enqueueRows(_ rows: [TraceRecord], entry e: StackEntry, dropAll: Bool) throws(Problem) -> Int {
        try e.withStack { (_: Stack) throws(Problem) -> Int in
            guard !e.deleted else {
                throw Problem(status: 409, slug: "conflict", detail: "stack \(e.record.name) was deleted while this ran; nothing was stored")
            }
            let n = store.enqueueTraces(rows, dropAll: dropAll)
            e.storedTraces -= n
            return n
        }
    }

    /// Outcomes counted over runs of equal ones: a batch's packets mostly share theirs, and a
    /// dictionary update per packet hashed the names (a tenth of a big batch's time).
    static func outcomeRuns(_ results: [PacketResult]) -> [(StackEntry.OutcomeKey, Int)] {
        var runs: [(StackEntry.OutcomeKey, Int)] = []
        var i = 0
        while i < results.count {
            let o = results[i].outcome, d = results[i].dropReason
            var j = i + 1
            while j < results.count && results[j].outcome == o && results[j].dropReason == d { j += 1 }
            runs.append((StackEntry.OutcomeKey(outcome: o, dropReason: d), j - i))
            i = j
        }
        return runs
    }

    /// A pcap or pcapng body (tcpdump -w, Wireshark).
    static func isCapture(_ req: HTTPRequest) -> Bool { captureMediaTypes.contains(req.mediaType) }
    /// The server writes these bodies to a temporary file as they arrive (`--max-capture`).
    public static let captureMediaTypes: Set<String> = ["application/vnd.tcpdump.pcap", "application/x-pcapng", "application/x-pcap"]

    /// The device a capture's frames arrive on (`?device=`).
    func captureDevice(_ name: String?, stack: Stack) throws(Problem) -> NetDevice {
        guard let name else { throw Problem.badRequest("invalid-query", "a capture body needs ?device=NAME: the device its frames arrive on") }
        guard let dev = stack.device(named: name) else {
            throw Problem(status: 422, slug: "unknown-device", detail: "stack \(stack.config.name) has no device \(name)", extra: [("pointer", .string("device"))])
        }
        return dev
    }

    /// The frames of a capture answered in one piece, all injected on `device`, and their times
    /// relative to the first; one over the packet limit stops the reading.
    func captureSpecs(_ req: HTTPRequest, device: String?, stack: Stack) throws(Problem) -> ([PacketSpec], [UInt64]) {
        let dev = try captureDevice(device, stack: stack)
        var reader = CapturePackets(req)
        let packets: [PCAP.Packet]
        do { packets = try reader.next(limits.maxPacketsPerRequest + 1) } catch { throw CapturePackets.problem(error) }
        guard !packets.isEmpty else { throw Problem.unprocessable("the capture holds no packets", pointer: "") }
        guard packets.count <= limits.maxPacketsPerRequest else {
            throw Problem.unprocessable("the capture holds more than \(limits.maxPacketsPerRequest) packets, the most one answer takes (--max-packets): add ?progress=N to run it N packets at a time with progress lines", pointer: "")
        }
        var clock = CaptureClock()
        return (packets.map { PacketSpec(device: dev, frame: $0.frame, atNs: nil) }, packets.map { clock.offset($0.timeNs) })
    }

    /// Virtual time ends at `Stack.clockLimitNs` (about 146 years), so no sum of valid inputs
    /// overflows; a rate schedule must not start in the stack's past.
    static func checkClock(_ s: Stack, startNs: Int?) throws(Problem) {
        guard s.clockNs <= Stack.clockLimitNs else {
            throw Problem.unprocessable("the stack's virtual clock (\(s.clockNs) ns) is past its limit of \(Stack.clockLimitNs) ns", pointer: "")
        }
        if let startNs, UInt64(startNs) < s.clockNs {
            throw Problem.unprocessable("start_ns \(startNs) is before the stack's clock (\(s.clockNs) ns): give a later time, or leave start_ns out to start now",
                                        pointer: "/start_ns")
        }
    }
}
