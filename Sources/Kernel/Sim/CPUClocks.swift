/// Each simulated CPU's virtual clock, read and advanced at every stage of every packet: a fixed
/// block of memory, so an update is one store (an Array checked uniqueness and bounds each time).
final class CPUClocks {
    private let base: UnsafeMutablePointer<UInt64>
    let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { base.deallocate() }

    @inline(__always) subscript(cpu: Int) -> UInt64 {
        get { precondition(cpu >= 0 && cpu < count); return base[cpu] }
        set { precondition(cpu >= 0 && cpu < count); base[cpu] = newValue }
    }
}
