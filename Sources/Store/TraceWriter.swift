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
    private let write: ([TraceRecord]) -> Void
    static let maxBatch = 4096
    /// Rows that may wait for the disk; past this, enqueueing waits (backpressure instead of unbounded memory).
    let capacity: Int

    init(capacity: Int = 262_144, write: @escaping ([TraceRecord]) -> Void) {
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
            write(batch)
            cond.lock()
            committed += batch.count
            cond.broadcast()
            cond.unlock()
        }
    }
}
