/// A hash map from integer keys (ports, IPv4 addresses) for per-packet lookups: open addressing
/// with linear probing and a multiplicative hash, as the kernel hashes ports into udp_table.
/// Swift's Dictionary runs SipHash on every lookup, a tenth of a packet's path here.
struct IntMap<Value> {
    private var keys: [UInt64]
    private var values: [Value?]
    private var used: [Bool]
    private(set) var count = 0

    init() { keys = []; values = []; used = [] }

    @inline(__always) private func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    subscript(key: UInt64) -> Value? {
        get {
            let n = used.count
            guard n > 0 else { return nil }
            var i = slot(key, n - 1)
            while used[i] {
                if keys[i] == key { return values[i] }
                i = (i + 1) & (n - 1)
            }
            return nil
        }
        set {
            if let newValue { insert(key, newValue) } else { remove(key) }
        }
    }

    private mutating func insert(_ key: UInt64, _ value: Value) {
        if (count + 1) * 2 > used.count { grow() }
        let mask = used.count - 1
        var i = slot(key, mask)
        while used[i] {
            if keys[i] == key { values[i] = value; return }
            i = (i + 1) & mask
        }
        used[i] = true; keys[i] = key; values[i] = value
        count += 1
    }

    /// Backward-shift deletion: later entries of the probe run move up, so no tombstones.
    private mutating func remove(_ key: UInt64) {
        let n = used.count
        guard n > 0 else { return }
        let mask = n - 1
        var i = slot(key, mask)
        while used[i] && keys[i] != key { i = (i + 1) & mask }
        guard used[i] else { return }
        var j = i
        while true {
            j = (j + 1) & mask
            guard used[j] else { break }
            if mayFillHole(i, from: j, home: slot(keys[j], mask)) {
                keys[i] = keys[j]; values[i] = values[j]; i = j
            }
        }
        used[i] = false; values[i] = nil
        count -= 1
    }

    private mutating func grow() {
        let old = zip(keys, values).enumerated().filter { used[$0.offset] }.map { ($0.element.0, $0.element.1!) }
        let n = max(16, used.count * 2)
        keys = Array(repeating: 0, count: n); values = Array(repeating: nil, count: n); used = Array(repeating: false, count: n)
        count = 0
        for (k, v) in old { insert(k, v) }
    }

    /// Every entry, in no particular order.
    var entries: [(key: UInt64, value: Value)] {
        used.indices.filter { used[$0] }.map { (keys[$0], values[$0]!) }
    }
}
extension IntMap: Sendable where Value: Sendable {}

/// Backward-shift deletion in a linear-probing table: the entry at `j` may move up into the hole
/// at `i` when its home slot is not cyclically within (i, j] (else it would sit before its home).
@inline(__always) func mayFillHole(_ i: Int, from j: Int, home: Int) -> Bool {
    (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)
}
