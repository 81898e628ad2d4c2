import Foundation

/// What the server did to protect itself, counted on the loop and worker threads and read by
/// /metrics: connections refused (503) or evicted at --max-connections, requests timed out (408),
/// and requests skipped because their client had gone.
public final class ServerCounters: @unchecked Sendable {
    public struct Values: Sendable {
        public var refused = 0
        public var evicted = 0
        public var timedOut = 0
        public var cancelled = 0
    }
    private let lock = NSLock()
    private var values = Values()

    public init() {}

    func add(_ field: WritableKeyPath<Values, Int>) {
        lock.lock(); values[keyPath: field] += 1; lock.unlock()
    }

    public var snapshot: Values { lock.lock(); defer { lock.unlock() }; return values }
}
