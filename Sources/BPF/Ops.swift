// The interpreter's own form of a program's instructions, made once at load (as the kernel's
// interpreter gets a program fixed up by the verifier): 16 bytes an instruction, immediates
// sign-extended, LD_IMM64's map references resolved to the values the registers take, jump
// targets absolute. What the fast loop does not handle keeps `general` and runs from `Insn`.

/// One pre-decoded instruction.
struct Op {
    /// The opcode, or `general` for the general path (out-of-range jumps, MOVSX, calls...).
    var code: UInt8
    var dst: UInt8
    var src: UInt8
    /// A jump's absolute target, or a load's or store's offset.
    var off: Int32
    /// The immediate sign-extended to 64 bits; LD_IMM64's whole value (the general path reads it too).
    var imm: UInt64

    /// Where in their page the ops start: clear of the registers' place (BPFVM.regsPageOffset)
    /// for programs of up to 160 instructions, and of the packet's first bytes.
    static let pageOffset = 1024

    /// Not a valid opcode (ALU64 with op 0xf0): sends the instruction to the general path.
    static let general: UInt8 = 0xff

    /// `insns` as ops, and two trailing `general` slots where a run falling off the end (or past
    /// an LD_IMM64 in the last slot) lands, so the fast loop never checks the program counter.
    static func decode(_ insns: [Insn]) -> [Op] {
        var ops: [Op] = []
        ops.reserveCapacity(insns.count + 2)
        for (k, i) in insns.enumerated() {
            var o = Op(code: i.code, dst: i.dst, src: i.src, off: Int32(i.off), imm: UInt64(bitPattern: Int64(i.imm)))
            let cls = i.cls, op = i.code & 0xf0
            if i.dst > 10 || i.src > 10 { o.code = general }
            switch cls {
            case BPF.JMP, BPF.JMP32:
                if op == BPF.CALL || op == BPF.EXIT { break }
                let target = k + 1 + (cls == BPF.JMP32 && op == BPF.JA ? Int(i.imm) : Int(i.off))
                if target < 0 || target >= insns.count { o.code = general } else { o.off = Int32(target) }
            case BPF.ALU, BPF.ALU64:
                if op == BPF.MOV && i.off != 0 { o.code = general }   // MOVSX
                if i.dst == 10 { o.code = general }                   // the frame pointer is read only
            case BPF.LDX:
                if i.dst == 10 { o.code = general }
            case BPF.LD where i.isLdImm64:
                switch i.src {
                case 0: o.imm = i.imm64
                case BPF.PSEUDO_MAP_FD: o.imm = (BPFVM.mapHandleTag | UInt64(UInt32(bitPattern: i.imm))) << 48
                case BPF.PSEUDO_MAP_VALUE: o.imm = BPFVM.valueAddress(BPFVM.firstMapRegion + UInt64(UInt32(bitPattern: i.imm)), slot: 0, Int(i.imm64))
                default: o.code = general
                }
                o.src = 0
                if i.dst == 10 { o.code = general }
            default: break
            }
            ops.append(o)
        }
        ops.append(Op(code: general, dst: 0, src: 0, off: 0, imm: 0))
        ops.append(Op(code: general, dst: 0, src: 0, off: 0, imm: 0))
        return ops
    }
}
