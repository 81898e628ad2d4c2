import Foundation

/// Batches trace rows off the packet path: one transaction per batch, on its own thread.
/// `flush` waits until everything enqueued so far is committed.
final class TraceWriter: @unchecked Sendable {
    private let cond = NSCondition()
    private var queue: [TraceRecord] = []
    private var enqueued = 0
    private var committed = 0
    private var stopping = false
    private var thread: Thread?
    /// Rows the database refused (bounded: only a flush that checks its own ids reads them).
    private var failed = Set<Int64>()
    private static let maxFailedKept = 65_536
    /// When `failed` overflows it is cleared; ids up to this one may have failed unrecorded, so a
    /// flush that checks any of them answers "not stored" (never a false "durable").
    private var forgottenThrough: Int64 = 0
    private let write: ([TraceRecord]) -> [Int64]
    private var stats = TraceWriterStats()
    static let maxBatch = 4096
    /// A batch smaller than `lingerRows` waits up to `lingerSeconds` for more, unless someone waits
    /// for the disk: a commit writes and syncs the log, so rows trickling in one commit each cost
    /// the writer several times what they cost in a batch (one-packet injections).
    static let lingerRows = 256, lingerSeconds = 0.002
    /// Callers of `flush` waiting now: the writer commits at once for them.
    private var flushWaiters = 0
    /// Rows, and bytes of them (`cost`), that may wait for the disk; past either, `overflow`
    /// decides. The bytes bound memory whatever a row's size (a full trace is a hundred times a summary).
    let capacity: Int
    let capacityBytes: Int
    private var queuedBytes = 0
    let overflow: TraceOverflow

    /// `write` commits a batch and returns the ids it could not store.
    init(capacity: Int = 262_144, capacityBytes: Int = 64 << 20, overflow: TraceOverflow = .block, write: @escaping ([TraceRecord]) -> [Int64]) {
        self.capacity = capacity
        self.capacityBytes = capacityBytes
        self.overflow = overflow
        self.write = write
        let t = Thread { [self] in self.run() }
        t.name = "trace-writer"
        thread = t
        t.start()
    }

    /// Queues rows for the disk; answers how many of them (the last ones) were dropped because
    /// the queue was full and the policy is `.drop` (their ids then never answer durable).
    /// `dropAll`: drop them all, counted the same way (the rest of an answer whose earlier rows
    /// found the queue full, so what is lost stays its last ones).
    @discardableResult
    func enqueue(_ rows: [TraceRecord], dropAll: Bool = false) -> Int {
        guard !rows.isEmpty else { return 0 }
        cond.lock(); defer { cond.unlock() }
        var kept = rows[...], keptBytes = 0
        switch dropAll ? .drop : overflow {
        case .block:
            while (queue.count > capacity || queuedBytes > capacityBytes) && !stopping { cond.wait() }
            keptBytes = rows.reduce(0) { $0 + TraceWriter.cost($1) }
        case .drop:
            // The rows that fit in both bounds, from the first.
            var room = 0
            while !dropAll && room < rows.count && queue.count + room < capacity {
                let c = TraceWriter.cost(rows[room])
                guard queuedBytes + keptBytes + c <= capacityBytes else { break }
                keptBytes += c
                room += 1
            }
            if room < rows.count {
                kept = rows[..<room]
                let lost = rows[room...].map(\.id)
                stats.dropped += lost.count
                remember(lost)
            }
        }
        let wasEmpty = queue.isEmpty
        queue.append(contentsOf: kept)
        queuedBytes += keptBytes
        enqueued += kept.count
        // The writer waits for a first row, then for a batch's worth (or its linger to end).
        if wasEmpty || queue.count >= TraceWriter.lingerRows { cond.broadcast() }
        return rows.count - kept.count
    }

    /// What a queued row holds in memory, about: its text and a fixed share for its record and columns.
    static func cost(_ r: TraceRecord) -> Int {
        guard let p = r.parts else { return r.body.utf8.count + 256 }
        return r.body.utf8.count + 256 + p.stages.utf8.count + p.netfilter.utf8.count + p.frames.reduce(0) { $0 + 64 + $1.bytes.count }
    }

    /// Notes ids that will never be stored (bounded: past the bound, every id up to the largest is
    /// taken as possibly lost, so no flush answers durable for them). Called with `cond` held.
    private func remember(_ lost: [Int64]) {
        guard !lost.isEmpty else { return }
        if failed.count + lost.count > TraceWriter.maxFailedKept {
            forgottenThrough = max(forgottenThrough, failed.max() ?? 0, lost.max() ?? 0)
            failed.removeAll()
        } else {
            failed.formUnion(lost)
        }
    }

    /// A few rows more would not wait for room (with `.block`): what work that must not wait asks first.
    var hasRoom: Bool {
        cond.lock(); defer { cond.unlock() }
        return overflow == .drop || (queue.count < capacity && queuedBytes < capacityBytes)
    }

    /// Queue depth, totals and batch commit times, for /metrics.
    func snapshot() -> TraceWriterStats {
        cond.lock(); defer { cond.unlock() }
        var s = stats
        s.queued = queue.count; s.queuedBytes = queuedBytes; s.enqueued = enqueued; s.committed = committed
        return s
    }

    func flush() {
        cond.lock()
        let target = enqueued
        flushWaiters += 1
        cond.broadcast()
        while committed < target { cond.wait() }
        flushWaiters -= 1
        cond.unlock()
    }

    /// Flushes, then tells whether every row with an id in `ids` was stored.
    func flush(checking ids: Range<Int64>) -> Bool {
        cond.lock(); defer { cond.unlock() }
        let target = enqueued
        flushWaiters += 1
        cond.broadcast()
        while committed < target { cond.wait() }
        flushWaiters -= 1
        if !ids.isEmpty && ids.lowerBound <= forgottenThrough { return false }
        guard !failed.isEmpty else { return true }
        let lost = failed.filter { ids.contains($0) }
        failed.subtract(lost)
        return lost.isEmpty
    }

    /// Flushes and ends the thread.
    func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while committed < enqueued || thread != nil { cond.wait() }
        cond.unlock()
    }

    private func run() {
        while true {
            cond.lock()
            while queue.isEmpty && !stopping { cond.wait() }
            if queue.count < TraceWriter.lingerRows && !stopping && flushWaiters == 0 {
                let deadline = Date(timeIntervalSinceNow: TraceWriter.lingerSeconds)
                while queue.count < TraceWriter.lingerRows && !stopping && flushWaiters == 0 && cond.wait(until: deadline) {}
            }
            if queue.isEmpty && stopping { thread = nil; cond.broadcast(); cond.unlock(); return }
            let n = min(queue.count, TraceWriter.maxBatch)
            let batch = Array(queue[0..<n])
            queue.removeFirst(n)
            queuedBytes -= batch.reduce(0) { $0 + TraceWriter.cost($1) }
            // Room freed: an enqueuer waiting under `.block` goes on now, not after this batch commits.
            cond.broadcast()
            cond.unlock()
            let start = DispatchTime.now().uptimeNanoseconds
            let lost = write(batch)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds &- start) / 1e9
            cond.lock()
            stats.observe(batchSeconds: seconds, lost: lost.count)
            remember(lost)
            committed += batch.count
            cond.broadcast()
            cond.unlock()
        }
    }
}

/// What the trace writer does when its queue is full: make the injector wait for the disk, or
/// drop the rows that do not fit (counted, and never answered durable).
public enum TraceOverflow: String, Sendable { case block, drop }

/// What the trace writer has done; `failed` rows were refused by the database (their stack was
/// deleted meanwhile) and answered as not durable; `dropped` rows found the queue full under `.drop`.
public struct TraceWriterStats: Sendable {
    public var queued = 0, queuedBytes = 0, enqueued = 0, committed = 0, failed = 0, dropped = 0, batches = 0
    /// Upper bounds (seconds) of the batch commit-time buckets; the last bucket is +Inf.
    public static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Cumulative counts per bound, as Prometheus histograms list them.
    public var buckets = [Int](repeating: 0, count: TraceWriterStats.bounds.count)
    public var secondsSum = 0.0

    mutating func observe(batchSeconds s: Double, lost: Int) {
        batches += 1; failed += lost; secondsSum += s
        for (i, b) in Self.bounds.enumerated() where s <= b { buckets[i] += 1 }
    }
}
