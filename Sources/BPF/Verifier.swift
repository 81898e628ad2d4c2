// kernel/bpf/verifier.c, the checks made before any path is explored: the control flow graph
// (check_cfg), opcodes and reserved fields (do_check's decoding), registers read before they are
// written (a must-be-written analysis over the graph), helpers the program type may call, map
// references. The messages are the kernel verifier's.
//
// Not yet modelled: the path-sensitive part (packet ranges proven by a data_end comparison,
// pointer types of helper arguments, stack slots read before written, bounded loops). Those
// programs load here and are stopped at run time by the bounds checks and the instruction budget.

public struct BPFVerifierError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

struct Verifier {
    let p: BPFProgram
    init(_ p: BPFProgram) { self.p = p }

    func verify() throws {
        let insns = p.insns
        guard !insns.isEmpty else { throw BPFVerifierError("empty program") }
        guard insns.count <= 1_000_000 else { throw BPFVerifierError("BPF program is too large. Processed \(insns.count) insn") }
        // Which slots are the second half of an LD_IMM64.
        var second = [Bool](repeating: false, count: insns.count)
        var i = 0
        while i < insns.count {
            if insns[i].isLdImm64 {
                guard i + 1 < insns.count else { throw BPFVerifierError("invalid bpf_ld_imm64 insn") }
                second[i + 1] = true; i += 2
            } else { i += 1 }
        }
        for (k, insn) in insns.enumerated() where !second[k] { try checkInsn(insn, at: k) }

        // check_cfg: every edge lands on an instruction start inside the program; nothing falls off the end.
        func successors(_ k: Int) throws -> [Int] {
            let insn = insns[k]
            let cls = insn.cls
            if insn.isLdImm64 { return [k + 2] }
            guard cls == BPF.JMP || cls == BPF.JMP32 else { return [k + 1] }
            let op = insn.code & 0xf0
            if op == BPF.EXIT { return [] }
            if op == BPF.CALL {
                if insn.src == BPF.PSEUDO_CALL { return [k + 1, k + 1 + Int(insn.imm)] }
                return [k + 1]
            }
            if op == BPF.JA { return [k + 1 + (cls == BPF.JMP32 ? Int(insn.imm) : Int(insn.off))] }
            return [k + 1, k + 1 + Int(insn.off)]
        }
        // Reachability and must-be-written registers, iterated to a fixed point over the graph.
        let all: UInt16 = 0x7ff
        var written = [UInt16](repeating: all, count: insns.count)   // ⊤ until reached
        var reached = [Bool](repeating: false, count: insns.count)
        var work = [0]
        written[0] = 1 << 1 | 1 << 10
        reached[0] = true
        var subprogEntries = Set<Int>()
        while let k = work.popLast() {
            let insn = insns[k]
            var w = written[k]
            // Registers this instruction reads must be written on every path here.
            for r in reads(insn) where w & (1 << r) == 0 { throw BPFVerifierError("\(k): R\(r) !read_ok") }
            if let d = writes(insn) { w |= 1 << d }
            if insn.code == BPF.JMP | BPF.CALL {
                w = (w & ~0x3e) | 1   // r0 set, r1-r5 clobbered
            }
            for (n, t) in try successors(k).enumerated() {
                guard t >= 0, t < insns.count else {
                    throw BPFVerifierError(t == insns.count && n == 0 ? "last insn is not an exit or jmp" : "jump out of range from insn \(k) to \(t)")
                }
                guard !second[t] else { throw BPFVerifierError("jump into the middle of ldimm64 insn \(t - 1)") }
                var into = w
                if insn.code == BPF.JMP | BPF.CALL && insn.src == BPF.PSEUDO_CALL && n == 1 {
                    subprogEntries.insert(t)
                    into = 0x3e | 1 << 10   // a subprogram starts with its arguments and a frame
                }
                let merged = reached[t] ? written[t] & into : into
                if !reached[t] || merged != written[t] { reached[t] = true; written[t] = merged; work.append(t) }
            }
        }
        for k in insns.indices where !reached[k] && !second[k] && !unreachableAllowed(k) {
            throw BPFVerifierError("unreachable insn \(k)")
        }
    }

    /// Subprograms appended from `.text` that this program never calls are not its code.
    func unreachableAllowed(_ k: Int) -> Bool { k >= p.mainLength }

    func checkInsn(_ insn: Insn, at k: Int) throws {
        let cls = insn.cls, code = insn.code
        guard insn.dst <= 10, insn.src <= 10 || cls == BPF.LD || (cls == BPF.JMP && code & 0xf0 == BPF.CALL) else {
            throw BPFVerifierError("\(k): R\(max(insn.dst, insn.src)) is invalid")
        }
        switch cls {
        case BPF.ALU, BPF.ALU64:
            let op = code & 0xf0
            guard op <= BPF.END else { throw BPFVerifierError("\(k): invalid BPF_ALU opcode \(String(format: op))") }
            if insn.dst == 10 { throw BPFVerifierError("\(k): frame pointer is read only") }
            if op == BPF.END {
                guard [16, 32, 64].contains(insn.imm) else { throw BPFVerifierError("\(k): BPF_END uses reserved fields") }
            } else if code & BPF.X == 0 && insn.src != 0 {
                throw BPFVerifierError("\(k): BPF_ALU uses reserved fields")
            }
        case BPF.LDX:
            let mode = code & 0xe0
            guard mode == BPF.MEM || mode == BPF.MEMSX, insn.imm == 0 else { throw BPFVerifierError("\(k): BPF_LDX uses reserved fields") }
            if insn.dst == 10 { throw BPFVerifierError("\(k): frame pointer is read only") }
        case BPF.ST, BPF.STX:
            let mode = code & 0xe0
            if cls == BPF.STX && mode == BPF.ATOMIC {
                guard [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, BPF.XCHG, BPF.CMPXCHG].contains(insn.imm), code & 0x18 == BPF.W || code & 0x18 == BPF.DW else {
                    throw BPFVerifierError("\(k): BPF_ATOMIC uses invalid atomic opcode \(String(format: UInt8(truncatingIfNeeded: insn.imm)))")
                }
            } else {
                guard mode == BPF.MEM else { throw BPFVerifierError("\(k): BPF_\(cls == BPF.ST ? "ST" : "STX") uses reserved fields") }
            }
        case BPF.LD:
            guard insn.isLdImm64 else { throw BPFVerifierError("\(k): BPF_LD_[ABS|IND] instructions not allowed for this program type") }
            if insn.dst == 10 { throw BPFVerifierError("\(k): frame pointer is read only") }
            switch insn.src {
            case 0: break
            case BPF.PSEUDO_MAP_FD, BPF.PSEUDO_MAP_VALUE:
                guard insn.imm >= 0, Int(insn.imm) < p.maps.count else { throw BPFVerifierError("\(k): fd \(insn.imm) is not pointing to valid bpf_map") }
                if insn.src == BPF.PSEUDO_MAP_VALUE {
                    let m = p.maps[Int(insn.imm)]
                    guard m.type == .array, m.spec.maxEntries == 1, insn.imm64 < UInt64(m.spec.valueSize) else {
                        throw BPFVerifierError("\(k): invalid access to map value pointer, value_size=\(m.spec.valueSize) off=\(insn.imm64)")
                    }
                }
            default: throw BPFVerifierError("\(k): unrecognized bpf_ld_imm64 insn")
            }
        default:   // JMP, JMP32
            let op = code & 0xf0
            if op == BPF.CALL {
                guard cls == BPF.JMP else { throw BPFVerifierError("\(k): BPF_CALL uses reserved fields") }
                if insn.src == BPF.PSEUDO_CALL { return }
                if insn.src == BPF.PSEUDO_KFUNC_CALL { throw BPFVerifierError("\(k): kernel function calls (kfuncs) not supported yet") }
                guard BPFVM.xdpHelpers.contains(insn.imm) else { throw BPFVerifierError("\(k): unknown func \(HelperNames.name(insn.imm))#\(insn.imm)") }
                if BPFVM.gplOnly.contains(insn.imm) && !p.gplCompatible { throw BPFVerifierError("\(k): cannot call GPL-restricted function from non-GPL compatible program") }
            } else if op == BPF.EXIT {
                guard cls == BPF.JMP, insn.src == 0, insn.dst == 0, insn.imm == 0, insn.off == 0 else { throw BPFVerifierError("\(k): BPF_EXIT uses reserved fields") }
            } else if op > BPF.JSLE {
                throw BPFVerifierError("\(k): unknown opcode \(String(format: code))")
            }
        }
    }

    /// Registers an instruction reads.
    func reads(_ insn: Insn) -> [Int] {
        let d = Int(insn.dst), s = Int(insn.src)
        switch insn.cls {
        case BPF.ALU, BPF.ALU64:
            let op = insn.code & 0xf0
            if op == BPF.MOV { return insn.code & BPF.X != 0 ? [s] : [] }
            if op == BPF.NEG || op == BPF.END { return [d] }
            return insn.code & BPF.X != 0 ? [d, s] : [d]
        case BPF.LDX: return [s]
        case BPF.ST: return [d]
        case BPF.STX: return insn.code & 0xe0 == BPF.ATOMIC && insn.imm == BPF.CMPXCHG ? [d, s, 0] : [d, s]
        case BPF.LD: return []
        default:
            let op = insn.code & 0xf0
            switch op {
            case BPF.EXIT: return [0]
            case BPF.CALL: return insn.src == BPF.PSEUDO_CALL ? [] : (0..<Self.argCount(insn.imm)).map { $0 + 1 }
            case BPF.JA: return []
            default: return insn.code & BPF.X != 0 ? [d, s] : [d]
            }
        }
    }

    func writes(_ insn: Insn) -> Int? {
        switch insn.cls {
        case BPF.ALU, BPF.ALU64, BPF.LDX, BPF.LD: return Int(insn.dst)
        case BPF.STX where insn.code & 0xe0 == BPF.ATOMIC:
            if insn.imm == BPF.CMPXCHG { return 0 }
            return insn.imm & BPF.FETCH != 0 ? Int(insn.src) : nil
        default: return nil
        }
    }

    /// How many argument registers a helper reads (its proto's arg1..arg5 types).
    static func argCount(_ id: Int32) -> Int {
        switch id {
        case 1, 3, 6, 23, 44, 54, 65: return 2
        case 12, 51: return 3
        case 2, 69, 177: return 4
        case 28: return 5
        default: return 0
        }
    }
}

extension String {
    init(format v: UInt8) { self = "0x" + String(v, radix: 16) }
}
