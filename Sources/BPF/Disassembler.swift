// Instructions as llvm-objdump prints them for -target bpf (a test compares the two over every
// corpus program), for traces and verifier messages; a relocated map reference shows the map.

public enum Disassembler {
    public static func text(_ insns: [Insn], at pc: Int) -> String {
        guard pc >= 0, pc < insns.count else { return "?" }
        let i = insns[pc]
        let d = "r\(i.dst)", s = "r\(i.src)"
        let cls = i.cls, code = i.code
        func sized(_ c: UInt8) -> String { ["u32", "u16", "u8", "u64"][Int((c & 0x18) >> 3)] }
        func off(_ o: Int16) -> String { o < 0 ? " - \(-Int(o))" : " + \(o)" }
        switch cls {
        case BPF.ALU, BPF.ALU64:
            let w = cls == BPF.ALU64 ? "r" : "w"
            let dst = "\(w)\(i.dst)", src = code & BPF.X != 0 ? "\(w)\(i.src)" : String(i.imm)
            switch code & 0xf0 {
            case BPF.NEG: return "\(dst) = -\(dst)"
            case BPF.END: return cls == BPF.ALU64 || code & BPF.X != 0 ? "\(d) = be\(i.imm) \(d)" : "\(d) = le\(i.imm) \(d)"
            case BPF.MOV: return "\(dst) = \(src)"
            default:
                let ops: [UInt8: String] = [BPF.ADD: "+=", BPF.SUB: "-=", BPF.MUL: "*=", BPF.DIV: "/=", BPF.OR: "|=", BPF.AND: "&=",
                                            BPF.LSH: "<<=", BPF.RSH: ">>=", BPF.MOD: "%=", BPF.XOR: "^=", BPF.ARSH: "s>>="]
                return "\(dst) \(ops[code & 0xf0] ?? "?=") \(src)"
            }
        case BPF.LDX: return "\(d) = *(\(sized(code)) *)(\(s)\(off(i.off)))"
        case BPF.ST: return "*(\(sized(code)) *)(\(d)\(off(i.off))) = \(i.imm)"
        case BPF.STX:
            if code & 0xe0 == BPF.ATOMIC {
                let mem = "*(\(sized(code)) *)(\(d)\(off(i.off)))", w = code & 0x18 == BPF.DW ? "64" : "32"
                let ops: [Int32: String] = [0x00: "+=", 0x40: "|=", 0x50: "&=", 0xa0: "^="]
                let fetches: [Int32: String] = [0x01: "add", 0x41: "or", 0x51: "and", 0xa1: "xor"]
                if let o = ops[i.imm] { return "lock \(mem) \(o) \(s)" }
                if let f = fetches[i.imm] { return "\(s) = atomic_fetch_\(f)((\(sized(code)) *)(\(d)\(off(i.off))), \(s))" }
                if i.imm == BPF.XCHG { return "\(s) = xchg_\(w)(\(d)\(off(i.off)), \(s))" }
                if i.imm == BPF.CMPXCHG { return "r0 = cmpxchg_\(w)(\(d)\(off(i.off)), r0, \(s))" }
                return "atomic 0x\(String(i.imm, radix: 16))"
            }
            return "*(\(sized(code)) *)(\(d)\(off(i.off))) = \(s)"
        case BPF.LD where !i.isLdImm64:
            // llvm-objdump: r0 = *(u8 *)skb[14], r0 = *(u16 *)skb[r7]
            return "r0 = *(\(sized(code)) *)skb[\(code & 0xe0 == BPF.IND ? (i.imm == 0 ? s : "\(s) + \(i.imm)") : String(i.imm))]"
        case BPF.LD:
            switch i.src {
            case BPF.PSEUDO_MAP_FD: return "\(d) = map[\(i.imm)] ll"
            case BPF.PSEUDO_MAP_VALUE: return "\(d) = map[\(i.imm)][\(i.imm64)] ll"
            default: return "\(d) = \(i.imm64) ll"
            }
        default:
            let op = code & 0xf0
            if op == BPF.EXIT { return "exit" }
            if op == BPF.CALL { return "call \(i.imm)" }
            func rel(_ o: Int) -> String { o < 0 ? "\(o)" : "+\(o)" }
            if op == BPF.JA { return "goto \(rel(cls == BPF.JMP32 ? Int(i.imm) : Int(i.off)))" }
            let ops: [UInt8: String] = [BPF.JEQ: "==", BPF.JNE: "!=", BPF.JGT: ">", BPF.JGE: ">=", BPF.JLT: "<", BPF.JLE: "<=", BPF.JSET: "&",
                                        BPF.JSGT: "s>", BPF.JSGE: "s>=", BPF.JSLT: "s<", BPF.JSLE: "s<="]
            let w = cls == BPF.JMP32 ? "w" : "r"
            let src = code & BPF.X != 0 ? "\(w)\(i.src)" : String(i.imm)
            return "if \(w)\(i.dst) \(ops[op] ?? "?") \(src) goto \(rel(Int(i.off)))"
        }
    }
}
