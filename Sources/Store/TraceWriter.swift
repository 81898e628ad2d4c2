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
    static let maxBatch = 4096
    /// Rows that may wait for the disk; past this, enqueueing waits (backpressure instead of unbounded memory).
    let capacity: Int

    /// `write` commits a batch and returns the ids it could not store.
    init(capacity: Int = 262_144, write: @escaping ([TraceRecord]) -> [Int64]) {
        self.capacity = capacity
        self.write = write
        let t = Thread { [self] in self.run() }
        t.name = "trace-writer"
        thread = t
        t.start()
    }

    func enqueue(_ rows: [TraceRecord]) {
        guard !rows.isEmpty else { return }
        cond.lock()
        while queue.count > capacity && !stopping { cond.wait() }
        queue.append(contentsOf: rows)
        enqueued += rows.count
        cond.broadcast()
        cond.unlock()
    }

    func flush() {
        cond.lock()
        let target = enqueued
        while committed < target { cond.wait() }
        cond.unlock()
    }

    /// Flushes, then tells whether every row with an id in `ids` was stored.
    func flush(checking ids: Range<Int64>) -> Bool {
        cond.lock(); defer { cond.unlock() }
        let target = enqueued
        while committed < target { cond.wait() }
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
            if queue.isEmpty && stopping { thread = nil; cond.broadcast(); cond.unlock(); return }
            let n = min(queue.count, TraceWriter.maxBatch)
            let batch = Array(queue[0..<n])
            queue.removeFirst(n)
            cond.unlock()
            let lost = write(batch)
            cond.lock()
            if !lost.isEmpty {
                if failed.count + lost.count > TraceWriter.maxFailedKept {
                    forgottenThrough = max(forgottenThrough, failed.max() ?? 0, lost.max() ?? 0)
                    failed.removeAll()
                } else {
                    failed.formUnion(lost)
                }
            }
            committed += batch.count
            cond.broadcast()
            cond.unlock()
        }
    }
}
