// kernel/bpf/verifier.c: do_check. Every path from the first instruction is walked with abstract
// state: branches whose outcome the bounds decide are not explored, a state no wider than one
// already verified at the same jump target is pruned, and the same state met again on its own
// path is an infinite loop. Refused with the kernel verifier's words: packet access without a
// data_end check, reads of uninitialised registers, helper arguments of the wrong type, map values
// reached out of bounds or before a NULL check, loops never bounded. As for root (CAP_PERFMON),
// stack bytes never written read as unknown values and a pointer may be returned.

struct PathChecker {
    let p: BPFProgram
    /// The kernel's complexity limit (BPF_COMPLEXITY_LIMIT_INSNS): instructions walked over all paths.
    /// Fuzzing builds stop at a quarter of it: a program the kernel walks the whole million for
    /// (`same_register_compare_loop`) takes longer than libFuzzer's 10 s hang timeout under
    /// AddressSanitizer and coverage, which would make every such input a false hang.
    #if FUZZING
    static let complexityLimit = 250_000
    #else
    static let complexityLimit = 1_000_000
    #endif
    let complexityLimit: Int
    static let maxPacketOff = 0xffff

    init(_ p: BPFProgram, complexityLimit: Int = PathChecker.complexityLimit) { self.p = p; self.complexityLimit = complexityLimit }

    /// One path's place in the walk: the states met at jump targets along it, for telling a loop
    /// (the same state again on its own path) from a state verified on another path.
    final class Visit {
        let pc: Int, state: VerifierState, depth: Int, fingerprint: Int
        init(pc: Int, state: VerifierState, depth: Int, fingerprint: Int) { self.pc = pc; self.state = state; self.depth = depth; self.fingerprint = fingerprint }
    }
    /// States kept per jump target for pruning (the newest; older ones rarely prune).
    static let statesPerTarget = 64

    func fail(_ pc: Int, _ m: String) -> BPFVerifierError { BPFVerifierError("\(pc): \(m)") }

    func run() throws {
        // Prune points as the kernel marks them: conditional jumps, targets of unconditional ones,
        // calls and what follows them.
        var pruneAt = [Bool](repeating: false, count: p.insns.count + 1)
        func mark(_ k: Int) { if k >= 0 && k < pruneAt.count { pruneAt[k] = true } }
        for (k, i) in p.insns.enumerated() where i.cls == BPF.JMP || i.cls == BPF.JMP32 {
            switch i.code & 0xf0 {
            case BPF.EXIT: continue
            case BPF.CALL:
                mark(k); mark(k + 1)
                if i.src == BPF.PSEUDO_CALL { mark(k + 1 + Int(i.imm)) }
            case BPF.JA: mark(k + 1 + (i.cls == BPF.JMP32 ? Int(i.imm) : Int(i.off)))
            default: mark(k)
            }
        }
        var explored = [[Visit]](repeating: [], count: p.insns.count + 1)
        var start = VerifierState()
        start.regs[1] = .ctx(off: 0)
        start.regs[10] = .stack(frame: 0, off: 0)
        // Depth-first: a pending branch remembers how much of the current path is its own.
        var path: [Visit] = []
        var pending: [(pc: Int, state: VerifierState, depth: Int)] = [(0, start, 0)]
        var processed = 0
        while let (startPC, startState, depth) = pending.popLast() {
            var pc = startPC, st = startState
            path.removeLast(path.count - depth)
            pathLoop: while true {
                processed += 1
                guard processed <= complexityLimit else { throw fail(pc, "BPF program is too large. Processed \(processed) insn") }
                if pc >= 0 && pc < pruneAt.count && pruneAt[pc] {
                    var pruned = false
                    let fingerprint = st.fingerprint()
                    for v in explored[pc] {
                        if v.depth < path.count && path[v.depth] === v {
                            // The same state already on this path: nothing changes round the loop.
                            if v.fingerprint == fingerprint && v.state == st { throw fail(pc, "infinite loop detected at insn \(pc)") }
                        } else if v.state.covers(st) {
                            // Verified (or being verified) on another path, and no narrower: safe here too.
                            pruned = true
                            break
                        }
                    }
                    if pruned { break pathLoop }
                    let v = Visit(pc: pc, state: st, depth: path.count, fingerprint: fingerprint)
                    path.append(v)
                    explored[pc].append(v)
                    if explored[pc].count > Self.statesPerTarget { explored[pc].removeFirst() }
                }
                let i = p.insns[pc]
                switch try step(i, pc: pc, &st) {
                case .next(let n): pc = n
                case .branch(let taken, let takenState, let fall, let fallState):
                    if let fallState, let takenState { pending.append((taken, takenState, path.count)); st = fallState; pc = fall }
                    else if let fallState { st = fallState; pc = fall }
                    else if let takenState { st = takenState; pc = taken }
                    else { break pathLoop }
                case .exit: break pathLoop
                }
            }
        }
    }

    enum Step { case next(Int), branch(taken: Int, VerifierState?, fall: Int, VerifierState?), exit }

    // MARK: one instruction

    func read(_ st: VerifierState, _ r: UInt8, _ pc: Int) throws -> Reg {
        let v = st.regs[Int(r)]
        if case .notInit = v { throw fail(pc, "R\(r) !read_ok") }
        return v
    }

    func step(_ i: Insn, pc: Int, _ st: inout VerifierState) throws -> Step {
        let d = Int(i.dst)
        switch i.cls {
        case BPF.ALU, BPF.ALU64:
            try alu(i, pc: pc, &st)
            return .next(pc + 1)
        case BPF.LD where !i.isLdImm64:
            // check_ld_abs: R6 holds the skb; the load is a call (r1-r5 clobbered, r0 the value).
            guard case .ctx(let o) = try read(st, 6, pc) else { throw fail(pc, "at the time of BPF_LD_ABS|IND R6 != pointer to skb") }
            if i.code & 0xe0 == BPF.IND { _ = try read(st, i.src, pc) }
            guard o == 0 else { throw fail(pc, "dereference of modified ctx ptr R6 off=\(o) disallowed") }
            for r in 1...5 { st.regs[r] = .notInit }
            st.regs[0] = .scalar(.bits(BPF.size(i.code)))
            return .next(pc + 1)
        case BPF.LD:
            switch i.src {
            case BPF.PSEUDO_MAP_FD: st.regs[d] = .mapPtr(Int(i.imm))
            case BPF.PSEUDO_MAP_VALUE: st.regs[d] = .mapValue(map: Int(i.imm), off: Int(i.imm64), varMax: 0)
            default: st.regs[d] = .scalar(.constant(i.imm64))
            }
            return .next(pc + 2)
        case BPF.LDX:
            let base = try read(st, i.src, pc)
            let size = BPF.size(i.code)
            var v = try access(base, reg: i.src, off: Int(i.off), size: size, write: nil, pc: pc, &st)
            if i.code & 0xe0 == BPF.MEMSX, case .scalar = v { v = .scalar(.unknown) }
            st.regs[d] = v
            return .next(pc + 1)
        case BPF.ST, BPF.STX:
            let base = try read(st, i.dst, pc)
            let size = BPF.size(i.code)
            let value: Reg = i.cls == BPF.ST ? .scalar(.constant(UInt64(bitPattern: Int64(i.imm)))) : try read(st, i.src, pc)
            if i.code & 0xe0 == BPF.ATOMIC {
                if value.isPointer { throw fail(pc, "R\(i.src) leaks addr into mem") }
                // check_atomic: never into the context or a packet; any other pointer is checked as memory.
                switch base {
                case .ctx, .packet, .packetMeta: throw fail(pc, "BPF_ATOMIC stores into R\(i.dst) \(base.typeName) is not allowed")
                default: break
                }
                _ = try access(base, reg: i.dst, off: Int(i.off), size: size, write: nil, pc: pc, &st)
                _ = try access(base, reg: i.dst, off: Int(i.off), size: size, write: .scalar(.unknown), pc: pc, &st)
                if i.imm == BPF.CMPXCHG { _ = try read(st, 0, pc); st.regs[0] = .scalar(.bits(size)) }
                else if i.imm & BPF.FETCH != 0 { st.regs[Int(i.src)] = .scalar(.bits(size)) }
                return .next(pc + 1)
            }
            if i.cls == BPF.ST, case .ctx = base { throw fail(pc, "BPF_ST stores into R\(i.dst) ctx is not allowed") }
            _ = try access(base, reg: i.dst, off: Int(i.off), size: size, write: value, pc: pc, &st)
            return .next(pc + 1)
        default:
            return try jump(i, pc: pc, &st)
        }
    }

    // MARK: ALU

    func alu(_ i: Insn, pc: Int, _ st: inout VerifierState) throws {
        let d = Int(i.dst), op = i.code & 0xf0, is64 = i.cls == BPF.ALU64
        let imm = is64 ? UInt64(bitPattern: Int64(i.imm)) : UInt64(UInt32(bitPattern: i.imm))
        let srcReg: Reg = i.code & BPF.X != 0 && op != BPF.END && op != BPF.NEG ? try read(st, i.src, pc) : .scalar(.constant(imm))
        if op == BPF.MOV {
            if is64 && i.off == 0 {
                if case .scalar(var s) = srcReg, i.code & BPF.X != 0, !s.isConst {
                    // A copy shares the original's id: bounding one bounds both.
                    if s.id == 0 { s.id = st.newID(); st.regs[Int(i.src)] = .scalar(s) }
                    st.regs[d] = .scalar(s)
                } else {
                    st.regs[d] = srcReg
                }
                return
            }
            guard case .scalar(let s) = srcReg else {
                throw fail(pc, is64 ? "R\(i.src) sign-extension of a pointer prohibited" : "R\(i.src) partial copy of pointer")
            }
            if i.off != 0 { st.regs[d] = .scalar(.unknown); if !is64 { st.regs[d] = .scalar(.bits(4)) }; return }
            st.regs[d] = .scalar(s.umax <= 0xffff_ffff ? Scalar(umin: s.umin, umax: s.umax, smin: Int64(s.umin), smax: Int64(s.umax)) : .bits(4))
            return
        }
        let dst = try read(st, i.dst, pc)
        if case .scalar(let a) = dst, case .scalar(let b) = srcReg {
            st.regs[d] = .scalar(is64 ? Self.arith(op, a, b, imm: i.imm) : Self.arith32(op, a, b, imm: i.imm))
            return
        }
        // Pointer arithmetic: only add and subtract, 64-bit, with the kernel's limits.
        guard is64 else { throw fail(pc, "R\(d) 32-bit pointer arithmetic prohibited") }
        if op == BPF.SUB, dst.isPointer, srcReg.isPointer {
            switch (dst, srcReg) {
            case (.packet, .packet), (.packetEnd, .packet), (.packet, .packetMeta), (.packetEnd, .packetMeta), (.stack, .stack), (.mapValue, .mapValue):
                st.regs[d] = .scalar(.unknown); return
            default: throw fail(pc, "R\(d) pointer -= pointer prohibited")
            }
        }
        guard op == BPF.ADD || op == BPF.SUB else {
            let names: [UInt8: String] = [BPF.AND: "&=", BPF.OR: "|=", BPF.XOR: "^=", BPF.LSH: "<<=", BPF.RSH: ">>=", BPF.ARSH: "s>>="]
            let ptr = dst.isPointer ? d : Int(i.src)
            if let n = names[op] { throw fail(pc, "R\(ptr) bitwise operator \(n) on pointer prohibited") }
            throw fail(pc, "R\(ptr) pointer arithmetic with \(op == BPF.NEG ? "neg" : "this") operator prohibited")
        }
        let (ptr, off) = dst.isPointer ? (dst, srcReg) : (srcReg, dst)
        guard !(op == BPF.SUB && !dst.isPointer) else { throw fail(pc, "R\(d) tried to subtract pointer from scalar") }
        guard case .scalar(let s) = off else { throw fail(pc, "R\(d) pointer += pointer prohibited") }
        st.regs[d] = try movePointer(ptr, by: s, subtract: op == BPF.SUB, pc: pc, reg: d, &st)
    }

    func movePointer(_ ptr: Reg, by s: Scalar, subtract: Bool, pc: Int, reg d: Int, _ st: inout VerifierState) throws -> Reg {
        if s.isConst {
            let k = Int(truncatingIfNeeded: Int64(bitPattern: s.umin))
            guard k > -(1 << 29), k < 1 << 29 else { throw fail(pc, "math between \(ptr.typeName) pointer and \(k) is not allowed") }
            let delta = subtract ? -k : k
            // check_reg_sane_offset: a pointer's fixed offset stays within BPF_MAX_VAR_OFF.
            func sane(_ o: Int) throws -> Int {
                guard o > -(1 << 29), o < 1 << 29 else { throw fail(pc, "\(ptr.typeName) pointer offset \(o) is not allowed") }
                return o
            }
            switch ptr {
            case .ctx(let o): return .ctx(off: try sane(o + delta))
            case .stack(let f, let o): return .stack(frame: f, off: try sane(o + delta))
            case .packet(let id, let o, let v, let r):
                guard abs(o + delta) <= Self.maxPacketOff else { throw fail(pc, "R\(d) offset is outside of the packet") }
                return .packet(id: id, off: o + delta, varMax: v, range: r)
            case .packetMeta(let o, let r): return .packetMeta(off: o + delta, range: r)
            case .mapValue(let m, let o, let v): return .mapValue(map: m, off: try sane(o + delta), varMax: v)
            case .packetEnd: return .scalar(.unknown)
            case .mapPtr, .mapValueOrNull: throw fail(pc, "R\(d) pointer arithmetic on \(ptr.typeName) prohibited, null-check it first")
            default: return ptr
            }
        }
        // A variable offset: only packet and map value pointers, from a bounded non-negative scalar.
        guard !subtract else { throw fail(pc, "R\(d) tried to subtract a variable offset from pointer") }
        guard s.smin >= 0, s.umax <= UInt64(Self.maxPacketOff) else {
            throw fail(pc, "R\(d) unbounded memory access, make sure to bounds check any such access")
        }
        switch ptr {
        case .packet(_, let o, let v, _): return .packet(id: st.newID(), off: o, varMax: v + s.umax, range: 0)
        case .mapValue(let m, let o, let v): return .mapValue(map: m, off: o, varMax: v + s.umax)
        case .stack: throw fail(pc, "R\(d) variable stack access prohibited")
        case .mapPtr, .mapValueOrNull: throw fail(pc, "R\(d) pointer arithmetic on \(ptr.typeName) prohibited, null-check it first")
        default: throw fail(pc, "R\(d) pointer arithmetic on \(ptr.typeName) prohibited")
        }
    }

    /// Bounds of a 64-bit ALU result (scalar_min_max_* for the cases programs use).
    static func arith(_ op: UInt8, _ a: Scalar, _ b: Scalar, imm: Int32) -> Scalar {
        if a.isConst && b.isConst {
            let x = a.umin, y = b.umin
            let r: UInt64? = switch op {
            case BPF.ADD: x &+ y
            case BPF.SUB: x &- y
            case BPF.MUL: x &* y
            case BPF.DIV: y == 0 ? 0 : x / y
            case BPF.MOD: y == 0 ? x : x % y
            case BPF.OR: x | y
            case BPF.AND: x & y
            case BPF.XOR: x ^ y
            case BPF.LSH: x << (y & 63)
            case BPF.RSH: x >> (y & 63)
            case BPF.ARSH: UInt64(bitPattern: Int64(bitPattern: x) >> Int64(y & 63))
            case BPF.NEG: 0 &- x
            case BPF.END: nil
            default: nil
            }
            if let r { return .constant(r) }
        }
        var s = Scalar.unknown
        switch op {
        case BPF.ADD:
            let (lo, o1) = a.umin.addingReportingOverflow(b.umin), (hi, o2) = a.umax.addingReportingOverflow(b.umax)
            if !o1 && !o2 { s = .range(lo, hi) }
        case BPF.SUB:
            if a.umin >= b.umax { s = .range(a.umin - b.umax, a.umax - b.umin) }
        case BPF.MUL:
            let (hi, o) = a.umax.multipliedReportingOverflow(by: b.umax)
            if !o { s = .range(a.umin &* b.umin, hi) }
        case BPF.AND:
            s = .range(0, min(a.umax, b.umax))
        case BPF.OR:
            let top = max(a.umax, b.umax)
            s = .range(max(a.umin, b.umin), top == 0 ? 0 : (top.leadingZeroBitCount == 0 ? .max : (1 << UInt64(64 - top.leadingZeroBitCount)) - 1))
        case BPF.LSH:
            if b.isConst, b.umin < 64, a.umax.leadingZeroBitCount >= Int(b.umin) { s = .range(a.umin << b.umin, a.umax << b.umin) }
        case BPF.RSH:
            if b.isConst { s = .range(a.umin >> (b.umin & 63), a.umax >> (b.umin & 63)) } else { s = .range(0, a.umax) }
        case BPF.DIV:
            if b.isConst && b.umin > 0 { s = .range(a.umin / b.umin, a.umax / b.umin) } else { s = .range(0, a.umax) }
        case BPF.MOD:
            if b.isConst && b.umin > 0 { s = .range(0, min(a.umax, b.umin - 1)) } else { s = .range(0, a.umax) }
        case BPF.END:
            s = imm >= 64 ? .unknown : .bits(Int(imm) / 8)
        default: break
        }
        return s
    }

    static func arith32(_ op: UInt8, _ a: Scalar, _ b: Scalar, imm: Int32) -> Scalar {
        let lo32 = { (x: Scalar) -> Scalar in x.umax <= 0xffff_ffff ? x : .bits(4) }
        let r = arith(op, lo32(a), lo32(b), imm: imm)
        if r.isConst { return .constant(r.umin & 0xffff_ffff) }
        return r.umax <= 0xffff_ffff && !(op == BPF.SUB || op == BPF.NEG || op == BPF.ARSH) ? .range(r.umin, r.umax) : .bits(4)
    }

    // MARK: memory

    /// A load (`write` nil) or store through `base`: the value loaded, checked as check_mem_access does.
    func access(_ base: Reg, reg: UInt8, off insnOff: Int, size: Int, write: Reg?, pc: Int, _ st: inout VerifierState) throws -> Reg {
        switch base {
        case .ctx(let o):
            let off = o + insnOff
            switch BPFContext.check(p.type, off: off, size: size, write: write != nil) {
            case nil: throw fail(pc, BPFContext.refusal(p.type, off: off, size: size))
            case .data: return .packet(id: 0, off: 0, varMax: 0, range: 0)
            case .dataEnd: return .packetEnd
            case .dataMeta: return .packetMeta(off: 0, range: 0)
            case .scalar: return write ?? .scalar(.bits(size))
            }
        case .packet(let id, let o, _, let range):
            let off = o + insnOff
            guard off >= 0, off + size <= range else {
                throw fail(pc, "invalid access to packet, off=\(off) size=\(size), R\(reg)(id=\(id),off=\(off),r=\(range))\nR\(reg) offset is outside of the packet")
            }
            if let w = write, w.isPointer { throw fail(pc, "R\(reg) leaks addr into packet") }
            return .scalar(.bits(size))
        case .packetMeta(let o, let range):
            let off = o + insnOff
            guard off >= 0, off + size <= range else { throw fail(pc, "invalid access to packet, off=\(off) size=\(size), R\(reg)(id=0,off=\(off),r=\(range))\nR\(reg) offset is outside of the packet") }
            return .scalar(.bits(size))
        case .mapValue(let m, let o, let v):
            let map = p.maps[m]
            let off = o + insnOff
            guard off >= 0, UInt64(off) + v + UInt64(size) <= UInt64(map.spec.valueSize) else {
                throw fail(pc, "invalid access to map value, value_size=\(map.spec.valueSize) off=\(off) size=\(size)\nR\(reg) \(off < 0 || v == 0 ? "min" : "max") value is outside of the allowed memory range")
            }
            if write != nil && map.spec.flags & 0x80 != 0 { throw fail(pc, "write into map forbidden, value_size=\(map.spec.valueSize) off=\(off) size=\(size)") }
            return .scalar(.bits(size))
        case .stack(let f, let o):
            let off = o + insnOff
            guard off < 0, off >= -StackFrame.size, off + size <= 0 else {
                throw fail(pc, "invalid \(write == nil ? "read from" : "write to") stack R\(reg) off=\(off) size=\(size)")
            }
            let lo = StackFrame.size + off
            reach(lo)
            if let w = write {
                if w.isPointer && (size != 8 || lo % 8 != 0) { throw fail(pc, "invalid size of register spill") }
                for b in lo..<lo + size { st.stacks[f].written[b] = true }
                // A store over part of a spilled slot turns it into plain data.
                for slot in Set([lo / 8, (lo + size - 1) / 8]) { st.stacks[f].spills[slot] = nil }
                if size == 8 && lo % 8 == 0 { st.stacks[f].spills[lo / 8] = w }
                return w
            }
            if size == 8 && lo % 8 == 0, let spilled = st.stacks[f].spills[lo / 8] { return spilled }
            for slot in Set([lo / 8, (lo + size - 1) / 8]) {
                if let s = st.stacks[f].spills[slot], s.isPointer { throw fail(pc, "invalid size of register fill") }
            }
            return .scalar(.bits(size))
        case .notInit:
            throw fail(pc, "R\(reg) !read_ok")
        default:
            throw fail(pc, "R\(reg) invalid mem access '\(base.typeName)'")
        }
    }

    /// A stack access from byte `lo` of a frame: the depth runs of the program zero.
    func reach(_ lo: Int) { p.stackDepth = max(p.stackDepth, (StackFrame.size - lo + 7) & ~7) }

    /// `size` bytes a helper reads (or writes) through an argument register.
    func memArg(_ r: Reg, reg: Int, size: Int, write: Bool, pc: Int, _ st: inout VerifierState) throws {
        switch r {
        case .stack(let f, let o):
            guard o < 0, o >= -StackFrame.size, o + size <= 0 else { throw fail(pc, "invalid indirect access to stack R\(reg) off=\(o) size=\(size)") }
            let lo = StackFrame.size + o
            reach(lo)
            if write {
                for b in lo..<lo + size { st.stacks[f].written[b] = true }
                for slot in (lo / 8)...((lo + size - 1) / 8) { st.stacks[f].spills[slot] = nil }
            }
        case .packet, .packetMeta, .mapValue:
            _ = try access(r, reg: UInt8(reg), off: 0, size: size, write: write ? .scalar(.unknown) : nil, pc: pc, &st)
        default:
            throw fail(pc, "R\(reg) type=\(r.typeName) expected=fp, pkt, pkt_meta, map_value")
        }
    }

    // MARK: jumps and calls

    func jump(_ i: Insn, pc: Int, _ st: inout VerifierState) throws -> Step {
        let op = i.code & 0xf0, is32 = i.cls == BPF.JMP32
        switch op {
        case BPF.JA: return .next(pc + 1 + (is32 ? Int(i.imm) : Int(i.off)))
        case BPF.EXIT: return try exit(pc: pc, &st)
        case BPF.CALL:
            if i.src == BPF.PSEUDO_CALL {
                guard st.callers.count + 1 < BPFVM.maxFrames else { throw fail(pc, "the call stack of \(st.callers.count + 2) frames is too deep") }
                st.callers.append((pc + 1, Array(st.regs[6...9])))
                var regs = [Reg](repeating: .notInit, count: 11)
                for r in 1...5 { regs[r] = st.regs[r] }
                regs[10] = .stack(frame: st.stacks.count, off: 0)
                st.stacks.append(StackFrame())
                st.regs = regs
                return .next(pc + 1 + Int(i.imm))
            }
            try helperCall(i.imm, pc: pc, &st)
            return .next(pc + 1)
        default: break
        }
        let a = try read(st, i.dst, pc)
        let b: Reg = i.code & BPF.X != 0 ? try read(st, i.src, pc) : .scalar(.constant(is32 ? UInt64(UInt32(bitPattern: i.imm)) : UInt64(bitPattern: Int64(i.imm))))
        let taken = pc + 1 + Int(i.off), fall = pc + 1
        var t = st, f = st
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)):
            if is32 && (x.umax > 0xffff_ffff || y.umax > 0xffff_ffff) { return .branch(taken: taken, t, fall: fall, f) }
            var (tx, ty) = Self.refine(op, x, y, taken: true, signed32: is32)
            var (fx, fy) = Self.refine(op, x, y, taken: false, signed32: is32)
            if i.code & BPF.X != 0 && i.dst == i.src {
                // One register on both sides (regs_refine_cond_op on the same state): both narrowings hold.
                tx = tx.intersection(ty); ty = tx; fx = fx.intersection(fy); fy = fx
            }
            let takenOK = !tx.isEmpty && !ty.isEmpty, fallOK = !fx.isEmpty && !fy.isEmpty
            Self.set(&t, Int(i.dst), tx); Self.set(&f, Int(i.dst), fx)
            if i.code & BPF.X != 0 { Self.set(&t, Int(i.src), ty); Self.set(&f, Int(i.src), fy) }
            return .branch(taken: taken, takenOK ? t : nil, fall: fall, fallOK ? f : nil)
        case (.mapValueOrNull(_, let id), .scalar(let z)) where z.isConst && z.umin == 0 && (op == BPF.JEQ || op == BPF.JNE):
            // The NULL check: one branch has the value, the other NULL, for every copy of the pointer.
            Self.settleNull(&t, id: id, isNull: op == BPF.JEQ)
            Self.settleNull(&f, id: id, isNull: op == BPF.JNE)
            return .branch(taken: taken, t, fall: fall, f)
        case (.packet, .packetEnd), (.packetEnd, .packet), (.packetMeta, .packet), (.packet, .packetMeta):
            guard !is32 else { throw fail(pc, "R\(i.dst) pointer comparison prohibited") }
            try packetCompare(op, i, a, b, &t, &f)
            return .branch(taken: taken, t, fall: fall, f)
        default:
            if is32, a.isPointer || b.isPointer { throw fail(pc, "R\(a.isPointer ? i.dst : i.src) pointer comparison prohibited") }
            return .branch(taken: taken, t, fall: fall, f)
        }
    }

    /// find_good_pkt_pointers: the branch where `pkt + off` is known not to pass the end proves
    /// `off` bytes (one more when the comparison is strict) for every pointer of that packet id.
    func packetCompare(_ op: UInt8, _ i: Insn, _ a: Reg, _ b: Reg, _ t: inout VerifierState, _ f: inout VerifierState) throws {
        // Orient as "pkt OP end".
        var op = op
        var pkt = a
        if case .packetEnd = a { pkt = b; op = [BPF.JGT: BPF.JLT, BPF.JLT: BPF.JGT, BPF.JGE: BPF.JLE, BPF.JLE: BPF.JGE][op] ?? op }
        if case .packetMeta = b { return }
        if case .packetMeta = a, case .packet = b {   // meta OP data: proves meta's range
            guard case .packetMeta(let o, _) = a else { return }
            func prove(_ s: inout VerifierState, _ extra: Int) { s.forEachReg { r in if case .packetMeta(let ro, let rr) = r { r = .packetMeta(off: ro, range: max(rr, o + extra)) } } }
            switch op { case BPF.JGT: prove(&f, 0); case BPF.JLE: prove(&t, 0); case BPF.JGE: prove(&f, 1); case BPF.JLT: prove(&t, 1); default: break }
            return
        }
        guard case .packet(let id, let off, _, _) = pkt, off >= 0 else { return }
        func prove(_ s: inout VerifierState, _ range: Int) {
            s.forEachReg { r in if case .packet(let rid, let ro, let rv, let rr) = r, rid == id { r = .packet(id: rid, off: ro, varMax: rv, range: max(rr, range)) } }
        }
        switch op {
        case BPF.JGT: prove(&f, off)        // pkt > end taken; pkt <= end falls through
        case BPF.JLE: prove(&t, off)
        case BPF.JGE: prove(&f, off + 1)    // pkt < end: one byte more
        case BPF.JLT: prove(&t, off + 1)
        default: break
        }
    }

    static func set(_ st: inout VerifierState, _ r: Int, _ s: Scalar) {
        guard case .scalar(let old) = st.regs[r] else { return }
        var n = s
        n.id = old.id
        st.regs[r] = .scalar(n)
        if old.id != 0 { st.forEachReg { x in if case .scalar(let o) = x, o.id == old.id { var m = n; m.id = o.id; x = .scalar(m) } } }
    }

    static func settleNull(_ st: inout VerifierState, id: Int, isNull: Bool) {
        st.forEachReg { r in
            if case .mapValueOrNull(let m, let rid) = r, rid == id { r = isNull ? .scalar(.constant(0)) : .mapValue(map: m, off: 0, varMax: 0) }
        }
    }

    /// The bounds of both operands on one side of a comparison (reg_set_min_max); an empty range
    /// means that side cannot happen (is_branch_taken).
    static func refine(_ op: UInt8, _ x: Scalar, _ y: Scalar, taken: Bool, signed32: Bool) -> (Scalar, Scalar) {
        var a = x, b = y
        // The comparison that holds on this side.
        let ops: [UInt8: UInt8] = [BPF.JEQ: BPF.JNE, BPF.JNE: BPF.JEQ, BPF.JGT: BPF.JLE, BPF.JLE: BPF.JGT, BPF.JGE: BPF.JLT, BPF.JLT: BPF.JGE,
                                   BPF.JSGT: BPF.JSLE, BPF.JSLE: BPF.JSGT, BPF.JSGE: BPF.JSLT, BPF.JSLT: BPF.JSGE]
        let holds = taken ? op : (ops[op] ?? op)
        if signed32 && [BPF.JSGT, BPF.JSGE, BPF.JSLT, BPF.JSLE].contains(holds) { return (a, b) }   // 32-bit signed: not narrowed here
        switch holds {
        case BPF.JEQ:
            a.umin = max(a.umin, b.umin); a.umax = min(a.umax, b.umax); a.smin = max(a.smin, b.smin); a.smax = min(a.smax, b.smax)
            b.umin = a.umin; b.umax = a.umax; b.smin = a.smin; b.smax = a.smax
        case BPF.JNE:
            if b.isConst { if a.umin == b.umin && a.umax == b.umin { a.umin = 1; a.umax = 0 } else if a.umin == b.umin { a.umin += 1 } else if a.umax == b.umin { a.umax -= 1 } }
            if a.isConst && b.isConst && a.umin == b.umin { a.umin = 1; a.umax = 0 }
        case BPF.JGT:
            if b.umin == .max { a.umin = 1; a.umax = 0 } else { a.umin = max(a.umin, b.umin + 1) }
            if a.umax == 0 { b.umin = 1; b.umax = 0 } else { b.umax = min(b.umax, a.umax - 1) }
        case BPF.JGE:
            a.umin = max(a.umin, b.umin); b.umax = min(b.umax, a.umax)
        case BPF.JLT:
            if b.umax == 0 { a.umin = 1; a.umax = 0 } else { a.umax = min(a.umax, b.umax - 1) }
            if a.umin == .max { b.umin = 1; b.umax = 0 } else { b.umin = max(b.umin, a.umin + 1) }
        case BPF.JLE:
            a.umax = min(a.umax, b.umax); b.umin = max(b.umin, a.umin)
        case BPF.JSGT:
            if b.smin == .max { a.smin = 1; a.smax = 0 } else { a.smin = max(a.smin, b.smin + 1) }
            if a.smax == .min { b.smin = 1; b.smax = 0 } else { b.smax = min(b.smax, a.smax - 1) }
        case BPF.JSGE:
            a.smin = max(a.smin, b.smin); b.smax = min(b.smax, a.smax)
        case BPF.JSLT:
            if b.smax == .min { a.smin = 1; a.smax = 0 } else { a.smax = min(a.smax, b.smax - 1) }
            if a.smin == .max { b.smin = 1; b.smax = 0 } else { b.smin = max(b.smin, a.smin + 1) }
        case BPF.JSLE:
            a.smax = min(a.smax, b.smax); b.smin = max(b.smin, a.smin)
        case BPF.JSET:
            if !taken, b.isConst, a.isConst, a.umin & b.umin != 0 { a.umin = 1; a.umax = 0 }
            if taken, b.isConst, a.isConst, a.umin & b.umin == 0 { a.umin = 1; a.umax = 0 }
            if taken, b.isConst, b.umin == 0 { a.umin = 1; a.umax = 0 }
        default: break
        }
        if !a.isEmpty { a.sync() }
        if !b.isEmpty { b.sync() }
        return (a, b)
    }

    func exit(pc: Int, _ st: inout VerifierState) throws -> Step {
        let r0 = try read(st, 0, pc)
        guard let caller = st.callers.popLast() else {
            return .exit
        }
        st.stacks.removeLast()
        var regs = [Reg](repeating: .notInit, count: 11)
        regs[0] = r0
        for (k, r) in caller.saved.enumerated() { regs[6 + k] = r }
        regs[10] = .stack(frame: st.stacks.count - 1, off: 0)
        st.regs = regs
        return .next(caller.ret)
    }

    // MARK: helpers

    enum Arg { case anything, ctx, map, key, value, mem, uninitMem, size, memOrNull, sizeOrZero, progArray }

    /// Each helper's `bpf_func_proto` argument types (XDP's and tc's).
    static func proto(_ id: Int32) -> [Arg] {
        switch id {
        case 9: [.ctx, .anything, .mem, .size, .anything]
        case 10, 11: [.ctx, .anything, .anything, .anything, .anything]
        case 38, 43: [.ctx, .anything, .anything]
        case 26: [.ctx, .anything, .uninitMem, .size]
        case 39: [.ctx, .anything]
        case 1, 3: [.map, .key]
        case 2: [.map, .key, .value, .anything]
        case 5, 7, 8: []
        case 6: [.mem, .size]
        case 12: [.ctx, .progArray, .anything]
        case 23: [.anything, .anything]
        case 28: [.memOrNull, .sizeOrZero, .memOrNull, .sizeOrZero, .anything]
        case 44, 54, 65: [.ctx, .anything]
        case 51: [.map, .anything, .anything]
        case 69: [.ctx, .mem, .size, .anything]
        case 177: [.mem, .size, .memOrNull, .sizeOrZero]
        default: []
        }
    }

    func helperCall(_ id: Int32, pc: Int, _ st: inout VerifierState) throws {
        let args = Self.proto(id)
        var map: BPFMap? = nil
        for (k, arg) in args.enumerated() {
            let r = k + 1
            let v = try read(st, UInt8(r), pc)
            switch arg {
            case .anything: break
            case .ctx:
                guard case .ctx(let o) = v, o == 0 else { throw fail(pc, "R\(r) type=\(v.typeName) expected=ctx") }
            case .map, .progArray:
                guard case .mapPtr(let m) = v else { throw fail(pc, "R\(r) type=\(v.typeName) expected=map_ptr") }
                map = p.maps[m]
                if arg == .progArray && map!.type != .progArray {
                    throw fail(pc, "cannot pass map_type \(map!.spec.type) into func \(HelperNames.name(id))#\(id)")
                }
                if id == 51 && map!.type != .devmap && map!.type != .devmapHash && map!.type != .cpumap {
                    throw fail(pc, "cannot pass map_type \(map!.spec.type) into func \(HelperNames.name(id))#\(id)")
                }
                // check_map_func_compatibility: a cpumap only with bpf_redirect_map.
                if id != 51 && map!.type == .cpumap {
                    throw fail(pc, "cannot pass map_type \(map!.spec.type) into func \(HelperNames.name(id))#\(id)")
                }
                if id != 51 && (map!.type == .devmap || map!.type == .devmapHash) && (id == 2 || id == 3) {
                    throw fail(pc, "cannot pass map_type \(map!.spec.type) into func \(HelperNames.name(id))#\(id)")
                }
            case .key, .value:
                guard let m = map else { throw fail(pc, "invalid map_ptr to access map->\(arg == .key ? "key" : "value")") }
                try memArg(v, reg: r, size: arg == .key ? m.spec.keySize : m.spec.valueSize, write: false, pc: pc, &st)
            case .mem, .memOrNull, .uninitMem:
                // Checked with the size that follows.
                if arg == .memOrNull, case .scalar(let s) = v, s.isConst, s.umin == 0 { continue }
                guard case .scalar = v else { continue }
                throw fail(pc, "R\(r) type=\(v.typeName) expected=fp, pkt, pkt_meta, map_value")
            case .size, .sizeOrZero:
                guard case .scalar(let s) = v else { throw fail(pc, "R\(r) type=\(v.typeName) expected=scalar") }
                guard s.smin >= 0 else { throw fail(pc, "R\(r) min value is negative, either use unsigned or 'var &= const'") }
                guard s.umax < 1 << 29 else { throw fail(pc, "R\(r) unbounded memory access, use 'var &= const' or 'if (var < const)'") }
                if arg == .size && s.umin == 0 && s.umax == 0 { throw fail(pc, "R\(r) invalid zero-sized read") }
                let mem = st.regs[r - 1]
                if arg == .sizeOrZero, case .scalar(let z) = mem, z.isConst, z.umin == 0 { continue }
                try memArg(mem, reg: r - 1, size: Int(s.umax), write: args[k - 1] == .uninitMem, pc: pc, &st)
            }
        }
        // Results and clobbers: r0 set, r1-r5 unreadable; adjusting the packet invalidates its pointers.
        for r in 1...5 { st.regs[r] = .notInit }
        if id == 1, let m = map {
            st.regs[0] = .mapValueOrNull(map: p.maps.firstIndex { $0 === m }!, id: st.newID())
        } else {
            st.regs[0] = .scalar(.unknown)
        }
        // bpf_helper_changes_pkt_data.
        if [9, 10, 11, 38, 39, 43, 44, 54, 65].contains(id) {
            st.forEachReg { r in
                switch r { case .packet, .packetEnd, .packetMeta: r = .scalar(.unknown); default: break }
            }
        }
    }
}
