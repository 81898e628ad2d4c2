// include/uapi/linux/bpf.h and bpf_common.h: the eBPF instruction set as the kernel defines it.

/// One 8-byte eBPF instruction: opcode, destination and source registers, offset, immediate.
/// `LD_IMM64` spans two slots; the loader folds the second slot's immediate into `imm64`.
public struct Insn: Sendable, Equatable {
    public var code: UInt8
    public var dst: UInt8
    public var src: UInt8
    public var off: Int16
    public var imm: Int32
    /// The 64-bit immediate of `LD_IMM64` (both halves); the map or data address once relocated.
    public var imm64: UInt64 = 0

    public init(code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) {
        self.code = code; self.dst = dst; self.src = src; self.off = off; self.imm = imm
    }

    /// Little-endian instructions as clang `-target bpf` writes them.
    public static func decode(_ b: [UInt8]) -> [Insn] {
        stride(from: 0, to: b.count - b.count % 8, by: 8).map { o in
            let off = UInt16(b[o + 2]) | UInt16(b[o + 3]) << 8
            let lo = UInt32(b[o + 4]) | UInt32(b[o + 5]) << 8
            let hi = UInt32(b[o + 6]) << 16 | UInt32(b[o + 7]) << 24
            return Insn(code: b[o], dst: b[o + 1] & 0x0f, src: b[o + 1] >> 4, off: Int16(bitPattern: off), imm: Int32(bitPattern: lo | hi))
        }
    }

    public var cls: UInt8 { code & 0x07 }
    public var isLdImm64: Bool { code == BPF.LD | BPF.DW | BPF.IMM }
}

/// Opcode fields (`BPF_CLASS`, `BPF_OP`, `BPF_SRC`, `BPF_SIZE`, `BPF_MODE`) and the pseudo sources.
public enum BPF {
    // Classes.
    public static let LD: UInt8 = 0x00, LDX: UInt8 = 0x01, ST: UInt8 = 0x02, STX: UInt8 = 0x03
    public static let ALU: UInt8 = 0x04, JMP: UInt8 = 0x05, JMP32: UInt8 = 0x06, ALU64: UInt8 = 0x07
    // Sizes and modes.
    public static let W: UInt8 = 0x00, H: UInt8 = 0x08, B: UInt8 = 0x10, DW: UInt8 = 0x18
    public static let IMM: UInt8 = 0x00, ABS: UInt8 = 0x20, IND: UInt8 = 0x40, MEM: UInt8 = 0x60, MEMSX: UInt8 = 0x80, ATOMIC: UInt8 = 0xc0
    // Source.
    public static let K: UInt8 = 0x00, X: UInt8 = 0x08
    // ALU operations.
    public static let ADD: UInt8 = 0x00, SUB: UInt8 = 0x10, MUL: UInt8 = 0x20, DIV: UInt8 = 0x30, OR: UInt8 = 0x40, AND: UInt8 = 0x50
    public static let LSH: UInt8 = 0x60, RSH: UInt8 = 0x70, NEG: UInt8 = 0x80, MOD: UInt8 = 0x90, XOR: UInt8 = 0xa0, MOV: UInt8 = 0xb0
    public static let ARSH: UInt8 = 0xc0, END: UInt8 = 0xd0
    // Jumps.
    public static let JA: UInt8 = 0x00, JEQ: UInt8 = 0x10, JGT: UInt8 = 0x20, JGE: UInt8 = 0x30, JSET: UInt8 = 0x40, JNE: UInt8 = 0x50
    public static let JSGT: UInt8 = 0x60, JSGE: UInt8 = 0x70, CALL: UInt8 = 0x80, EXIT: UInt8 = 0x90, JLT: UInt8 = 0xa0, JLE: UInt8 = 0xb0
    public static let JSLT: UInt8 = 0xc0, JSLE: UInt8 = 0xd0
    // Atomic operations (in imm).
    public static let FETCH: Int32 = 0x01, XCHG: Int32 = 0xe1, CMPXCHG: Int32 = 0xf1
    // Pseudo sources of LD_IMM64 and CALL.
    public static let PSEUDO_MAP_FD: UInt8 = 1, PSEUDO_MAP_VALUE: UInt8 = 2, PSEUDO_CALL: UInt8 = 1, PSEUDO_KFUNC_CALL: UInt8 = 2

    /// Bytes moved by a load or store of this opcode.
    @inline(__always) public static func size(_ code: UInt8) -> Int {
        switch code & 0x18 { case W: 4; case H: 2; case B: 1; default: 8 }
    }
}

/// The return codes of an XDP program (`enum xdp_action`).
public enum XDPAction: UInt32, Sendable, CaseIterable {
    case aborted = 0, drop = 1, pass = 2, tx = 3, redirect = 4

    public var name: String {
        switch self {
        case .aborted: "XDP_ABORTED"
        case .drop: "XDP_DROP"
        case .pass: "XDP_PASS"
        case .tx: "XDP_TX"
        case .redirect: "XDP_REDIRECT"
        }
    }
}
