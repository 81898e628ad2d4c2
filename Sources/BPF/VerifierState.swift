// kernel/bpf/verifier.c's abstract state: what each register holds on a path (bpf_reg_state) and
// what each stack byte holds (bpf_stack_state), with the bounds arithmetic that goes with them.

/// A scalar's possible values: unsigned and signed bounds kept in step (`reg_bounds_sync`).
/// `id` ties copies together, so a comparison on one bounds them all (find_equal_scalars).
struct Scalar: Hashable {
    var umin: UInt64 = 0, umax: UInt64 = .max
    var smin: Int64 = .min, smax: Int64 = .max
    var id = 0

    static let unknown = Scalar()
    static func constant(_ v: UInt64) -> Scalar { Scalar(umin: v, umax: v, smin: Int64(bitPattern: v), smax: Int64(bitPattern: v)) }
    static func range(_ lo: UInt64, _ hi: UInt64) -> Scalar { var s = Scalar(umin: lo, umax: hi); s.sync(); return s }
    /// A zero-extended load or 32-bit result of `bytes` bytes.
    static func bits(_ bytes: Int) -> Scalar { bytes >= 8 ? .unknown : .range(0, (1 << UInt64(bytes * 8)) - 1) }

    var isConst: Bool { umin == umax }
    var isEmpty: Bool { umin > umax || smin > smax }

    /// Each pair of bounds narrows the other where the range does not cross a sign boundary.
    mutating func sync() {
        if Int64(bitPattern: umin) <= Int64(bitPattern: umax) {   // no wrap across 2^63
            smin = max(smin, Int64(bitPattern: umin)); smax = min(smax, Int64(bitPattern: umax))
        }
        if smin >= 0 || smax < 0 {
            umin = max(umin, UInt64(bitPattern: smin)); umax = min(umax, UInt64(bitPattern: smax))
        }
    }

    /// Values in both ranges (empty when none).
    func intersection(_ o: Scalar) -> Scalar {
        var r = self
        r.umin = max(umin, o.umin); r.umax = min(umax, o.umax); r.smin = max(smin, o.smin); r.smax = min(smax, o.smax)
        if !r.isEmpty { r.sync() }
        return r
    }

    /// Whether every value of `o` is one of ours (state pruning's range_within).
    func covers(_ o: Scalar) -> Bool { umin <= o.umin && o.umax <= umax && smin <= o.smin && o.smax <= smax }
}

/// `enum bpf_reg_type` for the types an XDP program meets, with each one's offsets.
enum Reg: Hashable {
    case notInit
    case scalar(Scalar)
    case ctx(off: Int)
    /// A frame's stack, `off` from its frame pointer (negative inside it).
    case stack(frame: Int, off: Int)
    /// A packet pointer: `off` fixed bytes past the base its `id` names (data, or data plus a
    /// variable part of at most `varMax`), of which `range` bytes are proven inside the packet.
    case packet(id: Int, off: Int, varMax: UInt64, range: Int)
    case packetEnd
    case packetMeta(off: Int, range: Int)
    case mapPtr(Int)
    case mapValue(map: Int, off: Int, varMax: UInt64)
    case mapValueOrNull(map: Int, id: Int)

    var isPointer: Bool { if case .scalar = self { false } else if case .notInit = self { false } else { true } }

    /// The verifier log's name of the type (`reg_type_str`).
    var typeName: String {
        switch self {
        case .notInit: "?"
        case .scalar: "scalar"
        case .ctx: "ctx"
        case .stack: "fp"
        case .packet: "pkt"
        case .packetEnd: "pkt_end"
        case .packetMeta: "pkt_meta"
        case .mapPtr: "map_ptr"
        case .mapValue: "map_value"
        case .mapValueOrNull: "map_value_or_null"
        }
    }

    /// Whether a state with `self` here makes every continuation of one with `o` safe (regsafe).
    func covers(_ o: Reg) -> Bool {
        switch (self, o) {
        case (.notInit, _): return true
        case (.scalar(let a), .scalar(let b)): return a.covers(b)
        case (.packet(_, let a, let va, let ra), .packet(_, let b, let vb, let rb)): return a == b && va == vb && rb >= ra
        case (.packetMeta(let a, let ra), .packetMeta(let b, let rb)): return a == b && rb >= ra
        case (.mapValueOrNull(let a, _), .mapValueOrNull(let b, _)): return a == b
        default: return self == o
        }
    }
}

/// One frame's stack: per byte whether it was written, and registers spilled to 8-byte slots.
struct StackFrame: Equatable {
    static let size = 512
    var written = ByteSet()
    var spills: [Int: Reg] = [:]   // by slot (byte offset from the bottom / 8)

    func covers(_ o: StackFrame) -> Bool {
        guard written.isSubset(of: o.written) else { return false }
        for (slot, r) in spills {
            guard let other = o.spills[slot] else {
                // A spilled scalar we had is covered by plain written bytes only if it was unknown.
                if case .scalar(let s) = r, s.covers(.unknown), s == .unknown { continue }
                return false
            }
            if !r.covers(other) { return false }
        }
        // A pointer spilled where we had plain data: what read it as data may not use it as a pointer.
        for (slot, r) in o.spills where spills[slot] == nil && r.isPointer && written[slot * 8] { return false }
        return true
    }
}

/// Which of a frame's 512 stack bytes were written: a bitset, so states compare in a few words
/// (the verifier compares every state it reaches at a prune point with up to 64 others).
struct ByteSet: Equatable {
    var words = [UInt64](repeating: 0, count: StackFrame.size / 64)
    subscript(i: Int) -> Bool {
        get { words[i >> 6] >> UInt64(i & 63) & 1 == 1 }
        set { if newValue { words[i >> 6] |= 1 << UInt64(i & 63) } else { words[i >> 6] &= ~(1 << UInt64(i & 63)) } }
    }
    func isSubset(of o: ByteSet) -> Bool {
        for k in 0..<words.count where words[k] & ~o.words[k] != 0 { return false }
        return true
    }
}

/// The state on one path: registers of the current frame, the frames' stacks, and what each
/// caller frame keeps (r6-r9 and where to return).
struct VerifierState: Equatable {
    var regs = [Reg](repeating: .notInit, count: 11)
    var stacks = [StackFrame()]
    var callers: [(ret: Int, saved: [Reg])] = []
    var nextID = 0

    static func == (a: VerifierState, b: VerifierState) -> Bool {
        a.regs == b.regs && a.stacks == b.stacks && a.callers.map(\.ret) == b.callers.map(\.ret) && a.callers.map(\.saved) == b.callers.map(\.saved)
    }

    func covers(_ o: VerifierState) -> Bool {
        guard callers.map(\.ret) == o.callers.map(\.ret), stacks.count == o.stacks.count else { return false }
        for i in 0..<11 where !regs[i].covers(o.regs[i]) { return false }
        for (a, b) in zip(callers, o.callers) { for (x, y) in zip(a.saved, b.saved) where !x.covers(y) { return false } }
        for (a, b) in zip(stacks, o.stacks) where !a.covers(b) { return false }
        return true
    }

    /// A hash that equal states share (`==` ignores nextID and so does this): the loop check
    /// compares a state with every one on its path, and most differ here already.
    func fingerprint() -> Int {
        var h = Hasher()
        for r in regs { h.combine(r) }
        for f in stacks { h.combine(f.written.words); h.combine(f.spills.count) }
        h.combine(callers.count)
        return h.finalize()
    }

    mutating func newID() -> Int { nextID += 1; return nextID }

    /// Applies `change` to every register and spill of every frame.
    mutating func forEachReg(_ change: (inout Reg) -> Void) {
        for i in regs.indices { change(&regs[i]) }
        for f in stacks.indices { for k in stacks[f].spills.keys { change(&stacks[f].spills[k]!) } }
        for c in callers.indices { for i in callers[c].saved.indices { change(&callers[c].saved[i]) } }
    }
}
