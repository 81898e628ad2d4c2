// kernel/bpf/core.c (___bpf_prog_run): the interpreter. Pointers are 64-bit values naming a region
// in their top 16 bits (1 ctx, 2 stack, 3 packet, 4+ the program's maps), a map value's slot in
// the next 24 and an offset in the low 24, so programs do arithmetic and comparisons on them as on
// addresses, while every load and store is checked against its region's (or value's) bounds: a
// program cannot crash or hang the simulator, nor reach past a map value into its neighbour.

/// Why a run ended early: the instruction and what it did, as the trace shows it.
public struct BPFFault: Error, Sendable, CustomStringConvertible {
    public var pc: Int
    public var message: String
    public var description: String { "insn \(pc): \(message)" }
}

/// A redirect a program asked for (`bpf_redirect`, `bpf_redirect_map`), resolved as the helper does.
public struct BPFRedirect: Sendable, Equatable {
    public var ifindex: Int
    public var flags: UInt64
    /// Through a map: its name, type and the key; nil for `bpf_redirect`.
    public var map: String?
    public var mapType: BPFMapType?
    public var key: UInt32?
}

/// One executed instruction, for the instruction trace: where, and the destination register after.
public struct BPFStep: Sendable {
    public var pc: Int
    public var value: UInt64
}

public final class BPFVM {
    static let ctxRegion: UInt64 = 1, stackRegion: UInt64 = 2, packetRegion: UInt64 = 3, firstMapRegion: UInt64 = 4
    static let mapHandleTag: UInt64 = 0x8000
    public static let stackPerFrame = 512, maxFrames = 8, maxTailCalls = 33
    /// Instructions one run may execute before it is stopped (the verifier's complexity limit).
    public var budget = 1_000_000
    /// `XDP_PACKET_HEADROOM`.
    public static let headroom = 256
    /// `sizeof(struct xdp_frame)`: headroom adjust_head and adjust_meta must leave.
    static let xdpFrameSize = 40

    var regs = [UInt64](repeating: 0, count: 11)
    let stack = UnsafeMutableRawPointer.allocate(byteCount: stackPerFrame * maxFrames, alignment: 8)
    var packet: UnsafeMutableRawPointer
    var packetCapacity: Int
    /// Packet bounds as offsets into the buffer.
    public internal(set) var dataMeta = 0, data = 0, dataEnd = 0
    /// `struct xdp_md` inputs.
    var ingressIfindex: UInt32 = 0, rxQueue: UInt32 = 0
    var program: BPFProgram!
    public internal(set) var redirect: BPFRedirect?
    public internal(set) var printk: [String] = []
    public var traceSteps = false
    public internal(set) var steps: [BPFStep] = []
    public internal(set) var executed = 0
    var tailCalls = 0
    weak var host: BPFHost?

    public init() {
        packetCapacity = 2048
        packet = .allocate(byteCount: packetCapacity, alignment: 8)
    }
    deinit { stack.deallocate(); packet.deallocate() }

    /// The frame as the program left it.
    public var frame: [UInt8] { Array(UnsafeRawBufferPointer(start: packet + data, count: dataEnd - data)) }

    /// Room a frame may grow into at its tail (`bpf_xdp_adjust_tail`): up to a 4 KiB page less
    /// `skb_shared_info`, as a driver's page-sized receive buffer allows.
    static func frameSize(_ len: Int) -> Int { max(4096 - 320, headroom + len) }

    /// Runs an XDP program over `frame`; the result is r0 or the fault that ended it.
    public func runXDP(_ p: BPFProgram, frame f: [UInt8], ifindex: Int, rxQueue q: Int, host h: BPFHost) -> Result<UInt64, BPFFault> {
        let need = Self.frameSize(f.count)
        if need > packetCapacity {
            packet.deallocate()
            packetCapacity = need
            packet = .allocate(byteCount: need, alignment: 8)
        }
        packet.initializeMemory(as: UInt8.self, repeating: 0, count: Self.headroom)
        f.withUnsafeBytes { (packet + Self.headroom).copyMemory(from: $0.baseAddress!, byteCount: f.count) }
        data = Self.headroom; dataMeta = data; dataEnd = data + f.count
        ingressIfindex = UInt32(ifindex); rxQueue = UInt32(q)
        host = h
        redirect = nil; printk.removeAll(keepingCapacity: true); steps.removeAll(keepingCapacity: true)
        executed = 0; tailCalls = 0
        // Stack bytes a program reads before writing (root may) read as zero: runs stay deterministic.
        stack.initializeMemory(as: UInt8.self, repeating: 0, count: Self.stackPerFrame)
        return run(p)
    }

    // MARK: memory

    @inline(__always) static func address(_ region: UInt64, _ offset: Int) -> UInt64 { region << 48 | UInt64(truncatingIfNeeded: offset) & 0xffff_ffff_ffff }
    /// A map value: its slot (over all CPUs' copies) and the offset inside it.
    @inline(__always) static func valueAddress(_ region: UInt64, slot: Int, _ offset: Int) -> UInt64 { region << 48 | UInt64(slot) << 24 | UInt64(offset) }

    /// The host address of `size` bytes at `addr`, or nil when outside the region's bounds.
    @inline(__always) func resolve(_ addr: UInt64, _ size: Int, write: Bool) -> UnsafeMutableRawPointer? {
        let r = addr >> 48, off = Int(addr & 0xffff_ffff_ffff)
        switch r {
        case Self.stackRegion:
            return off + size <= Self.stackPerFrame * Self.maxFrames ? stack + off : nil
        case Self.packetRegion:
            return off >= dataMeta && off + size <= dataEnd ? packet + off : nil
        case Self.ctxRegion:
            return nil
        default:
            guard r >= Self.firstMapRegion, r - Self.firstMapRegion < UInt64(program.maps.count) else { return nil }
            let m = program.maps[Int(r - Self.firstMapRegion)]
            let slot = off >> 24, inner = off & 0xff_ffff
            guard slot < m.slotsPerCPU * m.cpus, inner + size <= m.spec.valueSize, !write || m.spec.flags & 0x80 == 0 else { return nil }
            return m.storage + slot * m.stride + inner
        }
    }

    func describe(_ addr: UInt64) -> String {
        let r = addr >> 48, off = Int(addr & 0xffff_ffff_ffff)
        switch r {
        case 0: return addr == 0 ? "NULL" : "scalar \(addr)"
        case Self.ctxRegion: return "ctx+\(off)"
        case Self.stackRegion: return "fp\(off - Self.stackPerFrame >= 0 ? "+" : "")\(off - Self.stackPerFrame)"
        case Self.packetRegion: return "pkt+\(off - data) (data_end at +\(dataEnd - data))"
        default:
            if r >= Self.firstMapRegion, r - Self.firstMapRegion < UInt64(program.maps.count) { return "map \(program.maps[Int(r - Self.firstMapRegion)].name) value+\(off & 0xff_ffff)" }
            return "0x\(String(addr, radix: 16))"
        }
    }

    /// `struct xdp_md` reads: the verifier rewrites them into the xdp_buff's pointers.
    func loadCtx(_ off: Int, _ size: Int) -> UInt64? {
        guard size == 4 else { return nil }
        switch off {
        case 0: return Self.address(Self.packetRegion, data)
        case 4: return Self.address(Self.packetRegion, dataEnd)
        case 8: return Self.address(Self.packetRegion, dataMeta)
        case 12: return UInt64(ingressIfindex)
        case 16: return UInt64(rxQueue)
        case 20: return 0
        default: return nil
        }
    }

    @inline(__always) func load(_ addr: UInt64, _ size: Int) -> UInt64? {
        if addr >> 48 == Self.ctxRegion { return loadCtx(Int(addr & 0xffff_ffff_ffff), size) }
        guard let p = resolve(addr, size, write: false) else { return nil }
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
        case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
        default: return p.loadUnaligned(as: UInt64.self)
        }
    }

    @inline(__always) func store(_ addr: UInt64, _ size: Int, _ v: UInt64) -> Bool {
        guard let p = resolve(addr, size, write: true) else { return false }
        switch size {
        case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
        case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: v), as: UInt16.self)
        case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        default: p.storeBytes(of: v, as: UInt64.self)
        }
        return true
    }

    /// `size` bytes a helper reads from the program's memory.
    func bytes(_ addr: UInt64, _ size: Int) -> [UInt8]? {
        guard let p = resolve(addr, size, write: false) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: size))
    }

    // MARK: the interpreter

    func run(_ start: BPFProgram) -> Result<UInt64, BPFFault> {
        program = start
        var insns = start.insns
        var pc = 0
        regs = [UInt64](repeating: 0, count: 11)
        regs[1] = Self.address(Self.ctxRegion, 0)
        regs[10] = Self.address(Self.stackRegion, Self.stackPerFrame)
        var frames: [(ret: Int, saved: (UInt64, UInt64, UInt64, UInt64), fp: UInt64)] = []
        func fault(_ m: String) -> Result<UInt64, BPFFault> { .failure(BPFFault(pc: pc, message: m)) }

        while true {
            guard pc >= 0, pc < insns.count else { return fault("jump out of the program") }
            executed += 1
            guard executed <= budget else { return fault("instruction budget of \(budget) exhausted (a loop the verifier would not have bounded)") }
            let i = insns[pc]
            let d = Int(i.dst), s = Int(i.src)
            guard d <= 10, s <= 10 else { return fault("invalid register") }
            let code = i.code
            switch code & 0x07 {
            case BPF.ALU64, BPF.ALU:
                let is64 = code & 0x07 == BPF.ALU64
                let op = code & 0xf0
                var src: UInt64 = code & BPF.X != 0 ? regs[s] : UInt64(bitPattern: Int64(i.imm))
                var dst = regs[d]
                if !is64 { src &= 0xffff_ffff; dst &= 0xffff_ffff }
                guard d != 10 else { return fault("frame pointer is read only") }
                var r: UInt64
                switch op {
                case BPF.ADD: r = dst &+ src
                case BPF.SUB: r = dst &- src
                case BPF.MUL: r = dst &* src
                case BPF.DIV:
                    if i.off == 1 {   // SDIV (cpu v4)
                        if is64 { let a = Int64(bitPattern: dst), b = Int64(bitPattern: src); r = b == 0 ? 0 : UInt64(bitPattern: b == -1 ? 0 &- a : a / b) }
                        else { let a = Int32(truncatingIfNeeded: dst), b = Int32(truncatingIfNeeded: src); r = b == 0 ? 0 : UInt64(UInt32(bitPattern: b == -1 ? 0 &- a : a / b)) }
                    } else { r = src == 0 ? 0 : dst / src }
                case BPF.MOD:
                    if i.off == 1 {
                        if is64 { let a = Int64(bitPattern: dst), b = Int64(bitPattern: src); r = b == 0 ? dst : UInt64(bitPattern: b == -1 ? 0 : a % b) }
                        else { let a = Int32(truncatingIfNeeded: dst), b = Int32(truncatingIfNeeded: src); r = b == 0 ? dst : UInt64(UInt32(bitPattern: b == -1 ? 0 : a % b)) }
                    } else { r = src == 0 ? dst : dst % src }
                case BPF.OR: r = dst | src
                case BPF.AND: r = dst & src
                case BPF.XOR: r = dst ^ src
                case BPF.LSH: r = dst << (src & (is64 ? 63 : 31))
                case BPF.RSH: r = dst >> (src & (is64 ? 63 : 31))
                case BPF.ARSH:
                    r = is64 ? UInt64(bitPattern: Int64(bitPattern: dst) >> Int64(src & 63))
                             : UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: dst) >> Int32(src & 31)))
                case BPF.NEG: r = 0 &- dst
                case BPF.MOV:
                    switch i.off {   // MOVSX (cpu v4): sign-extend the source's low 8/16/32 bits
                    case 8: r = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: src)))
                    case 16: r = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: src)))
                    case 32: r = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: src)))
                    default: r = src
                    }
                case BPF.END:
                    let v = regs[d]
                    let swap = is64 || code & BPF.X != 0   // ALU64 END is an unconditional bswap; TO_BE on a little-endian CPU swaps
                    switch i.imm {
                    case 16: r = swap ? UInt64(UInt16(truncatingIfNeeded: v).byteSwapped) : v & 0xffff
                    case 32: r = swap ? UInt64(UInt32(truncatingIfNeeded: v).byteSwapped) : v & 0xffff_ffff
                    case 64: r = swap ? v.byteSwapped : v
                    default: return fault("invalid byte swap width \(i.imm)")
                    }
                    regs[d] = r
                    if traceSteps { steps.append(BPFStep(pc: pc, value: r)) }
                    pc += 1
                    continue
                default: return fault("invalid ALU opcode 0x\(String(code, radix: 16))")
                }
                regs[d] = is64 ? r : r & 0xffff_ffff
            case BPF.LDX:
                let size = BPF.size(code)
                let addr = regs[s] &+ UInt64(bitPattern: Int64(i.off))
                guard var v = load(addr, size) else { return fault("invalid read of \(size) bytes at \(describe(addr))") }
                if code & 0xe0 == BPF.MEMSX {
                    switch size { case 1: v = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v))); case 2: v = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: v))); default: v = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v))) }
                }
                guard d != 10 else { return fault("frame pointer is read only") }
                regs[d] = v
            case BPF.ST, BPF.STX:
                let size = BPF.size(code)
                let addr = regs[d] &+ UInt64(bitPattern: Int64(i.off))
                if code & 0xe0 == BPF.ATOMIC {
                    guard size == 4 || size == 8, let old = load(addr, size) else { return fault("invalid atomic access of \(size) bytes at \(describe(addr))") }
                    let mask: UInt64 = size == 8 ? ~0 : 0xffff_ffff
                    let v = regs[s] & mask
                    var new = old
                    switch i.imm {
                    case 0x00, 0x01: new = (old &+ v) & mask   // BPF_ADD, with BPF_FETCH
                    case 0x40, 0x41: new = old | v
                    case 0x50, 0x51: new = old & v
                    case 0xa0, 0xa1: new = old ^ v
                    case BPF.XCHG: new = v
                    case BPF.CMPXCHG:
                        if old == regs[0] & mask { new = v }
                        regs[0] = old
                    default: return fault("invalid atomic operation 0x\(String(i.imm, radix: 16))")
                    }
                    _ = store(addr, size, new)
                    if i.imm & BPF.FETCH != 0 && i.imm != BPF.CMPXCHG { regs[s] = old }
                } else {
                    let v = code & 0x07 == BPF.STX ? regs[s] : UInt64(bitPattern: Int64(i.imm))
                    guard store(addr, size, v) else { return fault("invalid write of \(size) bytes at \(describe(addr))") }
                }
            case BPF.LD:
                guard i.isLdImm64 else { return fault("legacy packet load (LD_ABS/LD_IND) not supported yet") }
                switch i.src {
                case 0: regs[d] = i.imm64
                case BPF.PSEUDO_MAP_FD: regs[d] = (Self.mapHandleTag | UInt64(i.imm)) << 48
                case BPF.PSEUDO_MAP_VALUE:
                    regs[d] = Self.valueAddress(Self.firstMapRegion + UInt64(i.imm), slot: 0, Int(i.imm64))
                default: return fault("LD_IMM64 source \(i.src) not supported yet")
                }
                if traceSteps { steps.append(BPFStep(pc: pc, value: regs[d])) }
                pc += 2
                continue
            default:   // JMP, JMP32
                let op = code & 0xf0
                let is32 = code & 0x07 == BPF.JMP32
                if op == BPF.CALL {
                    if i.src == BPF.PSEUDO_CALL {
                        guard frames.count + 1 < Self.maxFrames else { return fault("call stack deeper than \(Self.maxFrames) frames") }
                        frames.append((pc + 1, (regs[6], regs[7], regs[8], regs[9]), regs[10]))
                        regs[10] = Self.address(Self.stackRegion, Self.stackPerFrame * (frames.count + 1))
                        (stack + Self.stackPerFrame * frames.count).initializeMemory(as: UInt8.self, repeating: 0, count: Self.stackPerFrame)
                        if traceSteps { steps.append(BPFStep(pc: pc, value: 0)) }
                        pc = pc + 1 + Int(i.imm)
                        continue
                    }
                    if i.imm == 12 {   // bpf_tail_call: on success the callee replaces this program
                        if let next = tailCall() {
                            program = next; insns = next.insns; pc = 0
                            frames.removeAll()
                            regs[10] = Self.address(Self.stackRegion, Self.stackPerFrame)
                            continue
                        }
                        regs[0] = UInt64(bitPattern: -Int64(Errno.ENOENT))
                    } else {
                        switch helper(i.imm) {
                        case .success(let v): regs[0] = v
                        case .failure(let m): return fault(m.message)
                        }
                    }
                    // r1-r5 are clobbered by a call (the verifier marks them unreadable).
                    regs[1] = 0; regs[2] = 0; regs[3] = 0; regs[4] = 0; regs[5] = 0
                    if traceSteps { steps.append(BPFStep(pc: pc, value: regs[0])) }
                    pc += 1
                    continue
                }
                if op == BPF.EXIT {
                    if traceSteps { steps.append(BPFStep(pc: pc, value: regs[0])) }
                    guard let f = frames.popLast() else { return .success(regs[0]) }
                    (regs[6], regs[7], regs[8], regs[9]) = f.saved
                    regs[10] = f.fp
                    pc = f.ret
                    continue
                }
                if op == BPF.JA {
                    if traceSteps { steps.append(BPFStep(pc: pc, value: 0)) }
                    pc += 1 + (is32 ? Int(i.imm) : Int(i.off))
                    continue
                }
                var a = regs[d]
                var b: UInt64 = code & BPF.X != 0 ? regs[s] : UInt64(bitPattern: Int64(i.imm))
                var sa = Int64(bitPattern: a), sb = Int64(bitPattern: b)
                if is32 {
                    a &= 0xffff_ffff; b &= 0xffff_ffff
                    sa = Int64(Int32(truncatingIfNeeded: sa)); sb = Int64(Int32(truncatingIfNeeded: sb))
                }
                let taken: Bool
                switch op {
                case BPF.JEQ: taken = a == b
                case BPF.JNE: taken = a != b
                case BPF.JGT: taken = a > b
                case BPF.JGE: taken = a >= b
                case BPF.JLT: taken = a < b
                case BPF.JLE: taken = a <= b
                case BPF.JSET: taken = a & b != 0
                case BPF.JSGT: taken = sa > sb
                case BPF.JSGE: taken = sa >= sb
                case BPF.JSLT: taken = sa < sb
                case BPF.JSLE: taken = sa <= sb
                default: return fault("invalid jump opcode 0x\(String(code, radix: 16))")
                }
                if traceSteps { steps.append(BPFStep(pc: pc, value: taken ? 1 : 0)) }
                pc += taken ? 1 + Int(i.off) : 1
                continue
            }
            if traceSteps { steps.append(BPFStep(pc: pc, value: d <= 10 ? regs[d] : 0)) }
            pc += 1
        }
    }

    /// `bpf_tail_call(ctx, prog_array, index)`: the program in the slot, within the tail call limit.
    func tailCall() -> BPFProgram? {
        guard let m = mapArgument(regs[2]), m.type == .progArray, regs[3] < UInt64(m.spec.maxEntries),
              tailCalls < Self.maxTailCalls, let next = m.programs[Int(regs[3])] else { return nil }
        tailCalls += 1
        return next
    }

    func mapArgument(_ v: UInt64) -> BPFMap? {
        let tag = v >> 48
        guard tag & Self.mapHandleTag != 0 else { return nil }
        let i = Int(tag & ~Self.mapHandleTag)
        return i < program.maps.count ? program.maps[i] : nil
    }
}
