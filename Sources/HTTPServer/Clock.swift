import Glibc

/// Monotonic milliseconds for timeouts.
@inline(__always) func monotonicMs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}

/// The IMF-fixdate for the Date header, recomputed once a second.
struct DateCache {
    private var second: Int = -1
    private(set) var value: String = ""
    private(set) var bytes: [UInt8] = []

    mutating func refresh() {
        var now = time(nil)
        guard now != second else { return }
        second = now
        var tmv = tm()
        gmtime_r(&now, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, "%a, %d %b %Y %H:%M:%S GMT", &tmv)
        value = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        bytes = Array(value.utf8)
    }
}
