import Foundation

/// The SQLite store: stacks and traces, WAL mode, prepared statements only.
/// All access is serialized by one lock; trace inserts are batched on the writer thread.
public final class Store: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private let db: SQLiteConnection
    private var writer: TraceWriter!
    private var nextTraceID: Int64 = 1
    private var closed = false
    /// Versions applied when this store was opened.
    public private(set) var appliedMigrations: [Int] = []

    private let updateStackStmt: Statement
    private let insertVersionStmt, listVersionsStmt, getVersionStmt, latestVersionStmt: Statement
    private let insertStackStmt, listStacksStmt, deleteStackStmt, insertTraceStmt, traceByIDStmt, listTracesStmt: Statement
    private let insertLinkStmt, listLinksStmt, deleteLinkStmt: Statement
    private let raiseWatermarkStmt, deleteTracesStmt: Statement
    private let listTracesNewestStmt: Statement
    /// Counts of stored traces grouped by one column, per column (the statement text is fixed).
    private let aggregateStmts: [TraceAggregate: Statement]

    public enum Conflict: Error { case duplicateName }

    public init(path: String, migrations: [Migration] = EmbeddedMigrations.all) throws(StoreError) {
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
        insertTraceStmt = try db.prepare("INSERT INTO traces (id, stack_id, device, outcome, drop_reason, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        traceByIDStmt = try db.prepare("SELECT t.id, t.stack_id, s.name, t.device, t.outcome, t.drop_reason, t.created_at, t.body FROM traces t JOIN stacks s ON s.id = t.stack_id WHERE t.id = ?1")
        listTracesStmt = try db.prepare("""
            SELECT t.id, t.stack_id, s.name, t.device, t.outcome, t.drop_reason, t.created_at, t.body
            FROM traces t JOIN stacks s ON s.id = t.stack_id
            WHERE t.id > ?1 AND (?2 IS NULL OR s.name = ?2) AND (?3 IS NULL OR t.outcome = ?3) AND (?4 IS NULL OR t.drop_reason = ?4)
            ORDER BY t.id LIMIT ?5
            """)
        listTracesNewestStmt = try db.prepare("""
            SELECT t.id, t.stack_id, s.name, t.device, t.outcome, t.drop_reason, t.created_at, t.body
            FROM traces t JOIN stacks s ON s.id = t.stack_id
            WHERE t.id < ?1 AND (?2 IS NULL OR s.name = ?2) AND (?3 IS NULL OR t.outcome = ?3) AND (?4 IS NULL OR t.drop_reason = ?4)
            ORDER BY t.id DESC LIMIT ?5
            """)
        // One literal statement per column (SQL is never built from what a request says).
        aggregateStmts = [
            .dropReason: try db.prepare("""
                SELECT t.drop_reason, COUNT(*) FROM traces t JOIN stacks s ON s.id = t.stack_id
                WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR t.outcome = ?2) AND (?3 IS NULL OR t.drop_reason = ?3) GROUP BY t.drop_reason
                """),
            .outcome: try db.prepare("""
                SELECT t.outcome, COUNT(*) FROM traces t JOIN stacks s ON s.id = t.stack_id
                WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR t.outcome = ?2) AND (?3 IS NULL OR t.drop_reason = ?3) GROUP BY t.outcome
                """),
            .device: try db.prepare("""
                SELECT t.device, COUNT(*) FROM traces t JOIN stacks s ON s.id = t.stack_id
                WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR t.outcome = ?2) AND (?3 IS NULL OR t.drop_reason = ?3) GROUP BY t.device
                """),
            .stack: try db.prepare("""
                SELECT s.name, COUNT(*) FROM traces t JOIN stacks s ON s.id = t.stack_id
                WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR t.outcome = ?2) AND (?3 IS NULL OR t.drop_reason = ?3) GROUP BY s.name
                """),
        ]
        let maxQ = try db.prepare("SELECT MAX(COALESCE((SELECT MAX(id) FROM traces), 0), (SELECT value FROM trace_id_watermark))")
        try maxQ.reset([])
        _ = try maxQ.step()
        nextTraceID = maxQ.int(0) + 1
        maxQ.done()
        writer = TraceWriter { [unowned self] rows in self.insertTraces(rows) }
    }

    private func locked<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
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
                try raiseWatermarkStmt.run([.int(nextTraceID - 1)])
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
            if n < Store.deleteBatch { return total }
            // The lock is not fair: without a pause this thread takes it straight back, and the
            // writer and other requests waited for the whole delete (1.4 s for 300,000 rows).
            usleep(1_000)
        }
    }

    /// The highest trace id handed out so far (0: none).
    public var lastAllocatedTraceID: Int64 { allocateTraceIDs(0) - 1 }

    /// Reserves `count` consecutive trace ids, so answers can name traces before they are written.
    public func allocateTraceIDs(_ count: Int) -> Int64 {
        lock.lock(); defer { lock.unlock() }
        let first = nextTraceID
        nextTraceID += Int64(count)
        return first
    }

    /// Hands rows to the writer thread; they are durable after `flush`.
    public func enqueueTraces(_ rows: [TraceRecord]) { writer.enqueue(rows) }

    public func flush() { writer.flush() }

    public var traceWriterStats: TraceWriterStats { writer.snapshot() }

    /// Waits until every row enqueued so far is written, and tells whether all of `ids` were
    /// stored (a row can fail alone, e.g. when its stack was deleted; the others still commit).
    public func flush(ids: Range<Int64>) -> Bool { writer.flush(checking: ids) }

    /// One transaction per batch. A row that fails (a constraint) is left out alone: SQLite undoes
    /// just that statement, so other stacks' rows in the batch still commit. Returns the ids not stored.
    private func insertTraces(_ rows: [TraceRecord]) -> [Int64] {
        lock.lock(); defer { lock.unlock() }
        var failed: [Int64] = []
        do {
            try db.exec("BEGIN")
            for r in rows {
                do {
                    try insertTraceStmt.run([.int(r.id), .int(r.stackID), .text(r.device), .text(r.outcome),
                                             r.dropReason.map { .text($0) } ?? .null, .text(r.createdAt), .text(r.body)])
                } catch where error.isConstraint {
                    failed.append(r.id)
                }
            }
            try db.exec("COMMIT")
        } catch {
            try? db.exec("ROLLBACK")
            FileHandle.standardError.write(Data("trace batch of \(rows.count) not stored: \(error)\n".utf8))
            return rows.map(\.id)
        }
        if !failed.isEmpty { FileHandle.standardError.write(Data("\(failed.count) trace rows not stored (constraint)\n".utf8)) }
        return failed
    }

    public func trace(id: Int64) throws(StoreError) -> TraceRecord? {
        writer.flush()
        return try locked { () throws(StoreError) -> TraceRecord? in
            try traceByIDStmt.reset([.int(id)])
            defer { traceByIDStmt.done() }
            return try traceByIDStmt.step() ? row(traceByIDStmt) : nil
        }
    }

    public func traces(_ f: TraceFilter) throws(StoreError) -> [TraceRecord] {
        writer.flush()
        return try locked { () throws(StoreError) -> [TraceRecord] in
            // Newest first, the cursor is an upper bound (none: from the newest).
            let stmt = f.newestFirst ? listTracesNewestStmt : listTracesStmt
            let bound = f.newestFirst ? (f.afterID == 0 ? Int64.max : f.afterID) : f.afterID
            try stmt.reset([.int(bound), f.stack.map { .text($0) } ?? .null, f.outcome.map { .text($0) } ?? .null,
                            f.dropReason.map { .text($0) } ?? .null, .int(Int64(f.limit))])
            var out: [TraceRecord] = []
            while try stmt.step() { out.append(row(stmt)) }
            stmt.done()
            return out
        }
    }

    /// Stored traces counted by one column under the same filters as `traces` ("where do my packets die").
    public func aggregateTraces(by: TraceAggregate, _ f: TraceFilter) throws(StoreError) -> [(value: String?, count: Int)] {
        writer.flush()
        return try locked { () throws(StoreError) -> [(value: String?, count: Int)] in
            let stmt = aggregateStmts[by]!
            try stmt.reset([f.stack.map { .text($0) } ?? .null, f.outcome.map { .text($0) } ?? .null, f.dropReason.map { .text($0) } ?? .null])
            var out: [(value: String?, count: Int)] = []
            while try stmt.step() { out.append((stmt.text(0), Int(stmt.int(1)))) }
            stmt.done()
            return out
        }
    }

    private func row(_ s: Statement) -> TraceRecord {
        TraceRecord(id: s.int(0), stackID: s.int(1), stackName: s.text(2) ?? "", device: s.text(3) ?? "",
                    outcome: s.text(4) ?? "", dropReason: s.text(5), createdAt: s.text(6) ?? "", body: s.text(7) ?? "")
    }

    /// Commits pending traces and closes the database; later calls fail cleanly.
    public func close() {
        writer.stop()
        lock.lock(); defer { lock.unlock() }
        if !closed { closed = true; try? db.exec("PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
