import Foundation

/// The prepared statements of trace packs (migration 12).
final class PackStatements {
    let insert, insertKey, delete, byID, rows, sizes, ofStackUpTo, oldestOfStack, olderThan: Statement
    /// A stack's rows in the traces table: how many, and their ids in order (retention by count).
    let countTraces, traceIDs: Statement
    /// How many rows a stack's packs hold (retention, each second for each stack that has one).
    let sizeOfStack: Statement
    /// Whether a stack has rows in the traces table, and packs: a query skips the side that has
    /// none (an index walk for a value the stack lacks would read every other stack's rows).
    let anyTrace, anyPack: Statement

    init(_ db: SQLiteConnection) throws(StoreError) {
        insert = try db.prepare("INSERT INTO trace_packs (first_id, last_id, stack_id, n, start_min, start_max, wall_min, wall_max, stages_lo, stages_hi, rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
        insertKey = try db.prepare("INSERT INTO trace_pack_keys (pack, kind, value, count) VALUES (?1, ?2, ?3, ?4)")
        delete = try db.prepare("DELETE FROM trace_packs WHERE first_id = ?1")
        byID = try db.prepare("SELECT first_id, last_id, stack_id, rows FROM trace_packs WHERE last_id >= ?1 AND first_id <= ?1")
        rows = try db.prepare("SELECT rows FROM trace_packs WHERE first_id = ?1")
        sizes = try db.prepare("SELECT stack_id, SUM(n) FROM trace_packs GROUP BY stack_id")
        ofStackUpTo = try db.prepare("SELECT first_id, last_id, stack_id, rows FROM trace_packs WHERE stack_id = ?1 AND first_id <= ?2 AND first_id > ?3 ORDER BY first_id LIMIT ?4")
        oldestOfStack = try db.prepare("SELECT first_id, last_id, stack_id, rows FROM trace_packs WHERE stack_id = ?1 ORDER BY first_id")
        olderThan = try db.prepare("SELECT first_id, last_id, stack_id, rows, wall_max FROM trace_packs WHERE stack_id = ?1 AND wall_min < ?2 ORDER BY last_id DESC")
        countTraces = try db.prepare("SELECT COUNT(*) FROM traces WHERE stack_id = ?1")
        sizeOfStack = try db.prepare("SELECT COALESCE(SUM(n), 0) FROM trace_packs WHERE stack_id = ?1")
        traceIDs = try db.prepare("SELECT id FROM traces WHERE stack_id = ?1 ORDER BY id")
        anyTrace = try db.prepare("SELECT 1 FROM traces WHERE stack_id = ?1 LIMIT 1")
        anyPack = try db.prepare("SELECT 1 FROM trace_packs WHERE stack_id = ?1 LIMIT 1")
    }
}

extension Store {
    /// Packs rewritten per transaction when rows leave them.
    static let packDeleteBatch = 64

    /// Rows a pack holds at most: a query decodes whole packs, so a value few rows carry costs
    /// its packs' sizes (a 4,096-row pack made an address query over 2 million rows 70 ms).
    static let packRows = 512

    /// One stack's summary rows as one pack, by id (as an injection enqueues them; sorted when
    /// concurrent ones interleaved), with its keys. Inside the writer's transaction; a
    /// constraint (the stack was deleted meanwhile) fails the whole pack.
    func insertPack(_ given: ArraySlice<TraceRecord>) throws(StoreError) {
        let rows = zip(given, given.dropFirst()).allSatisfy({ $0.id < $1.id }) ? given : given.sorted { $0.id < $1.id }[...]
        let b = TracePack.bounds(rows), s = packs.insert
        s.bind(1, b.firstID); s.bind(2, b.lastID); s.bind(3, rows[rows.startIndex].stackID); s.bind(4, Int64(rows.count))
        s.bind(5, b.startMin); s.bind(6, b.startMax); s.bind(7, b.wallMin); s.bind(8, b.wallMax); s.bind(9, b.stagesLo); s.bind(10, b.stagesHi)
        s.bind(11, blob: TracePack.encode(rows))
        try s.insert()
        for (kind, value, n) in TracePack.keys(rows) { try packs.insertKey.run([.int(b.firstID), .int(kind.rawValue), value, .int(Int64(n))]) }
    }

    /// Whether the stack (nil: any) has rows in the traces table and packs. Lock held.
    func holds(stackID: Int64?) throws(StoreError) -> (traces: Bool, packs: Bool) {
        guard let stackID else { return (true, true) }
        func any(_ s: Statement) throws(StoreError) -> Bool {
            try s.reset([.int(stackID)])
            defer { s.done() }
            return try s.step()
        }
        return (try any(packs.anyTrace), try any(packs.anyPack))
    }

    /// Per key condition of `f`, whether few packs hold it (then its packs come from the keys'
    /// index; otherwise each pack is checked in the order the query walks). Lock held.
    func sparseKeys(_ f: TraceFilter) throws(StoreError) -> [Bool] {
        try f.packKeys.map { (key: PackKey) throws(StoreError) -> Bool in
            let stmt = try statement(key.probe)
            defer { stmt.done() }
            return try stmt.step() && stmt.int(0) < PackKey.sparseBelow
        }
    }

    /// The stored trace `id` from the packs, if one holds it. Called with the lock held.
    func packedTrace(id: Int64, names: [Int64: String]) throws(StoreError) -> TraceRecord? {
        let s = packs.byID
        try s.reset([.int(id)])
        defer { s.done() }
        while try s.step() {
            let rows = try TracePack.decode(s.blob(3) ?? [], stackID: s.int(2), stackName: names[s.int(2)] ?? "")
            if let r = rows.first(where: { $0.id == id }) { return r }
        }
        return nil
    }

    /// The packed rows `f` selects, at most `f.limit`, in the order asked, each tested exactly.
    /// Packs come newest (highest last id) or oldest (lowest first id) first; as ids in packs may
    /// interleave, reading stops only at a pack none of whose ids could still make the page.
    func packedTraces(_ f: TraceFilter, stackID: Int64?, names: [Int64: String]) throws(StoreError) -> [TraceRecord] {
        var q = TraceQueryText()
        q.pack(.selectPackBounds)
        if f.newestFirst { if f.afterID != 0 { q.pack(.firstBelow, .int(f.afterID)) } } else { q.pack(.lastAbove, .int(f.afterID)) }
        f.packConditions(into: &q, stackID: stackID, sparse: try sparseKeys(f))
        q.pack(f.newestFirst ? .orderDown : .orderUp)
        let stmt = try statement(q)
        defer { stmt.done() }
        var found: [TraceRecord] = []
        let inPage: (Int64) -> Bool = f.newestFirst ? { f.afterID == 0 || $0 < f.afterID } : { $0 > f.afterID }
        let peek: (TracePack.Peek) -> Bool = { inPage($0.id) && f.mayMatch($0) }
        while try stmt.step() {
            if found.count >= f.limit, let edge = found.last?.id, f.newestFirst ? stmt.int(1) < edge : stmt.int(0) > edge { break }
            try packs.rows.reset([.int(stmt.int(0))])
            let blob = try packs.rows.step() ? packs.rows.blob(0) ?? [] : []
            packs.rows.done()
            let rows = try TracePack.decode(blob, stackID: stmt.int(2), stackName: names[stmt.int(2)] ?? "", wanted: peek)
            let before = found.count
            for r in rows where inPage(r.id) && f.matches(r, stackID: stackID) { found.append(r) }
            if found.count > before {
                found.sort { f.newestFirst ? $0.id > $1.id : $0.id < $1.id }
                if found.count > f.limit { found.removeLast(found.count - f.limit) }
            }
        }
        return found
    }

    /// Adds the packed rows `f` selects to `counts`, by `by`'s values: from the keys' counts when
    /// nothing but the stack filters and the keys count that group exactly, else row by row.
    func countPacked(by: TraceAggregate, _ f: TraceFilter, stackID: Int64?, into counts: inout [TraceValue: Int]) throws(StoreError) {
        if f.onlyStack && (by == .stack || by.packKey != nil) {
            var q = TraceQueryText()
            if by == .stack {
                q.pack(.countStacks)
                if let v = stackID { q.pack(.stack, .int(v)) }
                q.pack(.groupStack)
            } else if let v = stackID {
                q.pack(.countKeysOfStack, .int(by.packKey!.rawValue), .int(v))
            } else {
                q.pack(.countKeys, .int(by.packKey!.rawValue))
            }
            let stmt = try statement(q)
            defer { stmt.done() }
            while try stmt.step() { counts[Self.keyGroup(by, stmt.value(0)), default: 0] += Int(stmt.int(1)) }
            return
        }
        var q = TraceQueryText()
        q.pack(.selectPacks)
        f.packConditions(into: &q, stackID: stackID, sparse: try sparseKeys(f))
        let stmt = try statement(q)
        defer { stmt.done() }
        let peek: ((TracePack.Peek) -> Bool)? = f.peeks ? { f.mayMatch($0) } : nil
        while try stmt.step() {
            let rows = try TracePack.decode(stmt.blob(3) ?? [], stackID: stmt.int(2), stackName: "", wanted: peek)
            for r in rows where f.matches(r, stackID: stackID) {
                for v in by.values(r) { counts[v, default: 0] += 1 }
            }
        }
    }

    /// A pack key's value as the traces table's count gives it: an absent value (kept as an empty
    /// blob) NULL, a rule as `TraceAggregate.ruleText`.
    static func keyGroup(_ by: TraceAggregate, _ v: TraceValue) -> TraceValue {
        if case .blob(let b) = v, b.isEmpty { return .null }
        guard by == .rule, case .text(let t) = v else { return v }
        let p = t.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
        guard p.count == 4 else { return v }
        return .text(TraceAggregate.ruleText(family: p[0], table: p[1], chain: p[2], handle: Int64(p[3])))
    }

    /// Takes the rows `drop` picks out of the packs `select(after)` lists (ordered by first id,
    /// after the given one), `packDeleteBatch` packs per transaction with the watermark raised in
    /// each; a pack left empty goes, another is written again without them. Rows deleted per stack.
    func prunePacks(_ select: (Int64) throws(StoreError) -> Statement, drop: (TraceRecord) -> Bool) throws(StoreError) -> [Int64: Int] {
        var total: [Int64: Int] = [:]
        var after = Int64.min
        while true {
            let n = try locked { () throws(StoreError) -> Int in
                let stmt = try select(after)
                var chunk: [(first: Int64, stack: Int64, blob: [UInt8])] = []
                while try stmt.step() { chunk.append((stmt.int(0), stmt.int(2), stmt.blob(3) ?? [])) }
                stmt.done()
                guard let last = chunk.last else { return 0 }
                after = last.first
                try db.exec("BEGIN")
                do throws(StoreError) {
                    try raiseWatermark()
                    for p in chunk {
                        let rows = try TracePack.decode(p.blob, stackID: p.stack, stackName: "")
                        let kept = rows.filter { !drop($0) }
                        guard kept.count < rows.count else { continue }
                        try packs.delete.run([.int(p.first)])
                        if !kept.isEmpty { try insertPack(kept[...]) }
                        total[p.stack, default: 0] += rows.count - kept.count
                    }
                    try db.exec("COMMIT")
                } catch {
                    try? db.exec("ROLLBACK")
                    throw error
                }
                return chunk.count
            }
            if n < Store.packDeleteBatch { return total }
            usleep(1_000)
        }
    }

    /// How many of a stack's rows are packed, per stack id. Called with the lock held.
    func packedCounts() throws(StoreError) -> [Int64: Int] {
        try packs.sizes.reset([])
        defer { packs.sizes.done() }
        var out: [Int64: Int] = [:]
        while try packs.sizes.step() { out[packs.sizes.int(0)] = Int(packs.sizes.int(1)) }
        return out
    }

    /// How many of one stack's rows are packed. Called with the lock held.
    func packedCount(stackID: Int64) throws(StoreError) -> Int {
        try packs.sizeOfStack.reset([.int(stackID)])
        defer { packs.sizeOfStack.done() }
        return try packs.sizeOfStack.step() ? Int(packs.sizeOfStack.int(0)) : 0
    }

    /// The `count`th lowest id of a stack's rows, packed or not (nil: it has fewer). Packs come by
    /// first id and their ids interleave, so a pack's ids wait in a heap until no pack unread could
    /// hold a lower one. Called with the lock held.
    func nthOldestTrace(stackID: Int64, _ count: Int) throws(StoreError) -> Int64? {
        let p = packs.oldestOfStack, traces = packs.traceIDs
        try p.reset([.int(stackID)])
        defer { p.done(); traces.done() }
        try traces.reset([.int(stackID)])
        var nextTrace: Int64? = try traces.step() ? traces.int(0) : nil
        var nextPack: Int64? = try p.step() ? p.int(0) : nil
        var heap = MinHeap()
        var seen = 0
        while true {
            var low = min(nextTrace ?? .max, heap.min ?? .max)
            while let first = nextPack, first <= low {
                // Ids only: every row refused before it is built.
                _ = try TracePack.decode(p.blob(3) ?? [], stackID: stackID, stackName: "", wanted: { heap.push($0.id); return false })
                nextPack = try p.step() ? p.int(0) : nil
                low = min(low, heap.min ?? .max)
            }
            guard low != .max else { return nil }
            if low == nextTrace { nextTrace = try traces.step() ? traces.int(0) : nil } else { _ = heap.pop() }
            seen += 1
            if seen == count { return low }
        }
    }

    /// The highest id among a stack's packed rows stored before `wall` (RFC 3339), if any.
    func newestPackedBefore(stackID: Int64, wall: String) throws(StoreError) -> Int64? {
        let s = packs.olderThan
        try s.reset([.int(stackID), .text(wall)])
        defer { s.done() }
        var best: Int64? = nil
        while try s.step() {
            if let b = best, s.int(1) <= b { break }
            if let w = s.text(4), w < wall { best = max(best ?? .min, s.int(1)); continue }
            for r in try TracePack.decode(s.blob(3) ?? [], stackID: stackID, stackName: "") where r.createdAt < wall { best = max(best ?? .min, r.id) }
        }
        return best
    }
}

/// A binary min-heap of ids.
struct MinHeap {
    private var a: [Int64] = []
    var min: Int64? { a.first }

    mutating func push(_ v: Int64) {
        a.append(v)
        var i = a.count - 1
        while i > 0 {
            let up = (i - 1) / 2
            guard a[up] > a[i] else { break }
            a.swapAt(up, i); i = up
        }
    }

    mutating func pop() -> Int64? {
        guard let top = a.first else { return nil }
        let last = a.removeLast()
        guard !a.isEmpty else { return top }
        a[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < a.count && a[l] < a[m] { m = l }
            if r < a.count && a[r] < a[m] { m = r }
            guard m != i else { return top }
            a.swapAt(m, i); i = m
        }
    }
}
