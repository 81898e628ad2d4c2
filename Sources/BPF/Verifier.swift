// kernel/bpf/verifier.c, the checks made before any path is explored: the control flow graph
// (check_cfg), opcodes and reserved fields, helpers the program type may call, map references.
// Then every path is walked with abstract register and stack state (VerifierPaths.swift). The
// messages are the kernel verifier's.

public struct BPFVerifierError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

struct Verifier {
    let p: BPFProgram
    let complexityLimit: Int
    init(_ p: BPFProgram, complexityLimit: Int = PathChecker.complexityLimit) { self.p = p; self.complexityLimit = complexityLimit }

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
        // Reachability: every edge lands on an instruction start inside the program.
        var reached = [Bool](repeating: false, count: insns.count)
        var work = [0]
        reached[0] = true
        while let k = work.popLast() {
            for (n, t) in try successors(k).enumerated() {
                guard t >= 0, t < insns.count else {
                    throw BPFVerifierError(t == insns.count && n == 0 ? "last insn is not an exit or jmp" : "jump out of range from insn \(k) to \(t)")
                }
                guard !second[t] else { throw BPFVerifierError("jump into the middle of ldimm64 insn \(t - 1)") }
                if !reached[t] { reached[t] = true; work.append(t) }
            }
        }
        for k in insns.indices where !reached[k] && !second[k] && !unreachableAllowed(k) {
            throw BPFVerifierError("unreachable insn \(k)")
        }
        p.stackDepth = 0   // the paths below record the deepest byte they reach
        try PathChecker(p, complexityLimit: complexityLimit).run()
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
            guard op <= BPF.END else { throw BPFVerifierError("\(k): invalid BPF_ALU opcode \(opcodeText(op))") }
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
                    throw BPFVerifierError("\(k): BPF_ATOMIC uses invalid atomic opcode \(opcodeText(UInt8(truncatingIfNeeded: insn.imm)))")
                }
            } else {
                guard mode == BPF.MEM else { throw BPFVerifierError("\(k): BPF_\(cls == BPF.ST ? "ST" : "STX") uses reserved fields") }
            }
        case BPF.LD:
            if !insn.isLdImm64 {
                // check_ld_abs: the legacy packet loads, for skb programs only.
                let mode = code & 0xe0
                guard p.type == .schedCls, mode == BPF.ABS || mode == BPF.IND else { throw BPFVerifierError("\(k): BPF_LD_[ABS|IND] instructions not allowed for this program type") }
                guard insn.dst == 0, insn.off == 0, code & 0x18 != BPF.DW, mode == BPF.IND || insn.src == 0 else { throw BPFVerifierError("\(k): BPF_LD_[ABS|IND] uses reserved fields") }
                return
            }
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
                guard insn.imm >= 0 && Int(insn.imm) < HelperNames.all.count else { throw BPFVerifierError("\(k): invalid func unknown#\(insn.imm)") }
                guard p.type.allowedHelpers.contains(insn.imm) else {
                    throw BPFVerifierError("\(k): program of this type cannot use helper \(HelperNames.name(insn.imm))#\(insn.imm)")
                }
                guard p.type.implementedHelpers.contains(insn.imm) else {
                    throw BPFVerifierError("\(k): helper \(HelperNames.name(insn.imm))#\(insn.imm) not supported yet")
                }
                if BPFVM.gplOnly.contains(insn.imm) && !p.gplCompatible { throw BPFVerifierError("\(k): cannot call GPL-restricted function from non-GPL compatible program") }
            } else if op == BPF.EXIT {
                guard cls == BPF.JMP, insn.src == 0, insn.dst == 0, insn.imm == 0, insn.off == 0 else { throw BPFVerifierError("\(k): BPF_EXIT uses reserved fields") }
            } else if op > BPF.JSLE {
                throw BPFVerifierError("\(k): unknown opcode \(opcodeText(code))")
            }
        }
    }

}

/// An opcode as the verifier log prints it.
func opcodeText(_ v: UInt8) -> String { "0x" + String(v, radix: 16) }
