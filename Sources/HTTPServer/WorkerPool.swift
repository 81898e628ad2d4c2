import Foundation

/// Fixed threads that run handlers off the event loop, so a long simulation never stalls I/O.
final class WorkerPool: @unchecked Sendable {
    private let cond = NSCondition()
    /// Taken jobs are set to nil at once, so a finished request (and its body) is freed when it
    /// ends, not when the queue is next compacted.
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var stopping = false
    private var threads: [Thread] = []

    init(threads count: Int) {
        for i in 0..<max(1, count) {
            let t = Thread { [self] in self.run() }
            t.name = "worker-\(i)"
            threads.append(t)
            t.start()
        }
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        cond.lock(); jobs.append(job); cond.signal(); cond.unlock()
    }

    func stop() {
        cond.lock(); stopping = true; cond.broadcast(); cond.unlock()
    }

    private func run() {
        while true {
            cond.lock()
            while head == jobs.count && !stopping { cond.wait() }
            if head == jobs.count && stopping { cond.unlock(); return }
            let job = jobs[head]!
            jobs[head] = nil
            head += 1
            if head > 1024 && head * 2 > jobs.count { jobs.removeFirst(head); head = 0 }
            cond.unlock()
            job()
        }
    }
}

/// Finished responses on their way back to the loop thread, which an eventfd wakes.
final class CompletionQueue: @unchecked Sendable {
    struct Item { var connection: UInt64; var target: ResponseTarget; var response: HTTPResponse }
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

/// Where a response goes: the n-th request of an HTTP/1.1 connection, or an HTTP/2 stream.
enum ResponseTarget: Sendable {
    case h1(UInt64)
    case h2(Int32)
}
