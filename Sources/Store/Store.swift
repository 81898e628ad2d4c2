import Foundation

/// The SQLite store: stacks and traces, WAL mode, prepared statements only.
/// All access is serialized by one lock; trace inserts are batched on the writer thread.
public final class Store: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    let db: SQLiteConnection
    let packs: PackStatements
    private var writer: TraceWriter!
    private var nextTraceID: Int64 = 1
    /// Guards nextTraceID alone: under `lock`, every injection waited for the trace writer's
    /// commit (its fsync) just to number its traces.
    private let idLock = NSLock()
    private var handedOut: Int64 { idLock.withLock { nextTraceID - 1 } }
    private var closed = false
    /// Versions applied when this store was opened.
    public private(set) var appliedMigrations: [Int] = []

    private let updateStackStmt: Statement
    private let insertVersionStmt, listVersionsStmt, getVersionStmt, latestVersionStmt: Statement
    private let insertStackStmt, listStacksStmt, deleteStackStmt, insertTraceStmt, insertRuleHitStmt, traceByIDStmt: Statement
    private let insertLinkStmt, listLinksStmt, deleteLinkStmt: Statement
    private let raiseWatermarkStmt, deleteTracesStmt: Statement
    private let saveStateStmt, stateStmt: Statement
    private let deleteTraceStmt, newestKeptStmt, newestOlderStmt, unindexedStmt, setIndexStmt: Statement
    private let insertEventsStmt, insertFrameStmt, eventsStmt, framesStmt, setPartsStmt, unsplitStmt: Statement
    /// Rows written since the planner's statistics were last gathered, and how many there were then:
    /// the statistics are gathered again whenever the rows have doubled.
    private var insertedSinceAnalyze = 0, rowsAtAnalyze = 0
    /// Trace queries by their text (pieces of `TraceSQL` only), prepared once each.
    private var queryCache: [String: Statement] = [:]

    public enum Conflict: Error { case duplicateName }

    /// `traceQueue` rows of at most `traceQueueBytes` may wait for the disk; past that, `overflow`
    /// blocks injectors or drops rows.
    public init(path: String, migrations: [Migration] = EmbeddedMigrations.all, traceQueue: Int = 262_144, traceQueueBytes: Int = 64 << 20,
                overflow: TraceOverflow = .block) throws(StoreError) {
        self.path = path
        db = try SQLiteConnection(path: path)
        let q = try db.prepare("PRAGMA journal_mode=WAL")
        try q.reset([])
        _ = try q.step()
        let mode = q.text(0)
        q.done()
        guard mode == "wal" || path == ":memory:" else { throw StoreError(code: 0, message: "journal_mode is \(mode ?? "?"), not wal") }
        // In WAL mode, synchronous=NORMAL survives a crash of this process but may lose the last
        // commits on power loss; FULL syncs the WAL at every commit, which is what "durable" promises.
        try db.exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL")
        appliedMigrations = try db.migrate(migrations)
        insertStackStmt = try db.prepare("INSERT INTO stacks (name, config, created_at) VALUES (?1, ?2, ?3)")
        updateStackStmt = try db.prepare("UPDATE stacks SET config = ?2 WHERE name = ?1")
        insertVersionStmt = try db.prepare("INSERT INTO ruleset_versions (stack_id, version, created_at, summary, ruleset) VALUES (?1, (SELECT COALESCE(MAX(version), 0) + 1 FROM ruleset_versions WHERE stack_id = ?1), ?2, ?3, ?4)")
        listVersionsStmt = try db.prepare("SELECT version, created_at, summary, ruleset FROM ruleset_versions WHERE stack_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3")
        getVersionStmt = try db.prepare("SELECT version, created_at, summary, ruleset FROM ruleset_versions WHERE stack_id = ?1 AND version = ?2")
        latestVersionStmt = try db.prepare("SELECT version, created_at, summary, ruleset FROM ruleset_versions WHERE stack_id = ?1 ORDER BY version DESC LIMIT 1")
        listStacksStmt = try db.prepare("SELECT id, name, config, created_at FROM stacks ORDER BY id")
        deleteStackStmt = try db.prepare("DELETE FROM stacks WHERE name = ?1")
        insertLinkStmt = try db.prepare("INSERT INTO links (a_stack_id, a_dev, b_stack_id, b_dev, delay_ns, rate_mbps, loss_ppm, reorder_ppm, seed, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
        listLinksStmt = try db.prepare("SELECT l.id, sa.name, l.a_dev, sb.name, l.b_dev, l.delay_ns, l.rate_mbps, l.loss_ppm, l.reorder_ppm, l.seed, l.created_at FROM links l JOIN stacks sa ON sa.id = l.a_stack_id JOIN stacks sb ON sb.id = l.b_stack_id ORDER BY l.id")
        deleteLinkStmt = try db.prepare("DELETE FROM links WHERE id = ?1")
        deleteTracesStmt = try db.prepare("DELETE FROM traces WHERE id IN (SELECT id FROM traces WHERE stack_id = ?1 AND id <= ?2 ORDER BY id LIMIT \(Store.deleteBatch))")
        raiseWatermarkStmt = try db.prepare("UPDATE trace_id_watermark SET value = MAX(value, ?1) WHERE id = 1")
        insertTraceStmt = try db.prepare("""
            INSERT INTO traces (id, stack_id, device, outcome, drop_reason, created_at, body, indexed, start_ns, end_ns, length, last_stage,
                                stages_lo, stages_hi, proto, saddr, daddr, sport, dport, nat_saddr, nat_daddr, nat_sport, nat_dport, parts)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?24, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)
            """)
        setIndexStmt = try db.prepare("""
            UPDATE traces SET indexed = 1, start_ns = ?2, end_ns = ?3, length = ?4, last_stage = ?5, stages_lo = ?6, stages_hi = ?7, proto = ?8,
                saddr = ?9, daddr = ?10, sport = ?11, dport = ?12, nat_saddr = ?13, nat_daddr = ?14, nat_sport = ?15, nat_dport = ?16
            WHERE id = ?1
            """)
        insertRuleHitStmt = try db.prepare("INSERT OR REPLACE INTO trace_rules (trace_id, seq, hook, family, tbl, chain, handle, verdict) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        traceByIDStmt = try db.prepare("SELECT t.id, t.stack_id, t.device, t.outcome, t.drop_reason, t.created_at, t.body, t.start_ns, t.end_ns, t.length, t.last_stage, t.proto, t.saddr, t.daddr, t.sport, t.dport, t.nat_saddr, t.nat_daddr, t.nat_sport, t.nat_dport, t.parts, t.indexed FROM traces t WHERE t.id = ?1")
        insertEventsStmt = try db.prepare("INSERT OR REPLACE INTO trace_event_lists (trace_id, stages, netfilter) VALUES (?1, ?2, ?3)")
        insertFrameStmt = try db.prepare("INSERT OR REPLACE INTO trace_frames (trace_id, seq, direction, device, time_ns, frame) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        eventsStmt = try db.prepare("SELECT stages, netfilter FROM trace_event_lists WHERE trace_id = ?1")
        framesStmt = try db.prepare("SELECT direction, device, time_ns, frame FROM trace_frames WHERE trace_id = ?1 ORDER BY seq")
        setPartsStmt = try db.prepare("UPDATE traces SET body = COALESCE(?2, body), parts = ?3 WHERE id = ?1")
        unsplitStmt = try db.prepare("SELECT id, body FROM traces WHERE parts = -1 ORDER BY id LIMIT ?1")
        deleteTraceStmt = try db.prepare("DELETE FROM traces WHERE id = ?1")
        saveStateStmt = try db.prepare("INSERT OR REPLACE INTO stack_state (stack_id, version, clock_ns, ruleset, conntrack, bpf_maps, saved_at, runtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        stateStmt = try db.prepare("SELECT version, clock_ns, ruleset, conntrack, saved_at, bpf_maps, runtime FROM stack_state WHERE stack_id = ?1")
        newestKeptStmt = try db.prepare("SELECT id FROM traces WHERE stack_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2")
        newestOlderStmt = try db.prepare("SELECT MAX(id) FROM traces WHERE stack_id = ?1 AND created_at < ?2")
        unindexedStmt = try db.prepare("SELECT id, body FROM traces WHERE indexed = 0 ORDER BY id LIMIT ?1")
        packs = try PackStatements(db)
        let maxQ = try db.prepare("SELECT MAX(COALESCE((SELECT MAX(id) FROM traces), 0), COALESCE((SELECT MAX(last_id) FROM trace_packs), 0), (SELECT value FROM trace_id_watermark))")
        try maxQ.reset([])
        _ = try maxQ.step()
        nextTraceID = maxQ.int(0) + 1
        maxQ.done()
        let countQ = try db.prepare("SELECT COUNT(*) FROM traces")
        try countQ.reset([])
        _ = try countQ.step()
        rowsAtAnalyze = Int(countQ.int(0))
        countQ.done()
        if rowsAtAnalyze > 0 { try db.exec("PRAGMA analysis_limit=1000; ANALYZE traces; ANALYZE trace_rules") }
        writer = TraceWriter(capacity: traceQueue, capacityBytes: traceQueueBytes, overflow: overflow) { [unowned self] rows in self.insertTraces(rows) }
    }

    func locked<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { throw StoreError(code: 0, message: "store is closed") }
        return try body()
    }

    /// True when the database answers a read (for /readyz).
    public func ping() -> Bool {
        (try? locked { () throws(StoreError) -> Bool in
            try listStacksStmt.reset([])
            _ = try listStacksStmt.step()
            listStacksStmt.done()
            return true
        }) ?? false
    }

    // MARK: stacks

    public func insertStack(name: String, config: String) throws(StoreError) -> StackRecord {
        try locked { () throws(StoreError) -> StackRecord in
            let now = Timestamp.now()
            try insertStackStmt.run([.text(name), .text(config), .text(now)])
            return StackRecord(id: db.lastInsertRowID, name: name, config: config, createdAt: now)
        }
    }

    public func stacks() throws(StoreError) -> [StackRecord] {
        try locked { () throws(StoreError) -> [StackRecord] in
            try listStacksStmt.reset([])
            var out: [StackRecord] = []
            while try listStacksStmt.step() {
                out.append(StackRecord(id: listStacksStmt.int(0), name: listStacksStmt.text(1) ?? "",
                                       config: listStacksStmt.text(2) ?? "", createdAt: listStacksStmt.text(3) ?? ""))
            }
            listStacksStmt.done()
            return out
        }
    }

    /// Stores a stack's changed document (routes, neighbours, sockets changed through the API).
    public func updateStack(name: String, config: String) throws(StoreError) {
        try locked { () throws(StoreError) in try updateStackStmt.run([.text(name), .text(config)]) }
    }

    // MARK: links

    public func insertLink(_ l: LinkRecord, aStackID: Int64, bStackID: Int64) throws(StoreError) -> LinkRecord {
        try locked { () throws(StoreError) -> LinkRecord in
            let now = Timestamp.now()
            try insertLinkStmt.run([.int(aStackID), .text(l.aDev), .int(bStackID), .text(l.bDev), .int(l.delayNs), .int(l.rateMbps), .int(l.lossPPM), .int(l.reorderPPM), .int(l.seed), .text(now)])
            var out = l
            out.id = db.lastInsertRowID; out.createdAt = now
            return out
        }
    }

    /// Every link, with its stacks' names (a link goes when either stack is deleted).
    public func links() throws(StoreError) -> [LinkRecord] {
        try locked { () throws(StoreError) -> [LinkRecord] in
            try listLinksStmt.reset([])
            var out: [LinkRecord] = []
            while try listLinksStmt.step() {
                let s = listLinksStmt
                out.append(LinkRecord(id: s.int(0), aStack: s.text(1) ?? "", aDev: s.text(2) ?? "", bStack: s.text(3) ?? "", bDev: s.text(4) ?? "",
                                      delayNs: s.int(5), rateMbps: s.int(6), lossPPM: s.int(7), reorderPPM: s.int(8), seed: s.int(9), createdAt: s.text(10) ?? ""))
            }
            listLinksStmt.done()
            return out
        }
    }

    public func deleteLink(id: Int64) throws(StoreError) -> Bool {
        try locked { () throws(StoreError) -> Bool in
            try deleteLinkStmt.run([.int(id)])
            return db.changes > 0
        }
    }

    // MARK: runtime state

    /// Stores a stack's checkpoint (replacing the one before).
    public func saveState(stackID: Int64, _ st: StackState) throws(StoreError) {
        try locked { () throws(StoreError) in
            try saveStateStmt.run([.int(stackID), .int(Int64(st.version)), .int(Int64(bitPattern: st.clockNs)), .text(st.ruleset), Self.value(st.conntrack),
                                   .text(st.bpfMaps), .text(Timestamp.now()), .text(st.runtime)])
        }
    }

    private static func value(_ c: StackState.Conntrack) -> Statement.Value {
        switch c { case .binary(let b): .blob(b); case .json(let t): .text(t) }
    }

    /// A stack's last checkpoint, if any.
    public func state(stackID: Int64) throws(StoreError) -> StackState? {
        try locked { () throws(StoreError) -> StackState? in
            try stateStmt.reset([.int(stackID)])
            defer { stateStmt.done() }
            guard try stateStmt.step() else { return nil }
            return StackState(version: Int(stateStmt.int(0)), clockNs: UInt64(bitPattern: stateStmt.int(1)), ruleset: stateStmt.text(2) ?? "",
                              conntrack: stateStmt.isBlob(3) ? .binary(stateStmt.blob(3) ?? []) : .json(stateStmt.text(3) ?? "[]"), bpfMaps: stateStmt.text(5) ?? "[]",
                              runtime: stateStmt.text(6) ?? "{}", savedAt: stateStmt.text(4) ?? "")
        }
    }

    // MARK: ruleset versions

    /// Stores a new version (the next number for the stack) and returns it.
    public func addRulesetVersion(stackID: Int64, summary: String, ruleset: String) throws(StoreError) -> RulesetVersion {
        try locked { () throws(StoreError) -> RulesetVersion in
            let now = Timestamp.now()
            try insertVersionStmt.run([.int(stackID), .text(now), .text(summary), .text(ruleset)])
            try latestVersionStmt.reset([.int(stackID)])
            defer { latestVersionStmt.done() }
            _ = try latestVersionStmt.step()
            return version(latestVersionStmt)
        }
    }

    public func rulesetVersions(stackID: Int64, after: Int = 0, limit: Int = 100) throws(StoreError) -> [RulesetVersion] {
        try locked { () throws(StoreError) -> [RulesetVersion] in
            try listVersionsStmt.reset([.int(stackID), .int(Int64(after)), .int(Int64(limit))])
            var out: [RulesetVersion] = []
            while try listVersionsStmt.step() { out.append(version(listVersionsStmt)) }
            listVersionsStmt.done()
            return out
        }
    }

    public func rulesetVersion(stackID: Int64, version v: Int) throws(StoreError) -> RulesetVersion? {
        try locked { () throws(StoreError) -> RulesetVersion? in
            try getVersionStmt.reset([.int(stackID), .int(Int64(v))])
            defer { getVersionStmt.done() }
            return try getVersionStmt.step() ? version(getVersionStmt) : nil
        }
    }

    public func latestRulesetVersion(stackID: Int64) throws(StoreError) -> RulesetVersion? {
        try locked { () throws(StoreError) -> RulesetVersion? in
            try latestVersionStmt.reset([.int(stackID)])
            defer { latestVersionStmt.done() }
            return try latestVersionStmt.step() ? version(latestVersionStmt) : nil
        }
    }

    private func version(_ s: Statement) -> RulesetVersion {
        RulesetVersion(version: Int(s.int(0)), createdAt: s.text(1) ?? "", summary: s.text(2) ?? "", ruleset: s.text(3) ?? "")
    }

    /// Deletes a stack and its traces (after the writer has committed what it holds). The ids
    /// handed out so far are kept as a watermark in the same transaction, so none is reused.
    @discardableResult
    public func deleteStack(name: String) throws(StoreError) -> Bool {
        writer.flush()
        return try deleteKeepingWatermark(deleteStackStmt, [.text(name)]) > 0
    }

    /// Runs one delete of traces (with their stack, or alone) in a transaction that raises the
    /// watermark to the ids handed out, so none is reused; rows deleted. Callers flush the writer
    /// first, so what it holds is committed (and deleted) too.
    private func deleteKeepingWatermark(_ delete: Statement, _ params: [Statement.Value]) throws(StoreError) -> Int {
        try locked { () throws(StoreError) -> Int in
            try db.exec("BEGIN")
            do throws(StoreError) {
                try raiseWatermarkStmt.run([.int(handedOut)])
                try delete.run(params)
                let n = db.changes
                try db.exec("COMMIT")
                return n
            } catch {
                try? db.exec("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: traces

    /// Stored traces per stack id (for the per-stack quota at start-up).
    public func traceCounts() throws(StoreError) -> [Int64: Int] {
        try locked { () throws(StoreError) -> [Int64: Int] in
            let q = try db.prepare("SELECT stack_id, COUNT(*) FROM traces GROUP BY stack_id")
            try q.reset([])
            var out: [Int64: Int] = [:]
            while try q.step() { out[q.int(0)] = Int(q.int(1)) }
            q.done()
            for (stack, n) in try packedCounts() { out[stack, default: 0] += n }
            return out
        }
    }

    /// Deletes a stack's traces (after the writer has committed what it holds), keeping the ids
    /// handed out as the watermark in the same transaction; answers how many went.
    /// Rows deleted per transaction by `deleteTraces`.
    static let deleteBatch = 5_000

    /// Deletes a stack's traces with ids up to `upTo`, in transactions of `deleteBatch` rows: the
    /// trace writer and readers get the database between them (one transaction for 150,000 rows
    /// held everything for 7 s). Returns how many were deleted.
    public func deleteTraces(stackID: Int64, upTo: Int64) throws(StoreError) -> Int {
        writer.flush()
        var total = 0
        while true {
            let n = try deleteKeepingWatermark(deleteTracesStmt, [.int(stackID), .int(upTo)])
            total += n
            if n < Store.deleteBatch { break }
            // The lock is not fair: without a pause this thread takes it straight back, and the
            // writer and other requests waited for the whole delete (1.4 s for 300,000 rows).
            usleep(1_000)
        }
        let packed = try prunePacks({ (after: Int64) throws(StoreError) -> Statement in
            try packs.ofStackUpTo.reset([.int(stackID), .int(upTo), .int(after), .int(Int64(Store.packDeleteBatch))])
            return packs.ofStackUpTo
        }, drop: { $0.id <= upTo })
        return total + packed.values.reduce(0, +)
    }

    /// Raises the watermark to the ids handed out (inside a delete's transaction).
    func raiseWatermark() throws(StoreError) { try raiseWatermarkStmt.run([.int(handedOut)]) }

    /// The highest trace id handed out so far (0: none).
    public var lastAllocatedTraceID: Int64 { handedOut }

    /// Reserves `count` consecutive trace ids, so answers can name traces before they are written.
    public func allocateTraceIDs(_ count: Int) -> Int64 {
        idLock.lock(); defer { idLock.unlock() }
        let first = nextTraceID
        nextTraceID += Int64(count)
        return first
    }

    /// Hands rows to the writer thread; they are durable after `flush`. Answers how many (the last
    /// ones) were dropped because the queue was full under `.drop`, or, with `dropAll`, all of them.
    @discardableResult
    public func enqueueTraces(_ rows: [TraceRecord], dropAll: Bool = false) -> Int { writer.enqueue(rows, dropAll: dropAll) }

    public func flush() { writer.flush() }

    /// Enqueuing a few trace rows now would not wait for the writer.
    public var traceQueueHasRoom: Bool { writer.hasRoom }

    public var traceWriterStats: TraceWriterStats { writer.snapshot() }

    /// Waits until every row enqueued so far is written, and tells whether all of `ids` were
    /// stored (a row can fail alone, e.g. when its stack was deleted; the others still commit).
    public func flush(ids: Range<Int64>) -> Bool { writer.flush(checking: ids) }

    /// One transaction per batch. A row that fails (a constraint) is left out alone: SQLite undoes
    /// just that statement, so other stacks' rows in the batch still commit. Returns the ids not stored.
    private func insertTraces(_ rows: [TraceRecord]) -> [Int64] {
        lock.lock(); defer { lock.unlock() }
        var failed: [Int64] = []
        // Rows without events or frames of their own go into packs, one per stack, in order met.
        var packed: [Int64: [TraceRecord]] = [:], stacks: [Int64] = []
        do {
            try db.exec("BEGIN")
            for r in rows {
                if r.parts == nil {
                    if packed[r.stackID] == nil { stacks.append(r.stackID) }
                    packed[r.stackID, default: []].append(r)
                    continue
                }
                do {
                    try insertTrace(r)
                    try insertRuleHits(r.id, r.index.rules)
                    if let p = r.parts { try insertParts(r.id, p) }
                } catch where error.isConstraint {
                    failed.append(r.id)
                }
            }
            for stack in stacks {
                let group = packed[stack] ?? []
                for start in stride(from: 0, to: group.count, by: Store.packRows) {
                    let piece = group[start..<min(start + Store.packRows, group.count)]
                    do { try insertPack(piece) } catch where error.isConstraint { failed += piece.map(\.id) }
                }
            }
            try db.exec("COMMIT")
        } catch {
            try? db.exec("ROLLBACK")
            FileHandle.standardError.write(Data("trace batch of \(rows.count) not stored: \(error)\n".utf8))
            return rows.map(\.id)
        }
        if !failed.isEmpty { FileHandle.standardError.write(Data("\(failed.count) trace rows not stored (constraint)\n".utf8)) }
        insertedSinceAnalyze += rows.count - packed.values.reduce(0) { $0 + $1.count }
        if insertedSinceAnalyze > max(10_000, rowsAtAnalyze) { analyze() }
        return failed
    }

    public func trace(id: Int64) throws(StoreError) -> TraceRecord? {
        writer.flush()
        return try locked { () throws(StoreError) -> TraceRecord? in
            try traceByIDStmt.reset([.int(id)])
            guard try traceByIDStmt.step() else { traceByIDStmt.done(); return try packedTrace(id: id, names: try stackNames()) }
            var r = row(traceByIDStmt, try stackNames())
            let split = traceByIDStmt.int(20) != 0
            traceByIDStmt.done()
            if split { r.parts = try parts(id) }
            return r
        }
    }

    /// The traces `f` selects, with their events and frames when `parts` (a body without them has
    /// null where they go).
    public func traces(_ f: TraceFilter, parts withParts: Bool = true) throws(StoreError) -> [TraceRecord] {
        writer.flush()
        return try locked { () throws(StoreError) -> [TraceRecord] in
            guard let plan = try plan(f) else { return [] }
            let has = try holds(stackID: plan.stackID)
            var out: [TraceRecord] = []
            if has.traces {
                var q = TraceQueryText()
                q.add(.selectRows)
                // Newest first, the cursor is an upper bound (none: from the newest).
                if f.newestFirst { q.add(.beforeID, .int(f.afterID == 0 ? Int64.max : f.afterID)) } else { q.add(.afterID, .int(f.afterID)) }
                f.conditions(into: &q, stackID: plan.stackID, denseRules: plan.denseRules, sparseAddresses: plan.sparseAddresses, densePort: plan.densePort)
                q.add(f.newestFirst ? .orderDown : .orderUp, .int(Int64(f.limit)))
                let stmt = try statement(q)
                var split: [Int] = []
                while try stmt.step() {
                    if withParts && stmt.int(20) != 0 { split.append(out.count) }
                    out.append(row(stmt, plan.names))
                }
                stmt.done()
                for k in split { out[k].parts = try parts(out[k].id) }
            }
            let packed = has.packs ? try packedTraces(f, stackID: plan.stackID, names: plan.names) : []
            guard !packed.isEmpty else { return out }
            out += packed
            out.sort { f.newestFirst ? $0.id > $1.id : $0.id < $1.id }
            return Array(out.prefix(f.limit))
        }
    }

    /// Stored traces counted by one column under the same filters as `traces` ("where do my
    /// packets die"); by rule or hook, a trace counts once per rule event.
    public func aggregateTraces(by: TraceAggregate, _ f: TraceFilter) throws(StoreError) -> [(value: TraceValue, count: Int)] {
        writer.flush()
        return try locked { () throws(StoreError) -> [(value: TraceValue, count: Int)] in
            guard let plan = try plan(f) else { return [] }
            let has = try holds(stackID: plan.stackID)
            var counts: [TraceValue: Int] = [:]
            if has.traces { try countTraces(by: by, f, plan, into: &counts) }
            if has.packs { try countPacked(by: by, f, stackID: plan.stackID, into: &counts) }
            return counts.map { value, n in
                guard by == .stack, case .int(let id) = value else { return (value, n) }
                return (plan.names[id].map { .text($0) } ?? .null, n)
            }
        }
    }

    /// Adds the traces table's rows `f` selects to `counts`, grouped by `by` in SQL. Lock held.
    private func countTraces(by: TraceAggregate, _ f: TraceFilter, _ plan: Plan, into counts: inout [TraceValue: Int]) throws(StoreError) {
        var q = TraceQueryText()
        if by.perRule {
            q.add(by.expression)
            if f.hasTraceConditions { q.add(.joinTraces) }
        } else {
            q.add(.selectGroup); q.add(by.expression); q.add(.countFrom)
        }
        q.add(.whereAll)
        f.conditions(into: &q, stackID: plan.stackID, denseRules: plan.denseRules, sparseAddresses: plan.sparseAddresses, densePort: plan.densePort)
        q.add(by == .rule ? .groupBy4 : .groupBy)
        let stmt = try statement(q)
        while try stmt.step() {
            switch by {
            case .rule:
                let text = TraceAggregate.ruleText(family: stmt.text(0) ?? "", table: stmt.text(1) ?? "", chain: stmt.text(2) ?? "", handle: stmt.optInt(3))
                counts[.text(text), default: 0] += Int(stmt.int(4))
            default:
                counts[stmt.value(0), default: 0] += Int(stmt.int(1))
            }
        }
        stmt.done()
    }

    /// What a query needs before it runs: the stack's id (nil plan: a named stack that does not
    /// exist, so nothing matches), stack names by id, and whether the rule conditions select many
    /// rule events (then each trace is checked, newest first; otherwise their traces are looked up).
    private typealias Plan = (stackID: Int64?, names: [Int64: String], denseRules: Bool, sparseAddresses: Bool, densePort: Bool)

    private func plan(_ f: TraceFilter) throws(StoreError) -> Plan? {
        let names = try stackNames()
        let stackID = f.stack.flatMap { n in names.first { $0.value == n }?.key }
        if f.stack != nil && stackID == nil { return nil }
        var dense = false
        if f.hasRuleConditions {
            var q = TraceQueryText()
            q.add(.probeRules)
            f.ruleConditions(into: &q)
            q.add(.probeEnd)
            let stmt = try statement(q)
            if try stmt.step() { dense = stmt.int(0) >= 5000 }
            stmt.done()
        }
        // An address or CIDR few traces carry: through the address indexes (SQLite's guess for a
        // range is a quarter of the table, so on its own it walks the ids: 130 ms for one address).
        var sparse = false
        if let r = f.addr ?? f.src ?? f.dst {
            var q = TraceQueryText()
            q.add(f.dst != nil && f.addr == nil && f.src == nil ? .probeDaddr : .probeSaddr, .blob(r.lo), .blob(r.hi))
            let stmt = try statement(q)
            if try stmt.step() { sparse = stmt.int(0) < 5000 }
            stmt.done()
        }
        var densePort = false
        if let p = f.dport {
            var q = TraceQueryText()
            q.add(.probeDport, .int(p))
            let stmt = try statement(q)
            if try stmt.step() { densePort = stmt.int(0) >= 5000 }
            stmt.done()
        }
        return (stackID, names, dense, sparse, densePort)
    }

    /// Deletes the traces a filter selects (up to `f.maxID`), in transactions of `deleteBatch`
    /// rows with pauses between (writes and reads go on meanwhile), each keeping the watermark;
    /// answers how many went per stack id.
    public func deleteTraces(_ f: TraceFilter) throws(StoreError) -> [Int64: Int] {
        writer.flush()
        var total: [Int64: Int] = [:]
        var after: Int64 = 0
        while true {
            let n = try locked { () throws(StoreError) -> Int in
                guard let plan = try plan(f) else { return 0 }
                var q = TraceQueryText()
                q.add(.selectIDs); q.add(.afterID, .int(after))
                f.conditions(into: &q, stackID: plan.stackID, denseRules: plan.denseRules, sparseAddresses: plan.sparseAddresses, densePort: plan.densePort)
                q.add(.orderUp, .int(Int64(Store.deleteBatch)))
                let stmt = try statement(q)
                var ids: [(id: Int64, stack: Int64)] = []
                while try stmt.step() { ids.append((stmt.int(0), stmt.int(1))) }
                stmt.done()
                guard let last = ids.last else { return 0 }
                after = last.id
                try db.exec("BEGIN")
                do throws(StoreError) {
                    try raiseWatermarkStmt.run([.int(handedOut)])
                    for (id, stack) in ids {
                        try deleteTraceStmt.run([.int(id)])
                        total[stack, default: 0] += db.changes
                    }
                    try db.exec("COMMIT")
                } catch {
                    try? db.exec("ROLLBACK")
                    throw error
                }
                return ids.count
            }
            if n < Store.deleteBatch { break }
            usleep(1_000)
        }
        guard let stackID = try locked({ () throws(StoreError) -> Int64?? in try plan(f).map(\.stackID) }) else { return total }
        let packed = try prunePacks({ (after: Int64) throws(StoreError) -> Statement in
            var q = TraceQueryText()
            q.pack(.selectPacks); q.pack(.firstAbove, .int(after))
            f.packConditions(into: &q, stackID: stackID, sparse: try sparseKeys(f))
            q.pack(.orderUp); q.pack(.limit, .int(Int64(Store.packDeleteBatch)))
            return try statement(q)
        }, drop: { f.matches($0, stackID: stackID) })
        for (stack, n) in packed { total[stack, default: 0] += n }
        return total
    }

    /// The id at and below which a stack's traces are past its retention: more than `maxTraces`
    /// newer ones, or stored before `olderThan` (RFC 3339); nil when none is.
    public func retentionCut(stackID: Int64, maxTraces: Int?, olderThan: String?) throws(StoreError) -> Int64? {
        writer.flush()
        return try locked { () throws(StoreError) -> Int64? in
            var cut: Int64? = nil
            let packed = try packedCount(stackID: stackID)
            if let maxTraces, packed == 0 {
                try newestKeptStmt.reset([.int(stackID), .int(Int64(maxTraces))])
                if try newestKeptStmt.step() { cut = newestKeptStmt.int(0) }
                newestKeptStmt.done()
            } else if let maxTraces {
                try packs.countTraces.reset([.int(stackID)])
                let total = (try packs.countTraces.step() ? Int(packs.countTraces.int(0)) : 0) + packed
                packs.countTraces.done()
                if total > maxTraces { cut = try nthOldestTrace(stackID: stackID, total - maxTraces) }
            }
            if let olderThan {
                try newestOlderStmt.reset([.int(stackID), .text(olderThan)])
                if try newestOlderStmt.step(), let id = newestOlderStmt.optInt(0) { cut = max(cut ?? 0, id) }
                newestOlderStmt.done()
                if packed > 0, let id = try newestPackedBefore(stackID: stackID, wall: olderThan) { cut = max(cut ?? 0, id) }
            }
            return cut
        }
    }

    // MARK: trace columns

    /// The values of migration 5's columns, in the order the backfill's update takes them (?2...).
    static func indexValues(_ x: TraceIndex) -> [Statement.Value] {
        func i(_ v: Int64?) -> Statement.Value { v.map { .int($0) } ?? .null }
        func b(_ v: [UInt8]?) -> Statement.Value { v.map { .blob($0) } ?? .null }
        return [i(x.startNs), i(x.endNs), i(x.length), x.lastStage.map { .text($0) } ?? .null, .int(x.stagesLo), .int(x.stagesHi),
                i(x.proto), b(x.saddr), b(x.daddr), i(x.sport), i(x.dport), b(x.natSaddr), b(x.natDaddr), i(x.natSport), i(x.natDport)]
    }

    /// A trace's row, bound in place (the writer's hot path). When the tuple after NAT is known,
    /// each of its columns is NULL where it equals the one as the packet arrived (indexed = 2,
    /// migration 11: the after-NAT indexes then hold only what NAT changed); `row` fills them back.
    private func insertTrace(_ r: TraceRecord) throws(StoreError) {
        let s = insertTraceStmt, x = r.index
        s.bind(1, r.id); s.bind(2, r.stackID); s.bind(3, r.device); s.bind(4, r.outcome); s.bind(5, r.dropReason); s.bind(6, r.createdAt); s.bind(7, r.body)
        s.bind(8, x.startNs); s.bind(9, x.endNs); s.bind(10, x.length); s.bind(11, x.lastStage); s.bind(12, x.stagesLo); s.bind(13, x.stagesHi)
        s.bind(14, x.proto); s.bind(15, blob: x.saddr); s.bind(16, blob: x.daddr); s.bind(17, x.sport); s.bind(18, x.dport)
        // Unknown after NAT (a start without an end): stored as it is, NULL meaning unknown (indexed = 1).
        let elide = x.natSaddr != nil || x.natDaddr != nil || x.saddr == nil
        s.bind(19, blob: elide && x.natSaddr == x.saddr ? nil : x.natSaddr); s.bind(20, blob: elide && x.natDaddr == x.daddr ? nil : x.natDaddr)
        s.bind(21, elide && x.natSport == x.sport ? nil : x.natSport); s.bind(22, elide && x.natDport == x.dport ? nil : x.natDport)
        s.bind(23, Int64(r.parts == nil ? 0 : 1)); s.bind(24, Int64(elide ? 2 : 1))
        try s.insert()
    }

    private func insertRuleHits(_ id: Int64, _ rules: [TraceRuleHit]) throws(StoreError) {
        let s = insertRuleHitStmt
        for (k, h) in rules.enumerated() {
            s.bind(1, id); s.bind(2, Int64(k)); s.bind(3, h.hook); s.bind(4, h.family); s.bind(5, h.table); s.bind(6, h.chain); s.bind(7, h.handle); s.bind(8, h.verdict)
            try s.insert()
        }
    }

    private func insertParts(_ id: Int64, _ p: TraceParts) throws(StoreError) {
        let e = insertEventsStmt, f = insertFrameStmt
        e.bind(1, id); e.bind(2, p.stages); e.bind(3, p.netfilter)
        try e.insert()
        for (k, x) in p.frames.enumerated() {
            f.bind(1, id); f.bind(2, Int64(k)); f.bind(3, x.direction.rawValue); f.bind(4, x.device); f.bind(5, x.timeNs); f.bind(6, blob: x.bytes)
            try f.insert()
        }
    }

    /// A trace's events and frames, in order. Called with the lock held.
    private func parts(_ id: Int64) throws(StoreError) -> TraceParts {
        var p = TraceParts()
        try eventsStmt.reset([.int(id)])
        if try eventsStmt.step() { p.stages = eventsStmt.text(0) ?? "[]"; p.netfilter = eventsStmt.text(1) ?? "[]" }
        eventsStmt.done()
        try framesStmt.reset([.int(id)])
        while try framesStmt.step() {
            p.frames.append(TraceFrame(direction: TraceFrame.Direction(rawValue: framesStmt.text(0) ?? "") ?? .out, device: framesStmt.text(1) ?? "",
                                       timeNs: framesStmt.int(2), bytes: framesStmt.blob(3) ?? []))
        }
        framesStmt.done()
        return p
    }

    /// Rows stored before migration 5 whose columns are not filled in yet (oldest first).
    public func unindexedTraces(limit: Int) throws(StoreError) -> [(id: Int64, body: String)] { try bodies(unindexedStmt, limit: limit) }

    /// Fills in the columns of rows stored before migration 5, in one transaction.
    public func setIndexes(_ rows: [(id: Int64, index: TraceIndex)]) throws(StoreError) {
        try transaction { () throws(StoreError) in
            for (id, x) in rows {
                try setIndexStmt.run([.int(id)] + Store.indexValues(x))
                try insertRuleHits(id, x.rules)
            }
        }
    }

    /// Full traces stored before migration 9, whose events and frames are still in their bodies (oldest first).
    public func unsplitTraces(limit: Int) throws(StoreError) -> [(id: Int64, body: String)] { try bodies(unsplitStmt, limit: limit) }

    /// Moves such traces' events and frames into their tables: each body becomes `body`, the rest
    /// of its document (nil: a body that could not be split, left whole), in one transaction.
    public func setParts(_ rows: [(id: Int64, split: (body: String, parts: TraceParts)?)]) throws(StoreError) {
        try transaction { () throws(StoreError) in
            for (id, split) in rows {
                try setPartsStmt.run([.int(id), split.map { .text($0.body) } ?? .null, .int(split == nil ? 0 : 1)])
                if let split { try insertParts(id, split.parts) }
            }
        }
    }

    /// The ids and bodies a backfill's statement selects (`limit` at most).
    private func bodies(_ s: Statement, limit: Int) throws(StoreError) -> [(id: Int64, body: String)] {
        try locked { () throws(StoreError) -> [(id: Int64, body: String)] in
            try s.reset([.int(Int64(limit))])
            var out: [(id: Int64, body: String)] = []
            while try s.step() { out.append((s.int(0), s.text(1) ?? "")) }
            s.done()
            return out
        }
    }

    /// `body` in one transaction, under the lock: all of it commits or none.
    private func transaction(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        try locked { () throws(StoreError) in
            try db.exec("BEGIN")
            do throws(StoreError) {
                try body()
                try db.exec("COMMIT")
            } catch {
                try? db.exec("ROLLBACK")
                throw error
            }
        }
    }

    /// Gathers the planner's statistics (sampled: analysis_limit), so a filter that selects few rows
    /// goes through its index and one that selects many walks the ids: without them SQLite walked
    /// 1 million events for a single address (130 ms instead of 0.2 ms). Called with the lock held.
    private func analyze() {
        try? db.exec("PRAGMA analysis_limit=1000; ANALYZE traces; ANALYZE trace_rules")
        rowsAtAnalyze += insertedSinceAnalyze
        insertedSinceAnalyze = 0
    }

    /// The prepared statement for a query's text (only ever pieces of `TraceSQL`), bound.
    func statement(_ q: TraceQueryText) throws(StoreError) -> Statement {
        let stmt: Statement
        if let s = queryCache[q.sql] { stmt = s } else {
            if queryCache.count >= 256 { queryCache.removeAll() }
            stmt = try db.prepare(q.sql)
            queryCache[q.sql] = stmt
        }
        try stmt.reset(q.values)
        return stmt
    }

    /// A row of `selectRows` or `traceByIDStmt` (the same columns), its stack named from `names`.
    private func row(_ s: Statement, _ names: [Int64: String]) -> TraceRecord {
        var x = TraceIndex()
        x.startNs = s.optInt(7); x.endNs = s.optInt(8); x.length = s.optInt(9); x.lastStage = s.text(10); x.proto = s.optInt(11)
        x.saddr = s.blob(12); x.daddr = s.blob(13); x.sport = s.optInt(14); x.dport = s.optInt(15)
        x.natSaddr = s.blob(16); x.natDaddr = s.blob(17); x.natSport = s.optInt(18); x.natDport = s.optInt(19)
        // Written with the unchanged after-NAT columns left out (insertTrace): they are the arrival's.
        if s.int(21) == 2 {
            x.natSaddr = x.natSaddr ?? x.saddr; x.natDaddr = x.natDaddr ?? x.daddr; x.natSport = x.natSport ?? x.sport; x.natDport = x.natDport ?? x.dport
        }
        return TraceRecord(id: s.int(0), stackID: s.int(1), stackName: names[s.int(1)] ?? "", device: s.text(2) ?? "",
                           outcome: s.text(3) ?? "", dropReason: s.text(4), createdAt: s.text(5) ?? "", body: s.text(6) ?? "", index: x)
    }

    /// Every stack's name by id (a small table: read per query, no cache to keep in step).
    func stackNames() throws(StoreError) -> [Int64: String] {
        try listStacksStmt.reset([])
        var names: [Int64: String] = [:]
        while try listStacksStmt.step() { names[listStacksStmt.int(0)] = listStacksStmt.text(1) ?? "" }
        listStacksStmt.done()
        return names
    }

    /// Commits pending traces and closes the database; later calls fail cleanly.
    public func close() {
        writer.stop()
        lock.lock(); defer { lock.unlock() }
        if !closed { closed = true; try? db.exec("PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
