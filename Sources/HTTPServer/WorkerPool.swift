import Foundation

/// Fixed threads that run handlers off the event loop, so a long simulation never stalls I/O.
final class WorkerPool: @unchecked Sendable {
    private let cond = NSCondition()
    /// Two queues: light jobs are taken first, and heavy jobs by at most `maxHeavy` workers at a
    /// time, so one worker is always left for reads when there are two or more.
    private var light = JobQueue()
    private var heavy = JobQueue()
    private var heavyRunning = 0
    private let maxHeavy: Int
    private var stopping = false
    private var threads: [Thread] = []

    init(threads count: Int) {
        maxHeavy = max(1, count - 1)
        for i in 0..<max(1, count) {
            let t = Thread { [self] in self.run() }
            t.name = "worker-\(i)"
            threads.append(t)
            t.start()
        }
    }

    func submit(heavy isHeavy: Bool = false, _ job: @escaping @Sendable () -> Void) {
        cond.lock()
        if isHeavy { heavy.push(job) } else { light.push(job) }
        // One job wakes one worker (a broadcast woke all, and all but one went back to sleep);
        // a heavy job no worker may take yet waits for the broadcast of a heavy one ending.
        cond.signal(); cond.unlock()
    }

    func stop() {
        cond.lock(); stopping = true; cond.broadcast(); cond.unlock()
    }

    private func run() {
        while true {
            cond.lock()
            while light.isEmpty && (heavy.isEmpty || heavyRunning >= maxHeavy) && !stopping { cond.wait() }
            let job: (@Sendable () -> Void)
            let wasHeavy: Bool
            if let j = light.pop() { job = j; wasHeavy = false }
            else if heavyRunning < maxHeavy, let j = heavy.pop() { job = j; wasHeavy = true; heavyRunning += 1 }
            else { cond.unlock(); return }   // stopping, nothing this worker may take
            cond.unlock()
            job()
            if wasHeavy { cond.lock(); heavyRunning -= 1; cond.broadcast(); cond.unlock() }
        }
    }
}

/// A FIFO of jobs. Taken jobs are set to nil at once, so a finished request (and its body) is
/// freed when it ends, not when the queue is next compacted.
private struct JobQueue {
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    var isEmpty: Bool { head == jobs.count }
    mutating func push(_ j: @escaping @Sendable () -> Void) { jobs.append(j) }
    mutating func pop() -> (@Sendable () -> Void)? {
        guard head < jobs.count else { return nil }
        let j = jobs[head]
        jobs[head] = nil
        head += 1
        if head > 1024 && head * 2 > jobs.count { jobs.removeFirst(head); head = 0 }
        return j
    }
}

/// Finished responses on their way back to the loop thread, which an eventfd wakes.
final class CompletionQueue: @unchecked Sendable {
    struct Item {
        var connection: UInt64; var target: ResponseTarget; var response: HTTPResponse
        /// A whole answer, or a streamed one's head, piece or end (with its credit).
        var part: Part = .whole
    }
    enum Part { case whole, head(StreamCredit), chunk([UInt8], StreamCredit), end(StreamCredit) }
    private let lock = NSLock()
    private var items: [Item] = []
    private var stopFlag = false
    let eventFD: Int32

    init(eventFD: Int32) { self.eventFD = eventFD }

    func push(_ item: Item) {
        lock.lock(); items.append(item); lock.unlock()
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(eventFD, $0.baseAddress, 8) }
    }

    /// Asks the loop to stop, from any thread.
    func requestStop() {
        lock.lock(); stopFlag = true; lock.unlock()
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(eventFD, $0.baseAddress, 8) }
    }

    var stopRequested: Bool { lock.lock(); defer { lock.unlock() }; return stopFlag }

    func drain() -> [Item] {
        var v: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &v) { read(eventFD, $0.baseAddress, 8) }
        lock.lock(); defer { lock.unlock() }
        let out = items
        items.removeAll(keepingCapacity: true)
        return out
    }
}

/// Requests whose client went away (connection closed, HTTP/2 stream reset) before a worker took
/// them: the worker skips them, so an abandoned flood does not keep the pool busy. A request
/// already running finishes (an injection is bounded by --max-packets).
final class Cancellations: @unchecked Sendable {
    private struct Key: Hashable { var connection: UInt64; var stream: Int32 }
    private let lock = NSLock()
    /// Closed connections, with how many of their jobs are still to come back.
    private var connections: [UInt64: Int] = [:]
    private var streams: Set<Key> = []
    private let counters: ServerCounters
    init(counters: ServerCounters) { self.counters = counters }

    func cancel(connection id: UInt64, outstanding: Int) {
        guard outstanding > 0 else { return }
        lock.lock(); connections[id] = outstanding; lock.unlock()
    }
    func cancel(connection id: UInt64, stream: Int32) {
        lock.lock(); streams.insert(Key(connection: id, stream: stream)); lock.unlock()
    }
    /// Asked by the worker before it runs the job: true means skip it, and counts the skip.
    func shouldSkip(connection id: UInt64, target: ResponseTarget) -> Bool {
        lock.lock(); defer { lock.unlock() }
        var skip = connections[id] != nil
        if case .h2(let s) = target, streams.contains(Key(connection: id, stream: s)) { skip = true }
        if skip { counters.add(\.cancelled) }
        return skip
    }
    /// A job's answer came back to the loop: its cancellation entry is no longer needed.
    func finished(connection id: UInt64, target: ResponseTarget) {
        lock.lock(); defer { lock.unlock() }
        if let n = connections[id] { connections[id] = n > 1 ? n - 1 : nil }
        if case .h2(let s) = target { streams.remove(Key(connection: id, stream: s)) }
    }
}

/// Where a response goes: the n-th request of an HTTP/1.1 connection, or an HTTP/2 stream.
enum ResponseTarget: Sendable {
    case h1(UInt64)
    case h2(Int32)
}
